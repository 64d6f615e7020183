package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ringo-io/ringo/bench/report"
)

// runRingBench compiles ./ringbench/ (the ring-vs-giouring benchmarks,
// written by another hand; giouring needs -checklinkname=0) and runs it
// pinned to the server CPUs: the same as
// `go test -run '^$' -bench . -benchmem -ldflags=-checklinkname=0 ./ringbench/`
// with the compile step kept off the pinned CPU.
func (o options) runRingBench(goBin string) ([]report.Bench, string) {
	files, _ := filepath.Glob("ringbench/*_test.go")
	if len(files) == 0 {
		return nil, "bench/ringbench has no benchmarks yet"
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.ringTimeout)
	defer cancel()
	test := filepath.Join(o.binDir, "ringbench.test")
	os.Remove(test)
	build := exec.CommandContext(ctx, goBin, "test", "-c", "-o", test, "-ldflags=-checklinkname=0", "./ringbench/")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, "does not build: " + firstLines(string(out), 3)
	}
	if _, err := os.Stat(test); err != nil {
		return nil, "go test -c produced no binary (no test files?)"
	}
	args := []string{"-test.run", "^$", "-test.bench", ".", "-test.benchmem"}
	if o.quick {
		args = append(args, "-test.benchtime", "100ms")
	}
	cmd := o.pinned(ctx, o.serverCPUs, nil, test, args...)
	cmd.Dir = "ringbench"
	out, err := cmd.CombinedOutput()
	lines := parseBench(string(out))
	if err != nil {
		msg := fmt.Sprintf("failed (%v): %s", err, firstLines(string(out), 3))
		if ctx.Err() != nil {
			msg = fmt.Sprintf("timed out after %v", o.ringTimeout)
		}
		if len(lines) == 0 {
			return nil, msg
		}
	}
	if len(lines) == 0 {
		return nil, "no benchmark lines in: " + firstLines(string(out), 3)
	}
	return lines, ""
}

// parseBench reads `go test -bench` result lines:
// "BenchmarkName-2  1000  123.4 ns/op  0 B/op  0 allocs/op  [value unit]...".
func parseBench(out string) []report.Bench {
	var res []report.Bench
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		b := report.Bench{Name: trimProcs(f[0]), N: n}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BPerOp = v
			case "allocs/op":
				b.Allocs = v
			default:
				if b.Extra == nil {
					b.Extra = map[string]float64{}
				}
				b.Extra[f[i+1]] = v
			}
		}
		if ok {
			res = append(res, b)
		}
	}
	return res
}

// trimProcs drops the "-GOMAXPROCS" suffix go test adds to names.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}
