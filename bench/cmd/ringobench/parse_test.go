package main

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/bench/report"
)

const wrkOut = `Running 1s test @ http://127.0.0.1:18082/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   749.14us    1.28ms  14.84ms   92.31%
    Req/Sec    89.05k    21.60k  118.46k    63.64%
  Latency Distribution
     50%  368.00us
     75%  546.00us
     90%    1.37ms
     99%    7.00ms
  97322 requests in 1.10s, 10.67MB read
  Socket errors: connect 0, read 2, write 1, timeout 0
  Non-2xx or 3xx responses: 4
Requests/sec:  88363.69
Transfer/sec:      9.69MB
`

func TestParseWrk(t *testing.T) {
	w, err := parseWrk(wrkOut)
	if err != nil {
		t.Fatal(err)
	}
	if w.requests != 97322 || w.elapsed != 1100*time.Millisecond || w.rps != 88363.69 || w.errors != 7 {
		t.Fatalf("%+v", w)
	}
	if w.p50 != 368*time.Microsecond || w.p90 != 1370*time.Microsecond || w.p99 != 7*time.Millisecond {
		t.Fatalf("%+v", w)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("no totals: no error")
	}
	if _, err := parseWrk(strings.Replace(wrkOut, "1.10s", "1.10parsecs", 1)); err == nil {
		t.Fatal("bad duration: no error")
	}
	for s, want := range map[string]time.Duration{"1.5us": 1500, "2.00m": 2 * time.Minute, "3s": 3 * time.Second} {
		if d, err := parseWrkDuration(s); err != nil || d != want {
			t.Errorf("%s: %v %v", s, d, err)
		}
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/ringo-io/ringo/bench/ringbench
BenchmarkNop/ringo/batch=1-2         	 5000000	       225.3 ns/op	       0 B/op	       0 allocs/op
BenchmarkNop/giouring/batch=32-2     	  700000	      1650 ns/op	      51.56 ns/nop	      16 B/op	       1 allocs/op
BenchmarkBroken-2   	 --- FAIL
PASS
ok  	github.com/ringo-io/ringo/bench/ringbench	3.1s
`
	b := parseBench(out)
	if len(b) != 2 {
		t.Fatalf("%+v", b)
	}
	if b[0].Name != "BenchmarkNop/ringo/batch=1" || b[0].N != 5000000 || b[0].NsPerOp != 225.3 || b[0].Allocs != 0 {
		t.Fatalf("%+v", b[0])
	}
	if b[1].Name != "BenchmarkNop/giouring/batch=32" || b[1].BPerOp != 16 || b[1].Allocs != 1 || b[1].Extra["ns/nop"] != 51.56 {
		t.Fatalf("%+v", b[1])
	}
}

func TestCPULists(t *testing.T) {
	c, err := parseCPUList("0-2,5")
	if err != nil || len(c) != 4 || c[3] != 5 {
		t.Fatalf("%v %v", c, err)
	}
	for _, bad := range []string{"", "a", "3-1", "-1", "1,"} {
		if _, err := parseCPUList(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if cpuCount("0-3") != 4 {
		t.Fatal("cpuCount")
	}
	if err := disjoint("0", "0"); err == nil {
		t.Error("overlap: no error")
	}
	if err := disjoint("0", "4096"); err == nil {
		t.Error("missing CPU: no error")
	}
}

func TestScenarioLists(t *testing.T) {
	full := scenarios(options{duration: time.Second, rate: 20000, idleConns: 10000})
	quick := scenarios(options{quick: true, duration: time.Second, rate: 10000, idleConns: 1000})
	kinds := func(s []*scenario) map[string]bool {
		m := map[string]bool{}
		for _, sc := range s {
			m[string(sc.Kind)+"/"+sc.Group] = true
			if sc.Baseline == "" || len(sc.Servers) < 2 || strings.Contains(sc.Key, " ") {
				t.Errorf("%s: baseline %q servers %v", sc.Key, sc.Baseline, sc.Servers)
			}
		}
		return m
	}
	fk, qk := kinds(full), kinds(quick)
	if len(fk) != len(qk) || len(quick) >= len(full) {
		t.Fatalf("quick must have the same tables, fewer runs: %v vs %v", fk, qk)
	}
	var echo int
	for _, sc := range full {
		if sc.Group == "echo" && sc.Kind == report.Throughput {
			echo++
		}
	}
	if echo != 8 {
		t.Fatalf("full run has %d echo throughput scenarios, want 4 sizes x 2 connection counts", echo)
	}
	if !fk[string(report.Idle)+"/echo"] || !fk[string(report.Idle)+"/http"] {
		t.Fatalf("full run lacks an idle-memory table for echo or HTTP: %v", fk)
	}
}

func TestBuildError(t *testing.T) {
	out := "no required module provides package github.com/ringo-io/ringo/examples/hello; to add it:\n\tgo get github.com/ringo-io/ringo/examples/hello\n"
	if got := buildError(out); got != "no required module provides package github.com/ringo-io/ringo/examples/hello" {
		t.Fatal(got)
	}
	out = "# github.com/ringo-io/ringo/examples/hello\nexamples/hello/main.go:9:2: undefined: httpx.Serve\nexamples/hello/main.go:10:2: x\nexamples/hello/main.go:11:2: y\n"
	if got := buildError(out); got != "examples/hello/main.go:9:2: undefined: httpx.Serve / examples/hello/main.go:10:2: x" {
		t.Fatal(got)
	}
}

func TestCheckResponse(t *testing.T) {
	check := func(s string) string { return checkResponse(bufio.NewReader(strings.NewReader(s))) }
	good := "HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 14:40:30 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
	if got := check(good); got != "" {
		t.Fatalf("good response: %q", got)
	}
	for bad, want := range map[string]string{
		strings.Replace(good, "200 OK", "200 Fine", 1):                          "status line",
		strings.Replace(good, "Date: Sun, 22 Nov 2026 14:40:30 GMT\r\n", "", 1): "no Date",
		strings.Replace(good, "text/plain", "text/plain; charset=utf-8", 1):     "Content-Type",
		strings.Replace(good, "World!", "World?", 1):                            "body",
		strings.Replace(good, "\r\n\r\n", "\r\nServer: x\r\n\r\n", 1):           "extra headers: Server",
		"garbage": "check:",
	} {
		if got := check(bad); !strings.Contains(got, want) {
			t.Errorf("%q: got %q, want %q", bad, got, want)
		}
	}
}

func TestFreeAddrOutsideEphemeralRange(t *testing.T) {
	lo := ephemeralLow()
	for i := 0; i < 20; i++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port < 10000 || port >= lo {
			t.Fatalf("freeAddr gave %s, want a port in [10000, %d)", addr, lo)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port from freeAddr not bindable: %v", err)
		}
		ln.Close()
	}
}
