package load

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

// maxOutstanding bounds the requests one connection may have in flight in
// open loop; a sender that reaches it waits (the server is hopelessly behind,
// and the wait still shows in latency, which is measured from intended times).
const maxOutstanding = 1 << 14

// openRun is the shared state of one open-loop run. Times are nanoseconds
// since t0 on the monotonic clock.
type openRun struct {
	cfg        Config
	t0         time.Time
	winStart   int64 // measurement window [winStart, winEnd)
	winEnd     int64
	lat, lag   *hist.Histogram
	measured   atomic.Int64 // answered requests intended in the window
	inWindow   atomic.Int64 // requests intended in the window and answered within it
	total      atomic.Int64
	errs       errorLog
	stopReader chan struct{} // closed when readers must give up on missing responses
}

func (r *openRun) now() int64 { return int64(time.Since(r.t0)) }

// runOpen sends at fixed intended times: connection i sends its k-th request
// at t0 + i*gap/Conns + k*gap, gap = Conns/Rate, so the whole run is a
// uniform stream of Rate requests per second. Only requests whose intended
// time lies in the window are counted.
func runOpen(cfg Config, conns []net.Conn) Result {
	r := &openRun{cfg: cfg, lat: hist.New(), lag: hist.New(), stopReader: make(chan struct{})}
	gap := time.Duration(float64(cfg.Conns) / cfg.Rate * 1e9)
	if gap <= 0 {
		gap = 1
	}
	r.winStart = int64(cfg.Warmup)
	r.winEnd = r.winStart + int64(cfg.Duration)
	r.t0 = time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		times := make(chan int64, maxOutstanding)
		offset := int64(gap) * int64(i) / int64(len(conns))
		wg.Add(2)
		go func() { defer wg.Done(); r.sender(c, offset, int64(gap), times) }()
		go func() { defer wg.Done(); r.reader(c, times) }()
	}
	// Window bookkeeping for the caller's CPU samples.
	time.Sleep(time.Until(r.t0.Add(time.Duration(r.winStart))))
	if cfg.OnMeasureStart != nil {
		cfg.OnMeasureStart()
	}
	time.Sleep(time.Until(r.t0.Add(time.Duration(r.winEnd))))
	// Give late responses a bounded time, then unblock readers.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.Timeout):
		close(r.stopReader)
		for _, c := range conns {
			c.SetReadDeadline(time.Now())
		}
		<-done
	}
	if cfg.OnMeasureEnd != nil {
		cfg.OnMeasureEnd()
	}
	lag := r.lag.Summarize()
	res := Result{
		Mode: cfg.Mode, Conns: cfg.Conns, Depth: 1, TargetRate: cfg.Rate,
		Requests: r.measured.Load(), Total: r.total.Load(), Errors: r.errs.n.Load(),
		Elapsed: cfg.Duration, Latency: r.lat.Summarize(), SendLag: &lag, Errs: r.errs.list(),
	}
	// Achieved rate: what the server answered within the window, which
	// falls short of Rate when it cannot keep up (Requests still counts
	// every request due in the window that was eventually answered).
	res.Rate = float64(r.inWindow.Load()) / cfg.Duration.Seconds()
	return res
}

func (r *openRun) sender(c net.Conn, offset, gap int64, times chan<- int64) {
	defer close(times)
	p := newPacer()
	defer p.close()
	for due := offset; due < r.winEnd; due += gap {
		p.sleep(time.Duration(due - r.now()))
		sent := r.now()
		if due >= r.winStart {
			r.lag.Record(time.Duration(sent - due))
		}
		times <- due
		c.SetWriteDeadline(time.Now().Add(r.cfg.Timeout))
		if _, err := c.Write(r.cfg.Request); err != nil {
			// The reader counts this request (queued above) as failed;
			// every later one due on this connection is failed too, or
			// a server that drops connections would shed its load
			// uncharged.
			var left int64
			for d := due + gap; d < r.winEnd; d += gap {
				left++
			}
			r.errs.add(fmt.Errorf("write: %w", err), left)
			return
		}
	}
}

func (r *openRun) reader(c net.Conn, times <-chan int64) {
	rr := newRespReader(c)
	broken := false
	for due := range times {
		if broken {
			r.errs.n.Add(1) // sent (or about to be) but never answered
			continue
		}
		c.SetReadDeadline(time.Now().Add(r.cfg.Timeout + time.Duration(max(0, due-r.now()))))
		status, bodyOK, err := rr.next(r.cfg.Body)
		if err != nil {
			select {
			case <-r.stopReader:
				err = fmt.Errorf("no response within %v after the run", r.cfg.Timeout)
			default:
			}
			r.errs.add(fmt.Errorf("read: %w", err), 1)
			broken = true
			continue
		}
		if status != 200 {
			r.errs.add(fmt.Errorf("status %d", status), 1)
			continue
		}
		if !bodyOK {
			r.errs.add(errBody, 1)
			continue
		}
		done := r.now()
		r.total.Add(1)
		if due >= r.winStart && done < r.winEnd {
			r.inWindow.Add(1)
		}
		if due >= r.winStart && due < r.winEnd {
			r.lat.Record(time.Duration(done - due))
			r.measured.Add(1)
		}
	}
}
