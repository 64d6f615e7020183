package load

import (
	"testing"
	"time"
)

// startRaw starts a testServer that answers the i-th request of each connection with
// respond(i), closing the connection after it if asked.
func startRaw(t *testing.T, respond func(i int) (resp string, closeAfter bool)) *testServer {
	return startServer(t, false, func(s *testServer) { s.respond = respond })
}

const goodResp = "HTTP/1.1 200 OK\r\n" + helloResponse

// A server that answers its first request correctly and every later one with
// an empty (or wrong) 200 body does less work than the others, yet the
// generator counts every such response as a completed request.
func TestWrongBodyIsAnError(t *testing.T) {
	for _, bad := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nGoodbye,World",
	} {
		s := startRaw(t, func(i int) (string, bool) {
			if i == 0 {
				return goodResp, false
			}
			return bad, false
		})
		res, err := Run(Config{Addr: s.ln.Addr().String(), Conns: 1, Requests: 100, Body: []byte("Hello, World!")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors != 99 || res.Requests != 1 {
			t.Errorf("server answering %q: requests %d errors %d, want 1 request and 99 errors", bad, res.Requests, res.Errors)
		}
	}
}

// Hold must count only connections that are still open: a server that
// answers and then closes every connection holds nothing, and its RSS per
// "held" connection would be near zero.
func TestHoldRecountsClosedConnections(t *testing.T) {
	s := startRaw(t, func(int) (string, bool) { return goodResp, true })
	h, res, err := Hold(Config{Addr: s.ln.Addr().String(), Conns: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The server closes each connection after its response: wait until the
	// client side sees every close, then recount.
	deadline := time.Now().Add(10 * time.Second)
	for open := 20; open > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 connections still open after 10s", open)
		}
		time.Sleep(10 * time.Millisecond)
		open = 0
		for _, c := range h.conns {
			if idle(c) == nil {
				open++
			}
		}
	}
	h.Recount(&res)
	if res.Requests != 0 || res.Errors != 20 {
		t.Errorf("Hold reported %d held, %d errors, want 0 and 20: the server closed every connection", res.Requests, res.Errors)
	}
}

// Open loop: every request intended in the window is either answered or
// counted as failed. A server that closes each connection after its first
// response is charged only for the few requests in flight at that moment;
// the rest of the intended load silently disappears.
func TestOpenLoopChargesDroppedConnections(t *testing.T) {
	s := startRaw(t, func(int) (string, bool) { return goodResp, true })
	const rate, conns = 2000.0, 4
	dur := 300 * time.Millisecond
	res, err := Run(Config{Addr: s.ln.Addr().String(), Conns: conns, Rate: rate, Duration: dur, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	intended := int64(rate * dur.Seconds())
	if got := res.Requests + res.Errors; got < intended*9/10 || got > intended*11/10 {
		t.Errorf("intended %d requests in the window; answered %d + failed %d = %d", intended, res.Requests, res.Errors, got)
	}
}

// A server that answers every request twice: the generator takes the
// surplus response as the answer to the next request (latency ~0, the
// server not even having read it) and reports no error.
func TestSurplusResponseIsAnError(t *testing.T) {
	s := startRaw(t, func(int) (string, bool) { return goodResp + goodResp, false })
	res, err := Run(Config{Addr: s.ln.Addr().String(), Conns: 1, Requests: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests %d errors %d latency min %v p50 %v", res.Requests, res.Errors, res.Latency.Min, res.Latency.P50)
	if res.Errors == 0 {
		t.Errorf("server sent 2 responses per request; generator counted %d requests, 0 errors", res.Requests)
	}
}
