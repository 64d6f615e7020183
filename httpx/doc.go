// Package httpx is ringo's HTTP/1.1 server.
package httpx
