// Command nethttp is the net/http peer: hello.Handler on http.ListenAndServe
// (net/http adds Date and Content-Length).
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/ringo-io/ringo/bench/hello"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, hello.Handler))
}
