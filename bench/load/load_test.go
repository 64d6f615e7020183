package load

import (
	"strings"
	"testing"
	"time"
)

func TestClosedLoopExactCount(t *testing.T) {
	for _, tc := range []struct {
		name         string
		conns, depth int
		requests     int64
	}{
		{"single", 1, 1, 500},
		{"conns8", 8, 1, 1001},
		{"pipelined16", 4, 16, 1000}, // 1000 is not a multiple of 16: the last batch is short
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, false)
			var starts, ends int
			res, err := Run(Config{
				Addr: s.addr(), Conns: tc.conns, Depth: tc.depth, Requests: tc.requests,
				OnMeasureStart: func() { starts++ }, OnMeasureEnd: func() { ends++ },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 {
				t.Fatalf("errors: %d %v", res.Errors, res.Errs)
			}
			if res.Requests != tc.requests || res.Total != tc.requests {
				t.Fatalf("generator counted %d/%d, want %d", res.Requests, res.Total, tc.requests)
			}
			if got := s.requests.Load(); got != tc.requests {
				t.Fatalf("server answered %d, want %d", got, tc.requests)
			}
			if res.Latency.Count != uint64(tc.requests) || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
				t.Fatalf("latency not recorded: %+v", res.Latency)
			}
			if starts != 1 || ends != 1 || res.Rate <= 0 {
				t.Fatalf("callbacks %d %d rate %v", starts, ends, res.Rate)
			}
		})
	}
}

func TestClosedLoopDurationCountsMatchServer(t *testing.T) {
	s := startServer(t, false)
	res, err := Run(Config{Addr: s.addr(), Conns: 4, Depth: 8, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Requests == 0 || res.Requests > res.Total {
		t.Fatalf("errors %d measured %d total %d", res.Errors, res.Requests, res.Total)
	}
	if got := s.requests.Load(); got != res.Total {
		t.Fatalf("server answered %d, generator completed %d", got, res.Total)
	}
	if res.Total%8 != 0 {
		t.Fatalf("total %d is not whole batches of 8", res.Total)
	}
	if res.Latency.Count != uint64(res.Requests) {
		t.Fatalf("latency count %d != requests %d", res.Latency.Count, res.Requests)
	}
}

func TestBadStatusCounted(t *testing.T) {
	s := startServer(t, false, func(s *testServer) { s.status = "503 Service Unavailable" })
	res, err := Run(Config{Addr: s.addr(), Conns: 2, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.Requests != 0 || len(res.Errs) == 0 || !strings.Contains(res.Errs[0], "503") {
		t.Fatalf("errors %d requests %d errs %v", res.Errors, res.Requests, res.Errs)
	}
}

func TestEchoChecksum(t *testing.T) {
	for _, size := range []int{1, 64, 1024, 16 << 10, 64 << 10} {
		s := startServer(t, true)
		res, err := Run(Config{Addr: s.addr(), Mode: Echo, Conns: 3, Payload: size, Requests: 30})
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors != 0 || res.Requests != 30 || res.Bytes != int64(30*size) {
			t.Fatalf("size %d: errors %d %v requests %d bytes %d", size, res.Errors, res.Errs, res.Requests, res.Bytes)
		}
	}
	s := startServer(t, true, func(s *testServer) { s.corrupt = true })
	res, err := Run(Config{Addr: s.addr(), Mode: Echo, Conns: 1, Payload: 100, Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 5 || res.Requests != 0 || !strings.Contains(res.Errs[0], "checksum") {
		t.Fatalf("corrupting server: errors %d requests %d %v", res.Errors, res.Requests, res.Errs)
	}
}

func TestOpenLoopRateHonoured(t *testing.T) {
	s := startServer(t, false)
	const rate, dur = 2000.0, 500 * time.Millisecond
	res, err := Run(Config{Addr: s.addr(), Conns: 8, Rate: rate, Warmup: 100 * time.Millisecond, Duration: dur})
	if err != nil {
		t.Fatal(err)
	}
	want := rate * dur.Seconds()
	if res.Errors != 0 || float64(res.Requests) < 0.95*want || float64(res.Requests) > 1.05*want {
		t.Fatalf("open loop sent %d in the window, want about %.0f (errors %d %v)", res.Requests, want, res.Errors, res.Errs)
	}
	if got := s.requests.Load(); got != res.Total {
		t.Fatalf("server answered %d, generator completed %d", got, res.Total)
	}
	// Answered within the window: at most what was intended (how much less
	// depends on the machine's speed, which a test must not assert).
	if res.Rate <= 0 || res.Rate > 1.05*rate {
		t.Fatalf("achieved rate %.0f for %.0f intended", res.Rate, rate)
	}
	if res.Latency.Count != uint64(res.Requests) || res.SendLag == nil || res.SendLag.Count != uint64(res.Requests) {
		t.Fatalf("latency %+v lag %+v", res.Latency, res.SendLag)
	}
}

// TestOpenLoopChargesStalls stalls the whole server for 400ms over the end of
// the window. Measured from intended send times, every request due during the
// stall waits for its end, so well over 10% of requests see >= 100ms; a
// generator that waited for each response before sending the next would have
// recorded only one slow request per connection (1% here). And what was
// answered within the window falls short of the intended rate.
func TestOpenLoopChargesStalls(t *testing.T) {
	s := startServer(t, false)
	go func() {
		time.Sleep(700 * time.Millisecond)
		s.gate.Lock()
		time.Sleep(400 * time.Millisecond)
		s.gate.Unlock()
	}()
	res, err := Run(Config{Addr: s.addr(), Conns: 8, Rate: 1000, Warmup: 100 * time.Millisecond, Duration: 900 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Fatalf("errors %d %v", res.Errors, res.Errs)
	}
	if res.Latency.P90 < 100*time.Millisecond || res.Latency.Max < 250*time.Millisecond {
		t.Fatalf("stall not charged: %+v", res.Latency)
	}
	// Nothing was answered in the last third of the window.
	if res.Rate > 0.9*1000 {
		t.Fatalf("achieved rate %.0f despite the stall", res.Rate)
	}
}

func TestHold(t *testing.T) {
	s := startServer(t, false)
	h, res, err := Hold(Config{Addr: s.addr(), Conns: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Len() != 200 || res.Errors != 0 || s.requests.Load() != 200 {
		t.Fatalf("held %d errors %d server %d", h.Len(), res.Errors, s.requests.Load())
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	if n != 200 {
		t.Fatalf("server sees %d connections", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Addr: "127.0.0.1:1", Mode: "smtp"},
		{Addr: "127.0.0.1:1", Mode: Echo, Depth: 2},
		{Addr: "127.0.0.1:1", Mode: Echo, Rate: 10},
		{Addr: "127.0.0.1:1", Rate: -1},
	} {
		if _, err := Run(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	// Nothing listens on a port we just closed: dial fails, Run reports it.
	ln := startServer(t, false)
	addr := ln.addr()
	ln.close()
	if _, err := Run(Config{Addr: addr, Requests: 1}); err == nil {
		t.Error("dial to a closed port: no error")
	}
}

func TestParseHead(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 13\r\n\r\n"
	if st, n, err := parseHead([]byte(ok)); err != nil || st != 200 || n != 13 {
		t.Fatalf("%d %d %v", st, n, err)
	}
	for _, bad := range []string{
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/2 200 OK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		if _, _, err := parseHead([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
