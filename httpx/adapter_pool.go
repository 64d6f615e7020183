package httpx

import (
	"context"
	"sync"
	"time"
)

// pool runs FromHTTP jobs on at most max goroutines, started on demand and stopped after idle
// time without work, or by stop. One per Server (built at Listen), so closing a server stops
// exactly its goroutines. Safe from any goroutine.
//
// Idle workers wait on their own channel in a LIFO stack: submit hands a job straight to the
// most recently idle worker (its stack and caches are warm), starts a new worker when none is
// idle and the pool is under max, and otherwise queues the job (up to max queued). A worker
// that finishes a job takes the next queued one before going idle.
type pool struct {
	max  int
	idle time.Duration

	mu      sync.Mutex    // guards everything below
	free    []*poolWorker // idle workers, most recently idle last
	queue   []*asyncReq   // jobs waiting for a worker (only when workers == max)
	workers int           // goroutines alive
	stopped bool          // stop was called: no new jobs or workers
	exited  chan struct{} // closed by the last worker to exit after stop (nil before stop)
}

type poolWorker struct {
	job chan *asyncReq // capacity 1; nil job: exit
}

func newPool(max int, idle time.Duration) *pool {
	return &pool{max: max, idle: idle}
}

// submit runs f.run on a worker; false if the pool is stopped or max jobs are already queued.
func (p *pool) submit(f *asyncReq) bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	if n := len(p.free); n > 0 {
		w := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		w.job <- f // capacity 1 and the worker is idle: never blocks
		return true
	}
	if p.workers < p.max {
		p.workers++
		p.mu.Unlock()
		w := &poolWorker{job: make(chan *asyncReq, 1)}
		go p.run(w, f)
		return true
	}
	if len(p.queue) >= p.max {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	return true
}

// run is a worker goroutine: it runs f, then queued jobs, then waits idle for more. Its idle
// timer is not reset per job (that costs a timer update per request): when it fires, a worker
// that ran a job since the previous firing re-arms it; one that did not retires. So an idle
// worker exits between one and two idle timeouts after its last job.
func (p *pool) run(w *poolWorker, f *asyncReq) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		f.run()
		used := true
		p.mu.Lock()
		if len(p.queue) > 0 && !p.stopped {
			f = p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			if len(p.queue) == 0 {
				p.queue = p.queue[:0:0]
			}
			p.mu.Unlock()
			continue
		}
		if p.stopped {
			p.exitLocked()
			p.mu.Unlock()
			return
		}
		p.free = append(p.free, w)
		p.mu.Unlock()
		for f = nil; f == nil; {
			select {
			case f = <-w.job:
				if f == nil { // from stop
					p.mu.Lock()
					p.exitLocked()
					p.mu.Unlock()
					return
				}
			case <-t.C:
				if used {
					used = false
					t.Reset(p.idle)
					continue
				}
				if f = p.retire(w); f == nil {
					return
				}
				t.Reset(p.idle)
			}
		}
	}
}

// retire removes an idle worker whose timer fired; it returns a job if one was handed to it
// meanwhile (then the worker keeps going), else nil (the worker has exited the pool).
func (p *pool) retire(w *poolWorker) *asyncReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, fw := range p.free {
		if fw == w {
			copy(p.free[i:], p.free[i+1:])
			p.free[len(p.free)-1] = nil
			p.free = p.free[:len(p.free)-1]
			p.exitLocked()
			return nil
		}
	}
	// Not in the stack: submit popped it and its job is in the channel (or stop sent nil).
	f := <-w.job
	if f == nil {
		p.exitLocked()
	}
	return f
}

// exitLocked accounts for a worker leaving (p.mu held).
func (p *pool) exitLocked() {
	p.workers--
	if p.stopped && p.workers == 0 {
		close(p.exited)
	}
}

// stop refuses further jobs, drops queued ones (their connections are closed), tells idle
// workers to exit, and waits until every worker has exited or ctx is done. Workers running a
// handler exit when it returns. It reports whether all workers exited. Safe from any
// goroutine; repeated calls wait again.
func (p *pool) stop(ctx context.Context) bool {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		p.exited = make(chan struct{})
		if p.workers == 0 {
			close(p.exited)
		}
		for _, w := range p.free {
			// A popped-but-not-yet-timed-out worker reads this in retire or in run.
			w.job <- nil
		}
		// The idle workers exit as they read nil; they are no longer counted as free.
		p.free = nil
		p.queue = nil
	}
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return true
	case <-ctx.Done():
		return false
	}
}

// running reports the pool's goroutines (for tests).
func (p *pool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}
