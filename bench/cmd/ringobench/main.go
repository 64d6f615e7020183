// Command ringobench is ringo's bench suite: it builds every server under
// test, runs each scenario against each server in turns over several rounds
// with server and load generator pinned to disjoint CPUs, and writes
// results/<date>/report.md with SVG charts and the raw rounds as JSON.
//
// Run it from the bench module (make bench does: cd bench && go run
// -ldflags=-checklinkname=0 ./cmd/ringobench [-quick]).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringo-io/ringo/bench/proc"
	"github.com/ringo-io/ringo/bench/report"
)

// options is the run's configuration, fixed after flag parsing.
type options struct {
	quick       bool
	rounds      int
	warmup      time.Duration
	duration    time.Duration
	rate        float64
	idleConns   int
	serverCPUs  string
	loadCPUs    string
	pin         bool
	taskset     string
	wrk         string // path, empty when not used
	outDir      string // results/<date>
	logDir      string // results/<date>/raw: server logs (git-ignored)
	binDir      string // absolute
	ringTimeout time.Duration
	quietWait   time.Duration // before each round, wait up to this long for the CPUs to be free of other work
	only        *regexp.Regexp
	serversRe   *regexp.Regexp
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ringobench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		o         options
		noWrk     = flag.Bool("no-wrk", false, "use the built-in generator even when wrk is on PATH")
		noRing    = flag.Bool("no-ringbench", false, "skip the ring-vs-giouring benchmarks")
		only      = flag.String("only", "", "regexp: run only the scenarios whose key matches (e.g. 'http|echo-64-')")
		srvs      = flag.String("servers", "", "regexp: run only the servers whose key matches")
		results   = flag.String("results", "results", "directory for results/<date>/")
		rounds    = flag.Int("rounds", 0, "rounds per scenario (default 5, quick 2)")
		warmup    = flag.Duration("warmup", 0, "warm-up per round (default 1s, quick 200ms)")
		duration  = flag.Duration("duration", 0, "measurement per round (default 3s, quick 500ms)")
		rate      = flag.Float64("rate", 0, "open-loop request rate (default 20000/s, quick 10000/s)")
		idleConns = flag.Int("idle-conns", 0, "idle connections to hold (default 10000, quick 1000)")
		render    = flag.String("render", "", "only re-render the report from a rounds.json into its directory")
		quiet     = flag.Duration("quiet-wait", -1, "before each round, wait up to this long for other work to leave the pinned CPUs (default 5s, quick 0)")
	)
	flag.BoolVar(&o.quick, "quick", false, "short run: fewer, shorter rounds (well under 2 minutes)")
	flag.StringVar(&o.serverCPUs, "server-cpus", "1", "CPU list (taskset -c) for the server under test")
	flag.StringVar(&o.loadCPUs, "load-cpus", "0", "CPU list (taskset -c) for the load generator, disjoint from -server-cpus")
	flag.Parse()
	if *render != "" {
		return rerender(*render)
	}
	pick := func(v, full, quick time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		if o.quick {
			return quick
		}
		return full
	}
	o.warmup, o.duration = pick(*warmup, time.Second, 200*time.Millisecond), pick(*duration, 3*time.Second, 500*time.Millisecond)
	o.quietWait = *quiet
	if o.quietWait < 0 {
		o.quietWait = pick(0, 5*time.Second, 0)
	}
	o.ringTimeout = pick(0, 10*time.Minute, 90*time.Second)
	o.rounds, o.rate, o.idleConns = *rounds, *rate, *idleConns
	if o.rounds <= 0 {
		o.rounds = map[bool]int{false: 5, true: 2}[o.quick]
	}
	if o.rate <= 0 {
		o.rate = map[bool]float64{false: 20000, true: 10000}[o.quick]
	}
	if o.idleConns <= 0 {
		o.idleConns = map[bool]int{false: 10000, true: 1000}[o.quick]
	}
	var err error
	if o.only, err = regexp.Compile(*only); err != nil {
		return err
	}
	if o.serversRe, err = regexp.Compile(*srvs); err != nil {
		return err
	}
	if b, err := os.ReadFile("go.mod"); err != nil || !strings.Contains(string(b), "module github.com/ringo-io/ringo/bench") {
		return errors.New("run from the bench module directory (cd bench)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("go not on PATH")
	}

	started := time.Now()
	meta := report.Meta{
		Date: started.UTC().Format("2006-01-02"), Started: started.UTC(), Quick: o.quick,
		CPUModel: cpuModel(), Cores: runtime.NumCPU(), Kernel: kernel(), GoVersion: runtime.Version(),
		Versions: peerVersions(), Rounds: o.rounds, Warmup: o.warmup, Measure: o.duration,
	}
	o.setupPinning(&meta)
	if !*noWrk {
		var v string
		if o.wrk, v = wrkVersion(); o.wrk != "" {
			meta.Wrk = v
		}
	}
	raiseNoFile(&meta, o.idleConns)

	o.outDir = filepath.Join(*results, meta.Date)
	o.logDir = filepath.Join(o.outDir, "raw")
	if o.binDir, err = filepath.Abs("bin"); err != nil {
		return err
	}
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return err
	}

	fmt.Printf("ringobench: building servers into %s\n", o.binDir)
	var all []*server
	for _, s := range servers() {
		if o.serversRe.MatchString(s.Key) {
			all = append(all, s)
		}
	}
	bctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = buildAll(bctx, goBin, o.binDir, all)
	cancel()
	if err != nil {
		return err
	}
	res := &report.Results{Meta: meta}
	byKey := map[string]*server{}
	for _, s := range all {
		byKey[s.Key] = s
		res.Servers = append(res.Servers, s.Server)
		if s.Skipped != "" {
			fmt.Printf("  skip %-18s %s\n", s.Key, s.Skipped)
		}
	}

	var todo []*scenario
	nRounds := 0
	var eta time.Duration
	for _, sc := range scenarios(o) {
		if !o.only.MatchString(sc.Key) {
			continue
		}
		todo = append(todo, sc)
		for _, k := range sc.Servers {
			if s, ok := byKey[k]; ok && s.Skipped == "" {
				nRounds += o.rounds
				eta += time.Duration(o.rounds) * roundBudget(o, sc)
			}
		}
	}
	fmt.Printf("ringobench: %d scenarios, %d server rounds, about %s plus the ring benchmarks\n", len(todo), nRounds, eta.Round(time.Second))
	for _, sc := range todo {
		var keys []string
		for _, k := range sc.Servers {
			if s, ok := byKey[k]; ok {
				keys = append(keys, s.Key)
			}
		}
		sc.Servers = keys
		res.Scenarios = append(res.Scenarios, sc.Scenario)
		fmt.Printf("== %s: %s\n", sc.Key, sc.Title)
		for round := 1; round <= o.rounds; round++ {
			for _, k := range keys {
				s := byKey[k]
				if s.Skipped != "" {
					continue
				}
				o.waitQuiet()
				rd := o.runRound(sc, s, round)
				res.Rounds = append(res.Rounds, rd)
				fmt.Println("  " + progressLine(sc, rd))
			}
		}
	}

	if *noRing || (*only != "" && !o.only.MatchString("ringbench")) {
		res.RingErr = "not requested"
	} else {
		fmt.Println("== ringbench: ring NOP batches vs giouring")
		res.RingBench, res.RingErr = o.runRingBench(goBin)
		if res.RingErr != "" {
			fmt.Println("  " + res.RingErr)
		}
		for _, b := range res.RingBench {
			fmt.Printf("  %-50s %10.1f ns/op %6.0f B/op %4.0f allocs/op\n", b.Name, b.NsPerOp, b.BPerOp, b.Allocs)
		}
	}

	for i, s := range res.Servers {
		res.Servers[i].Check = byKey[s.Key].Check
	}
	res.Meta.Took = time.Since(started)
	if err := write(o.outDir, res); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(report.Summary(res))
	fmt.Printf("\nringobench: wrote %s (took %s)\n", filepath.Join(o.outDir, "report.md"), time.Since(started).Round(100*time.Millisecond))
	return nil
}

// setupPinning decides whether to pin (taskset present, CPU sets valid and
// disjoint) and pins the runner itself to the load CPUs, off the server's.
func (o *options) setupPinning(meta *report.Meta) {
	ts, err := exec.LookPath("taskset")
	if err == nil {
		err = disjoint(o.serverCPUs, o.loadCPUs)
	}
	if err != nil {
		meta.Notes = append(meta.Notes, "not pinned: "+err.Error())
		return
	}
	o.pin, o.taskset = true, ts
	meta.ServerCPUs, meta.LoadCPUs = o.serverCPUs, o.loadCPUs
	cpus, _ := parseCPUList(o.loadCPUs)
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	// Best effort: only the calling thread; the runner is mostly asleep.
	unix.SchedSetaffinity(0, &set)
}

// waitQuiet waits, up to o.quietWait, until other work takes less than 10%
// of the pinned CPUs over a 200ms look (other helpers share this machine).
func (o options) waitQuiet() {
	if o.quietWait <= 0 || !o.pin {
		return
	}
	cpus, _ := parseCPUList(o.serverCPUs + "," + o.loadCPUs)
	deadline := time.Now().Add(o.quietWait)
	for time.Now().Before(deadline) {
		a, err := proc.ReadCPUStat()
		t0 := time.Now()
		time.Sleep(200 * time.Millisecond)
		b, err2 := proc.ReadCPUStat()
		if err != nil || err2 != nil {
			return
		}
		if proc.Busy(a, b, cpus).Seconds()/time.Since(t0).Seconds()/float64(len(cpus)) < 0.1 {
			return
		}
	}
}

// raiseNoFile lifts RLIMIT_NOFILE to its hard limit for this process and
// the servers and load generator it starts (the idle scenario holds
// thousands of connections on each side).
func raiseNoFile(meta *report.Meta, need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		meta.Notes = append(meta.Notes, "could not raise RLIMIT_NOFILE: "+err.Error())
	}
	if lim.Cur < uint64(need)+100 {
		meta.Notes = append(meta.Notes, fmt.Sprintf("RLIMIT_NOFILE is %d, below the %d idle connections: some will fail", lim.Cur, need))
	}
}

func progressLine(sc *scenario, rd report.Round) string {
	head := fmt.Sprintf("%-18s r%d", rd.Server, rd.Round)
	if rd.Err != "" {
		return head + "  FAILED: " + rd.Err
	}
	if sc.Kind == report.Idle {
		return fmt.Sprintf("%s  %d conns  %.0f B/conn  RSS %.1f MiB", head, rd.Requests, rd.PerConn, float64(rd.RSS)/(1<<20))
	}
	s := fmt.Sprintf("%s  %9.0f %s/s  CPU %6.0f ns/%s (server %3.0f%%, load %3.0f%%)", head, rd.RPS, sc.Unit, rd.CPUPerReq, sc.Unit, 100*rd.ServerUtil, 100*rd.LoadUtil)
	if sc.Kind == report.Latency {
		s += fmt.Sprintf("  p50 %v p99 %v p99.9 %v", time.Duration(rd.Latency.P50).Round(time.Microsecond), time.Duration(rd.Latency.P99).Round(time.Microsecond), time.Duration(rd.Latency.P999).Round(time.Microsecond))
	}
	if rd.Errors > 0 {
		s += fmt.Sprintf("  %d errors", rd.Errors)
	}
	if rd.OtherServer >= 0.1 || rd.OtherLoad >= 0.1 {
		s += fmt.Sprintf("  [shared CPUs: other work %.0f%%/%.0f%%]", 100*rd.OtherServer, 100*rd.OtherLoad)
	}
	if rd.Tool == "wrk" {
		s += "  [wrk]"
	}
	return s
}

// write puts report.md, the charts and rounds.json into dir.
func write(dir string, res *report.Results) error {
	md, charts, err := report.Render(res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	for name, doc := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), doc, 0o644); err != nil {
			return err
		}
	}
	raw, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rounds.json"), raw, 0o644)
}

// rerender rebuilds the report beside a rounds.json (after a change to the
// report code, or to look at old data with new tables).
func rerender(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res report.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := write(filepath.Dir(path), &res); err != nil {
		return err
	}
	fmt.Print(report.Summary(&res))
	return nil
}
