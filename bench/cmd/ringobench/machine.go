package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// peerVersions reads the pinned versions of the peers from go.mod.
func peerVersions() [][2]string {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return nil
	}
	var out [][2]string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, p := range []string{"github.com/panjf2000/gnet/v2", "github.com/valyala/fasthttp", "github.com/pawelgaczynski/giouring"} {
			if f[0] == p {
				out = append(out, [2]string{p, f[1]})
			}
		}
	}
	return out
}

// parseCPUList parses a taskset-style list ("0", "1-3,6") into CPU numbers.
func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// cpuCount is the number of CPUs in a list (at least 1; the whole machine
// when the list does not parse).
func cpuCount(s string) int {
	cpus, err := parseCPUList(s)
	if err != nil || len(cpus) == 0 {
		return runtime.NumCPU()
	}
	return len(cpus)
}

// disjoint reports whether two CPU lists share no CPU and all exist.
func disjoint(a, b string) error {
	ca, err := parseCPUList(a)
	if err != nil {
		return err
	}
	cb, err := parseCPUList(b)
	if err != nil {
		return err
	}
	seen := map[int]bool{}
	for _, c := range ca {
		seen[c] = true
	}
	for _, c := range append(ca, cb...) {
		if c >= runtime.NumCPU() {
			return fmt.Errorf("CPU %d does not exist (%d CPUs)", c, runtime.NumCPU())
		}
	}
	for _, c := range cb {
		if seen[c] {
			return fmt.Errorf("CPU sets %q and %q overlap", a, b)
		}
	}
	return nil
}
