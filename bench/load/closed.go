package load

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

// Phases of a duration-bound run, read by the workers at each batch start.
const (
	phaseWarmup  = 0
	phaseMeasure = 1
	phaseStop    = 2
)

// closedRun is the shared state of one closed-loop run.
type closedRun struct {
	cfg      Config
	phase    atomic.Int32
	left     atomic.Int64 // Requests mode: requests not yet claimed
	measured atomic.Int64 // requests completed in batches started in the window
	total    atomic.Int64 // requests completed in all
	bytes    atomic.Int64
	lat      *hist.Histogram
	errs     errorLog
}

// claim returns how many requests the next batch may send (0: stop) and
// whether they count in the measurement.
func (r *closedRun) claim() (int, bool) {
	if r.cfg.Requests > 0 {
		for {
			left := r.left.Load()
			if left <= 0 {
				return 0, false
			}
			n := min(int64(r.cfg.Depth), left)
			if r.left.CompareAndSwap(left, left-n) {
				return int(n), true
			}
		}
	}
	switch r.phase.Load() {
	case phaseWarmup:
		return r.cfg.Depth, false
	case phaseMeasure:
		return r.cfg.Depth, true
	}
	return 0, false
}

func runClosed(cfg Config, conns []net.Conn) Result {
	r := &closedRun{cfg: cfg, lat: hist.New()}
	r.left.Store(cfg.Requests)
	var wg sync.WaitGroup
	start := func() {
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if cfg.Mode == Echo {
					r.echoWorker(c, int64(i))
				} else {
					r.httpWorker(c)
				}
			}()
		}
	}
	var t0 time.Time
	if cfg.Requests > 0 {
		if cfg.OnMeasureStart != nil {
			cfg.OnMeasureStart()
		}
		t0 = time.Now()
		start()
	} else {
		r.phase.Store(phaseWarmup)
		start()
		time.Sleep(cfg.Warmup)
		if cfg.OnMeasureStart != nil {
			cfg.OnMeasureStart()
		}
		t0 = time.Now()
		r.phase.Store(phaseMeasure)
		time.Sleep(cfg.Duration)
		r.phase.Store(phaseStop)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if cfg.OnMeasureEnd != nil {
		cfg.OnMeasureEnd()
	}
	res := Result{
		Mode: cfg.Mode, Conns: cfg.Conns, Depth: cfg.Depth,
		Requests: r.measured.Load(), Total: r.total.Load(), Errors: r.errs.n.Load(),
		Elapsed: elapsed, Bytes: r.bytes.Load(), Latency: r.lat.Summarize(), Errs: r.errs.list(),
	}
	if cfg.Mode == Echo {
		res.Payload = cfg.Payload
	}
	if elapsed > 0 {
		res.Rate = float64(res.Requests) / elapsed.Seconds()
	}
	return res
}

// httpWorker drives one connection: write n requests at once, read n responses.
// On a failure it counts the batch's unanswered requests as errors and stops
// using the connection (the server under test broke it).
func (r *closedRun) httpWorker(c net.Conn) {
	batch := bytes.Repeat(r.cfg.Request, r.cfg.Depth)
	rr := newRespReader(c)
	for {
		n, measured := r.claim()
		if n == 0 {
			return
		}
		c.SetDeadline(time.Now().Add(r.cfg.Timeout))
		sent := time.Now()
		if _, err := c.Write(batch[:n*len(r.cfg.Request)]); err != nil {
			r.errs.add(fmt.Errorf("write: %w", err), int64(n))
			return
		}
		for i := 0; i < n; i++ {
			status, bodyOK, err := rr.next(r.cfg.Body)
			if err != nil {
				r.errs.add(fmt.Errorf("read: %w", err), int64(n-i))
				return
			}
			if status != 200 {
				r.errs.add(fmt.Errorf("status %d", status), 1)
				continue
			}
			if !bodyOK {
				r.errs.add(errBody, 1)
				continue
			}
			r.total.Add(1)
			if measured {
				r.lat.Record(time.Since(sent))
				r.measured.Add(1)
			}
		}
		if rr.r != rr.w {
			// More bytes than the batch's responses: the server answered
			// something not asked, and they would pass for the next
			// batch's answers.
			r.errs.add(errors.New("unsolicited bytes after the responses of a batch"), 1)
			return
		}
	}
}

// echoWorker drives one echo connection. Each round trip stamps a sequence
// number into the payload, so a server echoing stale bytes fails the checksum.
func (r *closedRun) echoWorker(c net.Conn, id int64) {
	out := make([]byte, r.cfg.Payload)
	in := make([]byte, r.cfg.Payload)
	rand.New(rand.NewSource(id + 1)).Read(out)
	for seq := uint64(0); ; seq++ {
		n, measured := r.claim()
		if n == 0 {
			return
		}
		if len(out) >= 8 {
			binary.LittleEndian.PutUint64(out, seq^uint64(id)<<32)
		}
		want := crc32.ChecksumIEEE(out)
		c.SetDeadline(time.Now().Add(r.cfg.Timeout))
		sent := time.Now()
		if _, err := c.Write(out); err != nil {
			r.errs.add(fmt.Errorf("write: %w", err), 1)
			return
		}
		if _, err := io.ReadFull(c, in); err != nil {
			r.errs.add(fmt.Errorf("read: %w", err), 1)
			return
		}
		if crc32.ChecksumIEEE(in) != want {
			r.errs.add(fmt.Errorf("echo checksum mismatch (%d bytes)", len(in)), 1)
			continue
		}
		r.total.Add(1)
		if measured {
			r.lat.Record(time.Since(sent))
			r.measured.Add(1)
			r.bytes.Add(int64(len(in)))
		}
	}
}
