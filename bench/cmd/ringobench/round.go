package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ringo-io/ringo/bench/internal/lgproto"
	"github.com/ringo-io/ringo/bench/proc"
	"github.com/ringo-io/ringo/bench/report"
)

// sample is the server's CPU time, and the machine's per-CPU times, at one
// instant.
type sample struct {
	at   time.Time
	cpu  time.Duration
	cpus map[int]proc.CPUTime // nil if /proc/stat could not be read
	err  error
}

func sampleCPU(pid int) sample {
	st, err := proc.ReadStat(pid)
	cpus, _ := proc.ReadCPUStat()
	return sample{at: time.Now(), cpu: st.CPU(), cpus: cpus, err: err}
}

// runRound starts the server fresh, drives one round of the scenario against
// it and stops it. Failures are returned inside the Round (Err).
func (o options) runRound(sc *scenario, srv *server, round int) report.Round {
	rd := report.Round{Scenario: sc.Key, Server: srv.Key, Round: round, Tool: "loadgen"}
	budget := o.warmup + o.duration + 60*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()

	logPath := filepath.Join(o.logDir, fmt.Sprintf("%s.%s.r%d.log", sc.Key, srv.Key, round))
	r, addr, err := o.startServer(ctx, srv, logPath)
	if err != nil {
		rd.Err = err.Error()
		return rd
	}
	defer r.stop()

	if round == 1 && sc.Group != "echo" && !srv.checked {
		srv.checked = true
		srv.Check = checkHTTP(addr)
	}
	switch {
	case sc.mode == "hold":
		err = o.holdRound(ctx, sc, r, addr, &rd)
	case sc.useWrk && o.wrk != "":
		rd.Tool = "wrk"
		err = o.wrkRound(ctx, sc, r, addr, &rd)
	default:
		err = o.loadRound(ctx, sc, r, addr, &rd)
	}
	if err != nil {
		rd.Err = err.Error()
		select {
		case <-r.exited:
			rd.Err += fmt.Sprintf(" (server exited: %v; log: %s)", r.err, tail(logPath, 300))
		default:
		}
		return rd
	}
	if m, err := proc.ReadMem(r.pid()); err == nil && rd.RSS == 0 {
		rd.RSS = m.RSS
	}
	select {
	case <-r.exited:
		rd.Err = fmt.Sprintf("server exited during the round: %v; log: %s", r.err, tail(logPath, 300))
	default:
	}
	return rd
}

// startServer starts srv on a free loopback port and waits until it
// accepts. A server that fails to bind its port (taken meanwhile) is
// started again on another one, at most three times.
func (o options) startServer(ctx context.Context, srv *server, logPath string) (*running, string, error) {
	for attempt := 1; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, "", err
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, "", err
		}
		args := append([]string{"-addr", addr}, srv.args...)
		r, err := start(o.pinned(ctx, o.serverCPUs, logf, filepath.Join(o.binDir, srv.bin), args...))
		logf.Close() // the child has its own copy
		if err != nil {
			return nil, "", errors.New("start: " + err.Error())
		}
		if err := r.waitPort(addr); err != nil {
			r.stop()
			t := tail(logPath, 300)
			if attempt < 3 && strings.Contains(t, "address already in use") {
				continue
			}
			if t != "" {
				err = fmt.Errorf("%w: %s", err, t)
			}
			return nil, "", err
		}
		return r, addr, nil
	}
}

// figures fills the CPU figures of a round from two server samples.
func (o options) figures(rd *report.Round, s0, s1 sample) error {
	if s0.err != nil {
		return s0.err
	}
	if s1.err != nil {
		return s1.err
	}
	rd.ServerCPU = s1.cpu - s0.cpu
	if wall := s1.at.Sub(s0.at); wall > 0 {
		rd.ServerUtil = rd.ServerCPU.Seconds() / wall.Seconds() / float64(cpuCount(o.serverCPUs))
		// Whatever else kept our CPUs busy (other processes, the
		// hypervisor's steal) competed with the round.
		if s0.cpus != nil && s1.cpus != nil && o.pin {
			busy := func(list string) float64 {
				cpus, _ := parseCPUList(list)
				b := proc.Busy(s0.cpus, s1.cpus, cpus)
				if proc.IRQInTasks() {
					// The servers' and the generator's own times
					// include their irq and softirq work.
					b += proc.IRQ(s0.cpus, s1.cpus, cpus)
				}
				return b.Seconds() / wall.Seconds() / float64(len(cpus))
			}
			rd.OtherServer = max(0, busy(o.serverCPUs)-rd.ServerUtil)
			rd.OtherLoad = max(0, busy(o.loadCPUs)-rd.LoadUtil)
		}
	}
	if rd.Requests > 0 {
		rd.CPUPerReq = float64(rd.ServerCPU.Nanoseconds()) / float64(rd.Requests)
	}
	return nil
}

// loadgen runs bin/loadgen pinned to the load CPUs, calls onStart/onEnd as
// it reports the measurement window, and returns its outcome. Its stdin is
// closed after onEnd returns, which is what lets hold mode finish.
func (o options) loadgen(ctx context.Context, args []string, onStart, onEnd func()) (lgproto.Outcome, error) {
	var out lgproto.Outcome
	cmd := o.pinned(ctx, o.loadCPUs, nil, filepath.Join(o.binDir, "loadgen"), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return out, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return out, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return out, err
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var result string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == lgproto.Start:
			if onStart != nil {
				onStart()
			}
		case line == lgproto.End:
			if onEnd != nil {
				onEnd()
			}
			stdin.Close()
		case strings.HasPrefix(line, lgproto.Result):
			result = strings.TrimPrefix(line, lgproto.Result)
		}
	}
	stdin.Close()
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return out, fmt.Errorf("loadgen: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if result == "" {
		return out, fmt.Errorf("loadgen printed no result: %s", strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal([]byte(result), &out); err != nil {
		return out, fmt.Errorf("loadgen result: %v", err)
	}
	return out, nil
}

func (o options) loadArgs(sc *scenario, addr string) []string {
	a := []string{"-addr", addr, "-mode", sc.mode, "-conns", strconv.Itoa(sc.Conns),
		"-warmup", o.warmup.String(), "-duration", o.duration.String()}
	if sc.Depth > 1 {
		a = append(a, "-depth", strconv.Itoa(sc.Depth))
	}
	if sc.Payload > 0 {
		a = append(a, "-payload", strconv.Itoa(sc.Payload))
	}
	if sc.Rate > 0 {
		a = append(a, "-rate", strconv.FormatFloat(sc.Rate, 'f', -1, 64))
	}
	if sc.mode == "http" {
		a = append(a, "-body", helloBody)
	}
	return a
}

// loadRound is a closed- or open-loop round with the built-in generator.
func (o options) loadRound(ctx context.Context, sc *scenario, r *running, addr string, rd *report.Round) error {
	var s0, s1 sample
	res, err := o.loadgen(ctx, o.loadArgs(sc, addr),
		func() { s0 = sampleCPU(r.pid()) }, func() { s1 = sampleCPU(r.pid()) })
	if err != nil {
		return err
	}
	rd.Requests, rd.Errors, rd.Elapsed, rd.RPS, rd.Bytes = res.Requests, res.Errors, res.Elapsed, res.Rate, res.Bytes
	rd.Latency, rd.Errs = res.Latency, res.Errs
	if res.SendLag != nil {
		rd.SendLagP99 = int64(res.SendLag.P99)
	}
	rd.LoadCPU = res.CPU
	if res.Wall > 0 {
		rd.LoadUtil = res.CPU.Seconds() / res.Wall.Seconds() / float64(cpuCount(o.loadCPUs))
	}
	if res.Requests == 0 {
		return fmt.Errorf("no request completed (%d errors: %s)", res.Errors, strings.Join(res.Errs, "; "))
	}
	return o.figures(rd, s0, s1)
}

// holdRound opens the idle connections and measures the server's RSS growth.
func (o options) holdRound(ctx context.Context, sc *scenario, r *running, addr string, rd *report.Round) error {
	var before, after proc.Mem
	var e0, e1 error
	args := []string{"-addr", addr, "-mode", "hold", "-conns", strconv.Itoa(sc.Conns)}
	if sc.Group == "echo" {
		args = append(args, "-hold-mode", "echo")
	} else {
		args = append(args, "-body", helloBody)
	}
	res, err := o.loadgen(ctx, args,
		func() { before, e0 = proc.ReadMem(r.pid()) },
		func() { time.Sleep(300 * time.Millisecond); after, e1 = proc.ReadMem(r.pid()) })
	if err != nil {
		return err
	}
	if e0 != nil || e1 != nil {
		return fmt.Errorf("reading server memory: %v %v", e0, e1)
	}
	rd.Requests, rd.Errors, rd.Elapsed, rd.Errs = res.Requests, res.Errors, res.Elapsed, res.Errs
	if res.Requests == 0 {
		return fmt.Errorf("no connection held (%d errors: %s)", res.Errors, strings.Join(res.Errs, "; "))
	}
	rd.RSSBefore, rd.RSS = before.RSS, after.RSS
	rd.PerConn = float64(after.RSS-before.RSS) / float64(res.Requests)
	return nil
}
