// Command nethttp is the net/http peer: any request gets 200 "Hello, World!"
// as text/plain (net/http adds Date and Content-Length).
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	body := []byte("Hello, World!")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
