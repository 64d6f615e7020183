package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringo-io/ringo/bench/report"
)

// TestRoundsAgainstRealServer builds the net/http and echo peers and the load
// generator, and runs one short round of each kind through the real runner
// path (processes, /proc sampling, the loadgen line protocol).
func TestRoundsAgainstRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "..", "..")); err != nil { // the bench module
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	byKey := map[string]*server{}
	for _, s := range servers() {
		byKey[s.Key] = s
	}
	// A package that does not exist stands in for a ringo server that does not build yet.
	fake := &server{Server: report.Server{Key: "fake"}, pkg: "./servers/does-not-exist", bin: "fake"}
	srvs := []*server{byKey["nethttp"], byKey["netecho"], fake}
	if err := buildAll(t.Context(), goBin, dir, srvs); err != nil {
		t.Fatal(err)
	}
	if srvs[2].Skipped == "" || srvs[0].Skipped != "" || srvs[1].Skipped != "" {
		t.Fatalf("skips: %q %q %q", srvs[0].Skipped, srvs[1].Skipped, srvs[2].Skipped)
	}
	o := options{rounds: 1, warmup: 50 * time.Millisecond, duration: 200 * time.Millisecond, rate: 2000,
		serverCPUs: "0", loadCPUs: "0", binDir: dir, logDir: dir}
	for _, sc := range []*scenario{
		{Scenario: report.Scenario{Key: "http", Kind: report.Throughput, Conns: 4, Depth: 4}, mode: "http"},
		{Scenario: report.Scenario{Key: "lat", Kind: report.Latency, Conns: 4, Rate: 2000}, mode: "http"},
		{Scenario: report.Scenario{Key: "echo", Kind: report.Throughput, Conns: 4, Payload: 1000}, mode: "echo"},
		{Scenario: report.Scenario{Key: "idle", Kind: report.Idle, Conns: 300}, mode: "hold"},
	} {
		srv := byKey["nethttp"]
		if sc.mode == "echo" {
			srv = byKey["netecho"]
		}
		rd := o.runRound(sc, srv, 1)
		if rd.Err != "" || rd.Errors != 0 {
			t.Fatalf("%s: %s %d %v", sc.Key, rd.Err, rd.Errors, rd.Errs)
		}
		if rd.Requests == 0 || rd.RSS == 0 {
			t.Fatalf("%s: %+v", sc.Key, rd)
		}
		switch sc.mode {
		case "hold":
			if rd.Requests != 300 || rd.RSSBefore == 0 || rd.PerConn <= 0 {
				t.Fatalf("idle: %+v", rd)
			}
		default:
			// CPU is counted in 10ms ticks: a short round may show none, but
			// never a negative figure, and utilisations are fractions.
			if rd.ServerCPU < 0 || rd.ServerUtil < 0 || rd.ServerUtil > 1.5 || rd.LoadUtil <= 0 || rd.Latency.Count == 0 {
				t.Fatalf("%s: %+v", sc.Key, rd)
			}
		}
	}
	if !byKey["nethttp"].checked || byKey["nethttp"].Check != "" {
		t.Fatalf("net/http response check: %v %q", byKey["nethttp"].checked, byKey["nethttp"].Check)
	}
	// A server binary that exits at once is reported, not hung on.
	bad := &server{Server: report.Server{Key: "bad"}, bin: "loadgen", args: []string{"-mode", "nonsense"}}
	rd := o.runRound(&scenario{Scenario: report.Scenario{Key: "x", Conns: 1}, mode: "http"}, bad, 1)
	if rd.Err == "" {
		t.Fatal("exiting server: no error")
	}
}
