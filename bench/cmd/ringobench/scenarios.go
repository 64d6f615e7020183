package main

import (
	"fmt"
	"time"

	"github.com/ringo-io/ringo/bench/report"
)

// scenario is a report.Scenario plus how the runner drives it.
type scenario struct {
	report.Scenario
	mode   string // loadgen -mode: http, echo, hold
	useWrk bool   // unpipelined HTTP throughput: wrk when it is on PATH
}

var (
	httpServers    = []string{"nethttp", "fasthttp", "gnet", "ringo-uring", "ringo-epoll"}
	allHTTPServers = []string{"nethttp", "fasthttp", "gnet", "ringo-uring", "ringo-epoll", "ringo-nethttp"}
	echoServers    = []string{"netecho", "gnetecho", "ringo-echo-uring", "ringo-echo-epoll"}
)

// scenarios returns the scenarios of a run: the same list in quick mode, with
// fewer echo combinations and fewer idle connections.
func scenarios(o options) []*scenario {
	dur := o.duration.String()
	var out []*scenario
	http := func(key, title string, conns, depth int, srvs []string, wrk bool) {
		how := fmt.Sprintf("Closed loop: %d keep-alive connections, each sends one GET and waits for its response.", conns)
		if depth > 1 {
			how = fmt.Sprintf("Closed loop: %d keep-alive connections, each writes %d pipelined GETs at once and reads the %d responses.", conns, depth, depth)
		}
		if wrk {
			how += " Driven by wrk when on PATH (warm-up by the built-in generator), else by the built-in generator."
		}
		out = append(out, &scenario{Scenario: report.Scenario{
			Key: key, Title: title, Kind: report.Throughput, Unit: "req", Method: how, Group: "http",
			Baseline: "nethttp", Servers: srvs, Conns: conns, Depth: depth, Duration: dur,
		}, mode: "http", useWrk: wrk})
	}
	http("http-64", "HTTP plaintext keep-alive, 64 connections", 64, 1, httpServers, true)
	http("http-512", "HTTP plaintext keep-alive, 512 connections", 512, 1, httpServers, true)
	http("pipeline-16", "HTTP pipelined ×16, 64 connections", 64, 16, httpServers, false)
	http("handler-64", "net/http handler path (ringo FromHTTP vs net/http), 64 connections", 64, 1, []string{"nethttp", "ringo-nethttp"}, true)

	out = append(out, &scenario{Scenario: report.Scenario{
		Key: "latency", Title: fmt.Sprintf("HTTP latency, open loop at %.0f req/s over 64 connections", o.rate), Kind: report.Latency,
		Unit: "req", Group: "http", Baseline: "nethttp", Servers: allHTTPServers, Conns: 64, Rate: o.rate, Duration: dur,
		Method: fmt.Sprintf("Open loop: %.0f GETs per second spread evenly over 64 connections (a connection pipelines when a response is late); latency from each request's intended send time.", o.rate),
	}, mode: "http"})

	type echoCase struct{ size, conns int }
	cases := []echoCase{{64, 64}, {1024, 64}, {16 << 10, 64}, {64 << 10, 64}, {64, 1000}, {1024, 1000}, {16 << 10, 1000}, {64 << 10, 1000}}
	if o.quick {
		cases = []echoCase{{64, 64}, {16 << 10, 64}, {1024, 1000}}
	}
	for _, c := range cases {
		out = append(out, &scenario{Scenario: report.Scenario{
			Key: fmt.Sprintf("echo-%s-%d", sizeKey(c.size), c.conns), Title: fmt.Sprintf("TCP echo, %s payload, %d connections", sizeName(c.size), c.conns),
			Kind: report.Throughput, Unit: "round trip", Group: "echo", Baseline: "netecho", Servers: echoServers,
			Conns: c.conns, Payload: c.size, Duration: dur,
			Method: fmt.Sprintf("Closed loop: %d connections, each writes %s, reads the %s echoed back and checks its CRC-32, then repeats.", c.conns, sizeName(c.size), sizeName(c.size)),
		}, mode: "echo"})
	}

	out = append(out, &scenario{Scenario: report.Scenario{
		Key: fmt.Sprintf("idle-%d", o.idleConns), Title: fmt.Sprintf("Idle keep-alive connections: server memory, %d connections", o.idleConns),
		Kind: report.Idle, Unit: "conn", Group: "http", Baseline: "nethttp", Servers: allHTTPServers, Conns: o.idleConns,
		Method: fmt.Sprintf("Open %d keep-alive connections, one GET each, keep them open; server RSS after minus before, per connection.", o.idleConns),
	}, mode: "hold"})
	out = append(out, &scenario{Scenario: report.Scenario{
		Key: fmt.Sprintf("idle-echo-%d", o.idleConns), Title: fmt.Sprintf("Idle echo connections: server memory, %d connections", o.idleConns),
		Kind: report.Idle, Unit: "conn", Group: "echo", Baseline: "netecho", Servers: echoServers, Conns: o.idleConns,
		Method: fmt.Sprintf("Open %d connections, one 64 B echo round trip each, keep them open; server RSS after minus before, per connection.", o.idleConns),
	}, mode: "hold"})
	return out
}

func sizeKey(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dk", n/1024)
	}
	return fmt.Sprintf("%d", n)
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// roundBudget estimates the wall time of one round of a scenario, for the
// progress line.
func roundBudget(o options, sc *scenario) time.Duration {
	switch {
	case sc.Kind == report.Idle:
		return time.Second
	case sc.useWrk && o.wrk != "":
		return o.warmup + o.duration.Round(time.Second) + 200*time.Millisecond
	}
	return o.warmup + o.duration + 100*time.Millisecond
}
