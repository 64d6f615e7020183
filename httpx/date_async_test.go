package httpx

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// An error response the loop sends after a FromHTTP handler's response (the next pipelined
// request is malformed) carries the Date of when it is sent, not of the last input the loop
// read: the loop's cached Date is renewed by input, and none came while the handler ran.
func TestAdapterErrorAfterHandlerHasFreshDate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2100 * time.Millisecond)
			io.WriteString(w, "ok")
		}))
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
		br := bufio.NewReader(c)
		for i, want := range []int{200, 400} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
			d, err := http.ParseTime(resp.Header.Get("Date"))
			if resp.StatusCode != want || err != nil {
				t.Fatalf("response %d: status %d, Date %q (%v)", i, resp.StatusCode, resp.Header.Get("Date"), err)
			}
			if age := time.Since(d); age > 1500*time.Millisecond {
				t.Errorf("response %d (%d): Date %v is %v old", i, want, d, age.Round(time.Millisecond))
			}
		}
	})
}

// The same for the 400 the loop sends in place of a handler's response when the request's body
// turned out malformed while the handler ran.
func TestAdapterBodyErrorAfterHandlerHasFreshDate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2100 * time.Millisecond)
			io.WriteString(w, "ok")
		}))
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		d, err := http.ParseTime(resp.Header.Get("Date"))
		if resp.StatusCode != 400 || err != nil {
			t.Fatalf("status %d, Date %q (%v)", resp.StatusCode, resp.Header.Get("Date"), err)
		}
		if age := time.Since(d); age > 1500*time.Millisecond {
			t.Errorf("400: Date %v is %v old", d, age.Round(time.Millisecond))
		}
	})
}
