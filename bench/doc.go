// Package bench is ringo's bench suite, its own module so that the peers it
// compares against (fasthttp, gnet, giouring) stay out of ringo's go.mod.
//
// Run it with `make bench` (or `make bench QUICK=1`, well under two minutes)
// from the repository root; it runs
//
//	cd bench && go run -ldflags=-checklinkname=0 ./cmd/ringobench [-quick]
//
// and writes results/<date>/report.md, SVG charts beside it and the raw
// per-round data as rounds.json (server logs go to results/<date>/raw/, which
// git ignores). `ringobench -h` lists the knobs: -rounds, -warmup, -duration,
// -server-cpus/-load-cpus (default 1 and 0), -only and -servers (regexps on
// scenario and server keys), -rate, -idle-conns, -no-wrk, -render.
//
// Layout:
//
//	cmd/ringobench  the runner: builds every server into bin/, runs the scenarios
//	                in turns over rounds, samples /proc, writes the report
//	cmd/loadgen     the load generator process the runner pins to the load CPUs
//	load            the load generator as a library (closed loop, pipelining,
//	                open loop at a fixed rate, TCP echo, idle connections)
//	hist            log-bucketed latency histogram
//	proc            /proc/PID/stat, /proc/PID/status and /proc/stat parsing
//	svg             the bar charts
//	report          results model, aggregation (medians, ratios) and markdown
//	servers/*       the peers: nethttp, fasthttp, gnet, gnetecho, netecho; and
//	                ringonethttp, ringo's FromHTTP server for the handler-path row
//	hello           the net/http handler that nethttp and ringonethttp both serve,
//	                so that row compares servers, not handlers
//	ringbench       ring NOP batches, ringo vs giouring (go test -bench)
//
// ringo's other servers are the root module's examples (hello with -backend
// uring and epoll, echo); while one does not build, the report lists it as
// skipped with the compiler's reason.
package bench
