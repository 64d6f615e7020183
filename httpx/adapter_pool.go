package httpx

import (
	"context"
	"sync"
	"time"
)

// pool runs FromHTTP jobs on at most max goroutines, started on demand and stopped after idle
// time without work, or by stop. One per Server (built at Listen), so closing a server stops
// exactly its goroutines. Handlers run with reactor.Loop.Go (parked loops) are counted against
// the same max (admitInline), and stop waits for them too. Safe from any goroutine.
//
// Idle workers wait on their own channel in a LIFO stack: submit hands a job straight to the
// most recently idle worker (its stack and caches are warm), starts a new worker when none is
// idle and the pool is under max, and otherwise queues the job (up to max queued). A worker
// that finishes a job takes the next queued one before going idle.
//
// Idle workers are retired by one timer for the whole pool (reap), not one per worker: a worker
// waits on its channel alone, which costs a plain channel receive per job instead of a select
// over its channel and a timer.
type pool struct {
	max  int
	idle time.Duration

	mu      sync.Mutex    // guards everything below
	free    []*poolWorker // idle workers, most recently idle last (so idle since: ascending)
	queue   []*asyncReq   // jobs waiting for a worker (only when workers == max)
	workers int           // goroutines alive
	inline  int           // handlers started with Loop.Go and not yet returned
	// detached counts handlers that hijacked their connection and have not returned: they no
	// longer count against max (see detach), but stop still waits for them.
	detached int
	stopped  bool          // stop was called: no new jobs or workers
	exited   chan struct{} // closed by the last worker to exit after stop (nil before stop)
	reaper   *time.Timer   // runs reap every idle period while a worker is idle
	reaping  bool          // reaper is armed
	epoch    uint64        // reap calls so far
}

type poolWorker struct {
	job       chan *asyncReq // capacity 1; nil job: exit
	idleEpoch uint64         // pool.epoch when the worker last went idle
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
	if p.workers+p.inline < p.max {
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

// run is a worker goroutine: it runs f, then queued jobs, then waits idle for more, until it
// receives nil (from reap or stop).
func (p *pool) run(w *poolWorker, f *asyncReq) {
	ended := false // by return, not by a handler's runtime.Goexit
	defer func() {
		if !ended {
			if f.detached {
				f.finish()
				p.detachedDone()
			} else {
				p.workerLost() // its place first, as below
				f.finish()
			}
		}
	}()
	for {
		f.run()
		if f.detached { // this goroutine left the pool when its handler hijacked (detach)
			f.finish()
			p.detachedDone()
			ended = true
			return
		}
		// The place is given back (to the next queued job, or as an idle worker) before the
		// response's final delivery goes to the loop (finish): the loop may start the
		// connection's next request as soon as it has it, and must find the place free (it
		// found it taken, and the queue full, when it ran first: a 503 with fewer requests
		// than max running and max queued).
		last := f
		p.mu.Lock()
		if len(p.queue) > 0 && !p.stopped {
			f = p.popLocked()
			p.mu.Unlock()
			last.finish()
			continue
		}
		if p.stopped {
			p.mu.Unlock()
			last.finish()
			p.mu.Lock()
			p.exitLocked()
			p.mu.Unlock()
			ended = true
			return
		}
		w.idleEpoch = p.epoch
		p.free = append(p.free, w)
		if !p.reaping {
			p.reaping = true
			if p.reaper == nil {
				p.reaper = time.AfterFunc(p.idle, p.reap)
			} else {
				p.reaper.Reset(p.idle)
			}
		}
		p.mu.Unlock()
		last.finish()
		// An idle worker keeps nothing of its last job (the deferred func reads f, so the
		// job, its request and response buffers stayed reachable until the next job or
		// the worker's exit, up to two idle periods: a spike's peak, for that long).
		f = nil
		if f = <-w.job; f == nil {
			p.mu.Lock()
			if len(p.queue) > 0 && !p.stopped {
				// Retired by reap, but a job was queued meanwhile: submit found no idle
				// worker and this one still counted against max, so nothing else would
				// start it. It takes the job instead of exiting.
				f = p.popLocked()
				p.mu.Unlock()
				continue
			}
			p.exitLocked()
			p.mu.Unlock()
			ended = true
			return
		}
	}
}

// workerLost accounts for a worker whose handler ended its goroutine (runtime.Goexit): its place
// goes to the queue's first job on a new worker, or it is counted out.
func (p *pool) workerLost() {
	p.mu.Lock()
	if !p.stopped && len(p.queue) > 0 {
		f := p.popLocked()
		p.mu.Unlock()
		go p.run(&poolWorker{job: make(chan *asyncReq, 1)}, f)
		return
	}
	p.exitLocked()
	p.mu.Unlock()
}

// popLocked takes the queue's first job (p.mu held, queue not empty).
func (p *pool) popLocked() *asyncReq {
	f := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	if len(p.queue) == 0 {
		p.queue = p.queue[:0:0]
	}
	return f
}

// reap runs every idle period while a worker is idle: it retires the workers that have been idle
// since before the previous reap, so an idle worker exits between one and two idle periods
// after its last job.
func (p *pool) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		p.reaping = false
		return
	}
	p.epoch++
	n := 0
	for n < len(p.free) && p.free[n].idleEpoch+1 < p.epoch {
		p.free[n].job <- nil // capacity 1, and an idle worker's channel is empty
		n++
	}
	if n > 0 {
		rest := copy(p.free, p.free[n:])
		clear(p.free[rest:])
		p.free = p.free[:rest]
	}
	if len(p.free) > 0 {
		p.reaper.Reset(p.idle)
	} else {
		p.reaping = false
	}
}

// admitInline counts a handler about to run with Loop.Go against max; false if the pool is
// stopped, max handlers run already, or jobs wait in the queue (the request then goes through
// submit, behind them).
func (p *pool) admitInline() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.workers+p.inline >= p.max || len(p.queue) > 0 {
		return false
	}
	p.inline++
	return true
}

// inlineDone accounts for a handler admitted by admitInline having returned. Its place goes to
// the queue's first job, on a new worker (on parked loops there may be no worker to take it).
func (p *pool) inlineDone() {
	p.mu.Lock()
	p.inline--
	p.startQueuedUnlock()
}

// startQueuedUnlock gives a freed place to the queue's first job, on a new worker (on parked
// loops there may be no worker to take it), then unlocks p.mu (held).
func (p *pool) startQueuedUnlock() {
	if !p.stopped && len(p.queue) > 0 && p.workers+p.inline < p.max {
		f := p.popLocked()
		p.workers++
		p.mu.Unlock()
		go p.run(&poolWorker{job: make(chan *asyncReq, 1)}, f)
		return
	}
	p.checkExitedLocked()
	p.mu.Unlock()
}

// exitLocked accounts for a worker leaving (p.mu held).
func (p *pool) exitLocked() {
	p.workers--
	p.checkExitedLocked()
}

// checkExitedLocked closes exited once the pool is stopped and nothing runs (p.mu held).
func (p *pool) checkExitedLocked() {
	if p.stopped && p.workers == 0 && p.inline == 0 && p.detached == 0 {
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
		if p.workers == 0 && p.inline == 0 && p.detached == 0 {
			close(p.exited)
		}
		for _, w := range p.free {
			w.job <- nil
		}
		if p.reaper != nil {
			p.reaper.Stop()
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

// running reports the pool's goroutines plus the handlers started with Loop.Go that have not
// returned (for tests).
func (p *pool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers + p.inline + p.detached
}

// detach takes a handler that hijacked its connection out of the count against max: the
// connection is no longer a request, and a WebSocket session may run for hours inside
// ServeHTTP. Its place goes to the queue's first job. inline: it was admitted by admitInline,
// else it runs on a worker, which leaves the pool (run lets it exit when the handler returns).
func (p *pool) detach(inline bool) {
	p.mu.Lock()
	p.detached++
	if inline {
		p.inline--
	} else {
		p.workers--
	}
	p.startQueuedUnlock()
}

// detachedDone accounts for a detached handler having returned (or ended its goroutine).
func (p *pool) detachedDone() {
	p.mu.Lock()
	p.detached--
	p.checkExitedLocked()
	p.mu.Unlock()
}
