// Command loadgen runs one load.Config against a server and reports with the
// lgproto line protocol. The bench runner starts it pinned to the load CPUs;
// it is also usable by hand:
//
//	loadgen -addr 127.0.0.1:8080 -conns 64 -depth 16 -duration 5s
//	loadgen -addr 127.0.0.1:8080 -rate 20000 -conns 64 -duration 5s
//	loadgen -addr 127.0.0.1:7000 -mode echo -payload 1024 -conns 64
//	loadgen -addr 127.0.0.1:8080 -mode hold -conns 10000   (closes on stdin EOF)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/ringo-io/ringo/bench/internal/lgproto"
	"github.com/ringo-io/ringo/bench/load"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	var (
		cfg  load.Config
		mode = flag.String("mode", "http", "http, echo, or hold (open -conns keep-alive connections, one request each, hold until stdin closes)")
		hold = flag.String("hold-mode", "http", "protocol of the request sent on each held connection: http or echo")
		body = flag.String("body", "", "HTTP: count a 200 response only if its body is exactly this (empty: not checked)")
	)
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "server address")
	flag.IntVar(&cfg.Conns, "conns", 64, "connections")
	flag.IntVar(&cfg.Depth, "depth", 1, "HTTP pipelining depth (closed loop)")
	flag.IntVar(&cfg.Payload, "payload", 64, "echo payload bytes")
	flag.Int64Var(&cfg.Requests, "requests", 0, "closed loop: send exactly this many requests (overrides -duration)")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before the measurement")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measurement window")
	flag.Float64Var(&cfg.Rate, "rate", 0, "open loop: intended requests per second (0: closed loop)")
	flag.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "I/O deadline per batch")
	flag.Parse()
	if *body != "" {
		cfg.Body = []byte(*body)
	}

	var cpu0, cpu1 time.Duration
	var t0, t1 time.Time
	cfg.OnMeasureStart = func() {
		t0, cpu0 = time.Now(), cpuNow()
		fmt.Println(lgproto.Start)
	}
	cfg.OnMeasureEnd = func() {
		t1, cpu1 = time.Now(), cpuNow()
		fmt.Println(lgproto.End)
	}
	var (
		res load.Result
		err error
	)
	switch *mode {
	case "http", "echo":
		cfg.Mode = load.Mode(*mode)
		res, err = load.Run(cfg)
	case "hold":
		cfg.Mode = load.Mode(*hold)
		cfg.OnMeasureStart()
		var h *load.Held
		h, res, err = load.Hold(cfg)
		cfg.OnMeasureEnd()
		if err == nil {
			io.Copy(io.Discard, os.Stdin) // hold until the runner has measured
			h.Recount(&res)               // count only what the server kept open
			h.Close()
		}
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(lgproto.Outcome{Result: res, CPU: cpu1 - cpu0, Wall: t1.Sub(t0)})
	fmt.Printf("%s%s\n", lgproto.Result, out)
}
