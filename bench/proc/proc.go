// Package proc reads the per-process figures the bench needs from /proc:
// CPU time (utime+stime of all threads) and resident memory.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTick is the unit of the utime/stime fields of /proc/PID/stat. The
// kernel always reports them in USER_HZ, which is 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) returns it; we cannot call
// sysconf without cgo).
const ClockTick = 10 * time.Millisecond

// Stat is the part of /proc/PID/stat the bench uses.
type Stat struct {
	PID   int
	Comm  string        // executable name, without the parentheses
	State byte          // R, S, D, Z, ...
	UTime time.Duration // user CPU time of all threads, in ClockTick steps
	STime time.Duration // system CPU time of all threads, in ClockTick steps
	RSS   int64         // resident set size in pages
}

// CPU returns user plus system time.
func (s Stat) CPU() time.Duration { return s.UTime + s.STime }

// ParseStat parses the contents of /proc/PID/stat. The command name may
// contain spaces and parentheses, so it is everything between the first '('
// and the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	open := bytes.IndexByte(b, '(')
	closeP := bytes.LastIndexByte(b, ')')
	if open < 1 || closeP < open {
		return s, errors.New("proc: malformed stat: no (comm)")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("proc: malformed stat pid: %w", err)
	}
	s.PID, s.Comm = pid, string(b[open+1:closeP])
	// Fields after the comm, numbered from 3 (state) as in proc(5).
	f := bytes.Fields(b[closeP+1:])
	const (
		fState = 3
		fUTime = 14
		fSTime = 15
		fRSS   = 24
	)
	if len(f) < fRSS-2 {
		return s, fmt.Errorf("proc: stat has %d fields after comm, want >= %d", len(f), fRSS-2)
	}
	field := func(n int) []byte { return f[n-3] }
	if len(field(fState)) != 1 {
		return s, errors.New("proc: malformed stat state")
	}
	s.State = field(fState)[0]
	num := func(n int) (int64, error) {
		v, err := strconv.ParseInt(string(field(n)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc: stat field %d: %w", n, err)
		}
		return v, nil
	}
	ut, err := num(fUTime)
	if err != nil {
		return s, err
	}
	st, err := num(fSTime)
	if err != nil {
		return s, err
	}
	if s.RSS, err = num(fRSS); err != nil {
		return s, err
	}
	s.UTime, s.STime = time.Duration(ut)*ClockTick, time.Duration(st)*ClockTick
	return s, nil
}

// ReadStat reads and parses /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// Mem is resident memory from /proc/PID/status, in bytes.
type Mem struct {
	RSS int64 // VmRSS: resident now
	HWM int64 // VmHWM: peak resident
}

// ParseStatus extracts VmRSS and VmHWM from the contents of /proc/PID/status.
func ParseStatus(b []byte) (Mem, error) {
	var m Mem
	var gotRSS bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst, gotRSS = &m.RSS, true
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		num, unit, _ := bytes.Cut(bytes.TrimSpace(val), []byte(" "))
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || string(unit) != "kB" {
			return m, fmt.Errorf("proc: bad %s line %q", name, line)
		}
		*dst = v << 10
	}
	if !gotRSS {
		return m, errors.New("proc: no VmRSS in status (kernel thread or zombie?)")
	}
	return m, nil
}

// ReadMem reads /proc/PID/status.
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	return ParseStatus(b)
}
