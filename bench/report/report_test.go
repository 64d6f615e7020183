package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

func sampleResults() *Results {
	r := &Results{
		Meta: Meta{Date: "2026-11-22", Quick: true, CPUModel: "Test CPU", Cores: 2, Kernel: "Linux 6.18", GoVersion: "go1.26",
			Versions: [][2]string{{"github.com/valyala/fasthttp", "v1.77.0"}}, Rounds: 3, Warmup: time.Second, Measure: 2 * time.Second,
			ServerCPUs: "1", LoadCPUs: "0", Took: 90 * time.Second},
		Servers: []Server{
			{Key: "nethttp", Name: "net/http"},
			{Key: "gnet", Name: "gnet", Check: "extra headers: Server"},
			{Key: "ringo-uring", Name: "ringo (io_uring)", Ringo: true},
			{Key: "ringo-epoll", Name: "ringo (epoll)", Ringo: true, Skipped: "does not build yet: no Go files"},
		},
		Scenarios: []Scenario{
			{Key: "http-64", Title: "HTTP keep-alive, 64 connections", Kind: Throughput, Unit: "req", Group: "http", Baseline: "nethttp",
				Servers: []string{"nethttp", "gnet", "ringo-uring", "ringo-epoll"}, Method: "closed | loop"},
			{Key: "latency", Title: "HTTP latency", Kind: Latency, Unit: "req", Group: "http", Baseline: "nethttp", Servers: []string{"nethttp", "gnet", "ringo-uring"}},
			{Key: "idle-100", Title: "Idle", Kind: Idle, Unit: "conn", Baseline: "nethttp", Servers: []string{"nethttp", "gnet", "ringo-uring"}},
		},
		RingBench: []Bench{
			{Name: "BenchmarkNop/ringo/batch=32", N: 1000, NsPerOp: 1650, Allocs: 0},
			{Name: "BenchmarkNop/giouring/batch=32", N: 1000, NsPerOp: 3300, BPerOp: 16, Allocs: 1, Extra: map[string]float64{"ns/nop": 103}},
		},
	}
	// Throughput: three rounds each; medians 100k / 200k / 400k req/s and
	// 10000 / 5000 / 2500 ns per request.
	for i, f := range []float64{0.9, 1.0, 1.1} {
		for _, s := range []struct {
			key       string
			rps, cpu  float64
			load      float64
			requested int64
		}{{"nethttp", 100e3, 10000, 0.5, 100}, {"gnet", 200e3, 5000, 0.95, 200}, {"ringo-uring", 400e3, 2500, 0.5, 400}} {
			r.Rounds = append(r.Rounds, Round{Scenario: "http-64", Server: s.key, Round: i + 1, Tool: "loadgen",
				RPS: s.rps * f, CPUPerReq: s.cpu * f, ServerUtil: 0.9, LoadUtil: s.load, RSS: 8 << 20, Requests: s.requested})
		}
	}
	r.Rounds = append(r.Rounds, Round{Scenario: "http-64", Server: "gnet", Round: 4, Err: "server exited before listening"})
	for i := 0; i < 3; i++ {
		for j, key := range []string{"nethttp", "gnet", "ringo-uring"} {
			base := time.Duration(j+1) * 100 * time.Microsecond
			r.Rounds = append(r.Rounds, Round{Scenario: "latency", Server: key, Round: i + 1, RPS: 10000, CPUPerReq: 20000, ServerUtil: 0.2,
				Latency: hist.Summary{Count: 1000, P50: base, P99: 10 * base, P999: 20 * base, Max: 30 * base}, SendLagP99: 30000,
				OtherServer: float64(j) * 0.15, OtherLoad: 0.05})
			r.Rounds = append(r.Rounds, Round{Scenario: "idle-100", Server: key, Round: i + 1, Requests: 100,
				RSSBefore: 4 << 20, RSS: 5 << 20, PerConn: float64(4000 / (j + 1))})
		}
	}
	return r
}

func TestRenderTables(t *testing.T) {
	md, charts, err := Render(sampleResults())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| CPU | Test CPU, 2 cores |",
		"**2 of 9 rows ran while other work took ≥ 10% of the pinned CPUs",
		"1 of 9 rows were limited by the load generator",
		"| github.com/valyala/fasthttp | v1.77.0 |",
		"pinned with `taskset` to CPU(s) 1",
		"**ringo (epoll): skipped**: does not build yet: no Go files",
		"closed \\| loop", // escaped pipe in free text
		"- gnet: **response differs**: extra headers: Server",
		// median (min–max), ratio to net/http and to the best peer (gnet)
		"| **ringo (io_uring)** | 400k (360k–440k) | 4.00× | 2.00× | 2500 (2250–2750) | 0.25× | 0.50× | 90% | 8.0 MiB | 50% |  |",
		"| gnet | 200k (180k–220k) | 2.00× | 1.00× | 5000 (4500–5500) | 0.50× | 1.00× | 90% | 8.0 MiB | ⚠ 95% | 1 of 4 rounds failed |",
		"gnet, failed round: server exited before listening",
		"Best peer: gnet by req/s, gnet by CPU/req.",
		// latency: p99 of ringo is 3ms, net/http (the best peer too) 1ms
		"| **ringo (io_uring)** | 10k | 300µs | 3ms | 6ms | 9ms | 3.00× | 3.00× | 20000 | 1.00× | 20% | 30µs | – | ⚑ CPUs shared: other work took 30% of the server's, 5% of the load generator's |",
		// idle: 4000, 2000, 1333 bytes per connection
		"| **ringo (io_uring)** | 100 | 4.0 MiB | 5.0 MiB | 1333 | 0.33× | 0.67× |  |",
		"| BenchmarkNop/ringo/batch=32 | 1650 | 0.50× | 0 | 0 |  |",
		// other work on the CPUs: none for net/http, 15% for gnet (flagged), 30% for ringo
		"| 30µs | – | ⚑ CPUs shared: other work took 15% of the server's, 5% of the load generator's |",
		"| 30µs | – | ⚑ CPUs shared: other work took 30% of the server's, 5% of the load generator's |",
		"| net/http | 10k | 100µs | 1ms | 2ms | 3ms | 1.00× | 1.00× | 20000 | 1.00× | 20% | 30µs | – |  |",
		"103 ns/nop",
		"![cpu_http.svg](cpu_http.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "ringo (epoll)** |") {
		t.Error("skipped server has a table row")
	}
	for _, name := range []string{"cpu_http.svg", "rps_http.svg", "latency.svg", "idle_memory.svg"} {
		doc, ok := charts[name]
		if !ok {
			t.Errorf("chart %s missing", name)
			continue
		}
		wellFormed(t, name, doc)
		if !bytes.Contains(doc, []byte("ringo (io_uring)")) {
			t.Errorf("%s has no ringo series", name)
		}
	}
	if _, ok := charts["cpu_echo.svg"]; ok {
		t.Error("echo chart without echo scenarios")
	}
	if t.Failed() {
		t.Log(md)
	}
}

func wellFormed(t *testing.T, name string, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: invalid XML: %v", name, err)
		}
	}
}

func TestRenderEmptyAndRingErr(t *testing.T) {
	r := &Results{Meta: Meta{Date: "d"}, RingErr: "bench/ringbench has no benchmarks yet",
		Servers:   []Server{{Key: "a", Name: "A", Skipped: "does not build"}},
		Scenarios: []Scenario{{Key: "x", Title: "X", Kind: Throughput, Servers: []string{"a"}}}}
	md, charts, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No server ran in this scenario.", "Not run: bench/ringbench has no benchmarks yet", "**Not pinned**", "wrk | not on PATH"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if len(charts) != 0 {
		t.Errorf("charts without data: %v", len(charts))
	}
}

func TestResultsJSONRoundTrip(t *testing.T) {
	r := sampleResults()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	md1, _, _ := Render(r)
	md2, _, _ := Render(&back)
	if md1 != md2 {
		t.Fatal("report differs after a JSON round trip of the raw data")
	}
}

func TestSummarizeAndHelpers(t *testing.T) {
	s := summarize([]float64{3, 1, 2, 10})
	if s.Med != 2.5 || s.Min != 1 || s.Max != 10 || s.N != 4 {
		t.Fatalf("%+v", s)
	}
	if e := summarize(nil); e.N != 0 || !math.IsNaN(e.Med) {
		t.Fatalf("%+v", e)
	}
	if num(1234567) != "1.23M" || num(56300) != "56.3k" || num(1333.3) != "1333" || num(0.25) != "0.25" {
		t.Fatal(num(1234567), num(56300), num(1333.3), num(0.25))
	}
	if dur(1500) != "1.5µs" || dur(2.5e6) != "2.5ms" || dur(999) != "999ns" {
		t.Fatal(dur(1500), dur(2.5e6), dur(999))
	}
	if twinName("BenchmarkNopBatch/ringo-32") != "BenchmarkNopBatch/giouring-32" || twinName("BenchmarkRingNop") != "BenchmarkGiouringNop" ||
		twinName("BenchmarkGiouringNop") != "BenchmarkGiouringNop" {
		t.Fatal("twinName")
	}
	sum := Summary(sampleResults())
	for _, want := range []string{"skipped ringo (epoll)", "ringo (io_uring)", "4.00×", "p99 3ms"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

// A paired ratio takes each round's ratio, so a drift that moves both
// servers together (round 2 twice as slow for both) leaves it exact, and a
// round one server lacks is left out.
func TestPairedCPU(t *testing.T) {
	sc := Scenario{Key: "s", Kind: Throughput, Unit: "req"}
	r := &Results{Rounds: []Round{
		{Scenario: "s", Server: "a", Round: 1, CPUPerReq: 900},
		{Scenario: "s", Server: "b", Round: 1, CPUPerReq: 1000},
		{Scenario: "s", Server: "a", Round: 2, CPUPerReq: 1800},
		{Scenario: "s", Server: "b", Round: 2, CPUPerReq: 2000},
		{Scenario: "s", Server: "a", Round: 3, CPUPerReq: 800},
		{Scenario: "s", Server: "b", Round: 3, Err: "crashed"},
		{Scenario: "other", Server: "b", Round: 3, CPUPerReq: 1},
	}}
	st := r.PairedCPU(sc, "a", "b")
	if st.N != 2 || math.Abs(st.Med-0.9) > 1e-9 || math.Abs(st.Min-0.9) > 1e-9 || math.Abs(st.Max-0.9) > 1e-9 {
		t.Fatalf("PairedCPU = %+v, want 0.9 over 2 rounds", st)
	}
	md, _, err := Render(sampleResults())
	if err != nil {
		t.Fatal(err)
	}
	if want := "Paired CPU/req against gnet, round by round (median, min–max): ringo (io_uring) 0.50× (0.50–0.50, 3 rounds)."; !strings.Contains(md, want) {
		t.Fatalf("report lacks %q", want)
	}
}
