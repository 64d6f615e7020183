// Command gnetecho is the gnet peer's TCP echo server.
package main

import (
	"flag"
	"log"

	"github.com/panjf2000/gnet/v2"
)

type echo struct{ gnet.BuiltinEventEngine }

func (*echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	log.Fatal(gnet.Run(&echo{}, "tcp://"+*addr, gnet.WithMulticore(true), gnet.WithReusePort(true)))
}
