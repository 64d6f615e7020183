package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ringo-io/ringo/bench/report"
)

// wrkVersion returns wrk's version line, or "" when wrk is not on PATH.
func wrkVersion() (path, version string) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", ""
	}
	out, _ := exec.Command(p, "-v").CombinedOutput()
	return p, firstLines(string(out), 1)
}

// wrkRound warms the server up with the built-in generator, then measures
// with wrk (whose -d takes whole seconds, so the window is rounded up).
func (o options) wrkRound(ctx context.Context, sc *scenario, r *running, addr string, rd *report.Round) error {
	if o.warmup > 0 {
		warm := []string{"-addr", addr, "-mode", "http", "-conns", strconv.Itoa(sc.Conns), "-warmup", "0s", "-duration", o.warmup.String()}
		if _, err := o.loadgen(ctx, warm, nil, nil); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	secs := int(math.Ceil(o.duration.Seconds()))
	threads := min(cpuCount(o.loadCPUs), sc.Conns)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(sc.Conns), "-d", fmt.Sprintf("%ds", secs), "--latency", "http://" + addr + "/"}
	cmd := o.pinned(ctx, o.loadCPUs, nil, o.wrk, args...)
	s0 := sampleCPU(r.pid())
	out, err := cmd.Output()
	s1 := sampleCPU(r.pid())
	if err != nil {
		return fmt.Errorf("wrk: %v: %s", err, firstLines(string(out), 3))
	}
	w, err := parseWrk(string(out))
	if err != nil {
		return err
	}
	// wrk counts every response, error statuses included, in its totals;
	// only the good ones are requests served.
	good := w.requests - w.badStatus
	rd.Requests, rd.Errors, rd.Elapsed, rd.RPS = good, w.errors, w.elapsed, w.rps
	if w.requests > 0 {
		rd.RPS = w.rps * float64(good) / float64(w.requests)
	}
	if w.badStatus > 0 {
		rd.Errs = append(rd.Errs, fmt.Sprintf("%d responses with status >= 400", w.badStatus))
	}
	rd.Latency.Count, rd.Latency.P50, rd.Latency.P90, rd.Latency.P99 = uint64(w.requests), w.p50, w.p90, w.p99
	if st := cmd.ProcessState; st != nil {
		rd.LoadCPU = st.UserTime() + st.SystemTime()
		if wall := s1.at.Sub(s0.at); wall > 0 {
			rd.LoadUtil = rd.LoadCPU.Seconds() / wall.Seconds() / float64(cpuCount(o.loadCPUs))
		}
	}
	if rd.Requests == 0 {
		return errors.New("wrk completed no request")
	}
	if err := o.figures(rd, s0, s1); err != nil {
		return err
	}
	return nil
}

// wrkResult is what the bench takes from wrk's output.
type wrkResult struct {
	requests      int64
	elapsed       time.Duration
	rps           float64
	errors        int64 // socket errors plus non-2xx/3xx responses
	badStatus     int64 // non-2xx/3xx responses (also in requests and errors)
	p50, p90, p99 time.Duration
}

// parseWrk reads wrk 4's text output ("N requests in 5.00s, ...",
// "Requests/sec:", "Socket errors:", "Non-2xx or 3xx responses:", and the
// "--latency" distribution).
func parseWrk(out string) (wrkResult, error) {
	var w wrkResult
	var gotReq, gotRate bool
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return w, fmt.Errorf("wrk: bad request count %q", line)
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return w, err
			}
			w.requests, w.elapsed, gotReq = n, d, true
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return w, fmt.Errorf("wrk: bad rate %q", line)
			}
			w.rps, gotRate = v, true
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return w, fmt.Errorf("wrk: bad socket errors %q", line)
				}
				w.errors += n
			}
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				return w, fmt.Errorf("wrk: bad non-2xx count %q", line)
			}
			w.errors += n
			w.badStatus += n
		case len(f) == 2 && (f[0] == "50%" || f[0] == "90%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return w, err
			}
			switch f[0] {
			case "50%":
				w.p50 = d
			case "90%":
				w.p90 = d
			case "99%":
				w.p99 = d
			}
		}
	}
	if !gotReq || !gotRate {
		return w, fmt.Errorf("wrk: output without totals: %s", firstLines(out, 3))
	}
	return w, nil
}

// parseWrkDuration parses wrk's durations: 1.23us, 4.56ms, 1.00s, 2.00m, 1.00h.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				break
			}
			return time.Duration(f * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("wrk: bad duration %q", s)
}
