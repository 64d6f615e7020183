// Package hello is the net/http handler of the handler-path scenario. The
// net/http peer and ringo's FromHTTP server both serve this one value, so the
// scenario compares the servers, not two handlers.
package hello

import "net/http"

var body = []byte("Hello, World!")

// Handler answers every request with 200, Content-Type text/plain and
// "Hello, World!".
var Handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = []string{"text/plain"}
	w.Write(body)
})
