// Command fasthttp is the fasthttp peer: any request gets 200 "Hello, World!"
// as text/plain (fasthttp adds Date and Content-Length).
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	body := []byte("Hello, World!")
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/plain")
			ctx.SetBody(body)
		},
		NoDefaultServerHeader: true,
	}
	log.Fatal(s.ListenAndServe(*addr))
}
