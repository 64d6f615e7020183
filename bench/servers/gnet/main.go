// Command gnet is the gnet peer's HTTP responder: the minimal server gnet's
// own benchmarks run. It counts requests by their CRLFCRLF terminator (bodies
// are not supported, nor needed: the bench sends GETs) and answers each with
// 200 "Hello, World!", all responses to one read leaving in one write.
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// server answers on gnet's event loops. resp is swapped once a second by a
// ticker goroutine with a new Date; loops only load it.
type server struct {
	gnet.BuiltinEventEngine
	resp atomic.Pointer[[]byte]
}

var crlf2 = []byte("\r\n\r\n")

func (s *server) setDate(now time.Time) {
	b := []byte("HTTP/1.1 200 OK\r\nDate: " + now.UTC().Format(http.TimeFormat) +
		"\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")
	s.resp.Store(&b)
}

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	n, used := 0, 0
	for {
		i := bytes.Index(buf[used:], crlf2)
		if i < 0 {
			break
		}
		used += i + 4
		n++
	}
	if n == 0 {
		if len(buf) > 64<<10 {
			return gnet.Close // header too large
		}
		return gnet.None
	}
	c.Discard(used)
	resp := *s.resp.Load()
	if n == 1 {
		c.Write(resp)
		return gnet.None
	}
	out := make([]byte, 0, n*len(resp))
	for i := 0; i < n; i++ {
		out = append(out, resp...)
	}
	c.Write(out)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	s := &server{}
	s.setDate(time.Now())
	go func() {
		for now := range time.Tick(time.Second) {
			s.setDate(now)
		}
	}()
	log.Fatal(gnet.Run(s, "tcp://"+*addr, gnet.WithMulticore(true), gnet.WithReusePort(true)))
}
