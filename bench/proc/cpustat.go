package proc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CPUTime is one CPU's cumulative time from /proc/stat, split into what
// processes ran (user, nice, system), what the hypervisor took (steal),
// interrupt work (irq, softirq) and idle (idle, iowait).
type CPUTime struct {
	Task  time.Duration
	Steal time.Duration
	IRQ   time.Duration
	Idle  time.Duration
}

// ParseCPUStat parses the per-CPU "cpuN" lines of /proc/stat (the
// aggregate "cpu" line is skipped), keyed by CPU number.
func ParseCPUStat(b []byte) (map[int]CPUTime, error) {
	out := map[int]CPUTime{}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		if !bytes.HasPrefix(line, []byte("cpu")) || len(line) < 4 || line[3] < '0' || line[3] > '9' {
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 9 {
			return nil, fmt.Errorf("proc: short /proc/stat line %q", line)
		}
		n, err := strconv.Atoi(string(f[0][3:]))
		if err != nil {
			return nil, fmt.Errorf("proc: bad /proc/stat line %q", line)
		}
		var v [8]time.Duration // user nice system idle iowait irq softirq steal
		for i := range v {
			x, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("proc: bad /proc/stat line %q", line)
			}
			v[i] = time.Duration(x) * ClockTick
		}
		out[n] = CPUTime{Task: v[0] + v[1] + v[2], Idle: v[3] + v[4], IRQ: v[5] + v[6], Steal: v[7]}
	}
	if len(out) == 0 {
		return nil, errors.New("proc: no cpuN lines in /proc/stat")
	}
	return out, nil
}

// ReadCPUStat reads /proc/stat.
func ReadCPUStat() (map[int]CPUTime, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	return ParseCPUStat(b)
}

// Busy returns, for the CPUs listed, the time spent running tasks plus time
// stolen by the hypervisor between two snapshots (irq/softirq excluded: with
// IRQ time accounting a process's own stime excludes them too; without it,
// see IRQInTasks).
func Busy(before, after map[int]CPUTime, cpus []int) time.Duration {
	var d time.Duration
	for _, c := range cpus {
		a, b := before[c], after[c]
		d += (b.Task - a.Task) + (b.Steal - a.Steal)
	}
	return d
}

// IRQInTasks reports whether the kernel charges interrupt time (irq and
// softirq in /proc/stat) to the task it interrupted, inside that task's
// utime+stime: a kernel built without CONFIG_IRQ_TIME_ACCOUNTING does (a
// network server's softirq work in its own context is then part of its CPU
// time but not of Busy). It reads the kernel's build configuration
// (/proc/config.gz, else /boot/config-RELEASE) and answers false when
// neither can be read.
var IRQInTasks = sync.OnceValue(func() bool {
	var cfg []byte
	if f, err := os.Open("/proc/config.gz"); err == nil {
		if zr, err := gzip.NewReader(f); err == nil {
			cfg, _ = io.ReadAll(zr)
		}
		f.Close()
	}
	if cfg == nil {
		if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
			cfg, _ = os.ReadFile("/boot/config-" + strings.TrimSpace(string(rel)))
		}
	}
	return bytes.Contains(cfg, []byte("\n# CONFIG_IRQ_TIME_ACCOUNTING is not set\n"))
})

// IRQ returns, for the CPUs listed, the irq and softirq time between two
// snapshots.
func IRQ(before, after map[int]CPUTime, cpus []int) time.Duration {
	var d time.Duration
	for _, c := range cpus {
		d += after[c].IRQ - before[c].IRQ
	}
	return d
}
