//go:build linux

package reactor

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/netpoll"
)

// Loop is one event loop, owning a backend (ring or epoll), listeners, conns
// and timers. Its goroutine is locked to its OS thread; a parked loop's is
// not, and may be replaced by a standby goroutine (see Go).
type Loop struct {
	s     *Server        // immutable
	idx   int            // immutable
	waker *netpoll.Waker // immutable; Wake is safe from any goroutine
	// parker is the epoll backend's Parker on parked loops (set once, before
	// the loop serves): wake-ups go through it instead of the eventfd.
	parker atomic.Pointer[netpoll.Parker]

	// Loop only.
	b         backend
	inData    *Conn      // the conn whose OnData is running (see SetHandler)
	switched  bool       // SetHandler ran in that OnData: present shows the new handler the rest
	conns     []connSlot // indexed by slot
	free      []uint32   // free slots
	nconns    int        // slots in use (conns not yet released)
	listeners []*listener
	dirty     []*Conn // conns whose output or close state needs a flush step
	redeliver []*Conn // conns whose kept input is presented again
	timers    timerHeap
	timerSeq  uint64      // arming order of timers (timerHeap.push)
	base      time.Time   // clock origin
	mono      int64       // monotonic nanoseconds since base, read once per iteration
	slowIters [4]iterSpan // the longest recent iterations whose work took 1 ms or more (see tick)
	maxIdle   int64       // the longest idle timeout set on a conn of this loop (SetIdleTimeout)
	workEnd   int64       // when this iteration's work ended, if waitTimeout read it (else 0)
	wall      time.Time   // time.Now() at wallMono (see tick)
	wallMono  int64
	bufPool   [poolClasses][][]byte // free pooled buffers by size class (capacity poolBufSize<<class)
	bufsPool  []*connBufs
	draining  bool // Shutdown: listeners stopped, closing idle conns
	drained   bool
	lastYield int64      // mono at the last yieldPeriod Gosched
	lingers   []lingerFd // fds of released conns not yet safe to close (linger.go)
	lingerT   *Timer     // polls lingers
	lingerBuf []byte     // what lingering fds receive is read into it and dropped
	tornDown  bool       // teardown has begun
	leftDones []leftDone // closed conns whose done callbacks a runtime.Goexit in one cut short (finish): the teardown runs them

	// Loop.Go (parked loops). inline, inlineHead, inlineSeq and nTakeovers
	// belong to the owner goroutine; see runInline for the rest.
	inline      []Task // queued by Go and GoTask, run from inlineHead on
	inlineHead  int
	inlineSeq   uint64
	nTakeovers  int           // standbys that took the loop over
	running     atomic.Uint64 // token of the Go func running on the owner, 0 if none
	armed       atomic.Bool   // a standby was made runnable and has not run yet
	standbys    atomic.Int32  // standbys waiting on standbyCh
	standbyLive atomic.Int32  // standby goroutines alive (the owner excluded)
	standbyCh   chan struct{} // parked loops: wakes a standby (never closed)
	standbyQuit chan struct{} // parked loops: closed at teardown
	quitClosed  bool          // standbyQuit was closed (loop only)

	// Cross-goroutine: the task queue. mu guards tasks and closed; the
	// waker is woken and closed under mu, so a Wake never races its Close.
	mu       sync.Mutex
	tasks    []task
	spare    []task
	closed   bool
	hasTasks atomic.Bool
	unrun    []func() // funcs of a loop that never served (closeQueue, runUnrun)
	// inTask: runTasks is running a task (loop only; see takeWrites).
	inTask bool
	taken  []task // write tasks takeWrites took and has not queued yet

	owner    atomic.Int64  // Server.caller of the loop goroutine, 0 before run
	stopReq  atomic.Bool   // Close: tear down and exit
	drainReq atomic.Bool   // Shutdown: drain
	drainCh  chan struct{} // closed when drained (Shutdown)
	done     chan struct{} // closed when the goroutine exited
}

type connSlot struct {
	gen uint32
	c   *Conn
}

type taskKind uint8

const (
	taskFunc taskKind = iota
	taskWrite
	taskClose
	taskAbort
	taskCloseWrite
	taskTaken // a write task takeWrites ran already: nothing to do
)

type task struct {
	kind taskKind
	c    *Conn
	b    []byte
	done func(error)
	f    func()
	err  error
}

func newLoop(s *Server, idx int) (*Loop, error) {
	w, err := netpoll.NewWaker()
	if err != nil {
		return nil, err
	}
	l := &Loop{s: s, idx: idx, waker: w, drainCh: make(chan struct{}), done: make(chan struct{})}
	l.base = time.Now()
	l.wall = l.base
	return l, nil
}

// onLoop reports whether the caller runs on l's goroutine (see
// Server.caller). For cold paths only.
func (l *Loop) onLoop() bool { return l.owner.Load() == l.s.caller() }

// curGoroutineID parses the calling goroutine's id from the first line of
// its stack trace ("goroutine 123 [running]:"); 0 if that fails.
func curGoroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, ok := bytes.CutPrefix(b, []byte("goroutine "))
	if !ok {
		return 0
	}
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

// Index returns the loop's index in Server.Loops. Safe from any goroutine.
func (l *Loop) Index() int { return l.idx }

// Now returns the loop's clock, read once per iteration. Loop only.
func (l *Loop) Now() time.Time { return l.wall.Add(time.Duration(l.mono - l.wallMono)) }

// Execute runs f on the loop soon. It returns ErrLoopClosed after the loop
// stopped. Safe from any goroutine.
func (l *Loop) Execute(f func()) error {
	if f == nil {
		return errBadOption
	}
	return l.enqueue(task{kind: taskFunc, f: f})
}

func (l *Loop) enqueue(t task) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrLoopClosed
	}
	l.tasks = append(l.tasks, t)
	l.hasTasks.Store(true)
	l.wakeUp()
	l.mu.Unlock()
	return nil
}

// wakeUp makes a waiting loop look at its queue and flags, published before
// the call: through the Parker on parked loops (no syscall, nothing to do if
// the loop is not parked), else the eventfd (coalesced). Called under mu, so
// it never races closeQueue's close of the waker.
func (l *Loop) wakeUp() {
	if p := l.parker.Load(); p != nil {
		p.Wake()
		return
	}
	l.waker.Wake()
}

func (l *Loop) logger() *slog.Logger { return l.s.cfg.logger }

// tick reads the loop's clock, once per iteration.
//
// It reads only the monotonic clock: time.Now reads the wall clock too, a
// second vDSO call per iteration (0.75% of a pipelined server's CPU). Now
// derives the wall time from the monotonic clock and a wall reading taken
// at most wallResync ago, so a step of the system clock shows within that.
func (l *Loop) tick() {
	now := int64(time.Since(l.base))
	// The previous iteration's work ended when waitTimeout read the clock before
	// blocking, or, when it did not (no timer pending, or nothing to wait for),
	// no later than now.
	end := l.workEnd
	if end == 0 || end > now {
		end = now - 1 // not an iteration's start: iterEnd finds no iteration for it
	}
	if span := end - l.mono; span >= int64(time.Millisecond) {
		// Kept in place of the shortest recorded: the long iterations, the ones that
		// matter against an idle timeout, outlive a run of short slow ones.
		// One whose conns' idle timers have all fired (maxIdle after its end) goes first.
		k, kspan := 0, int64(math.MaxInt64)
		for i, it := range l.slowIters {
			sp := it.end - it.mono
			if now-it.end > l.maxIdle {
				sp = -1
			}
			if sp < kspan {
				k, kspan = i, sp
			}
		}
		if span > kspan {
			l.slowIters[k] = iterSpan{mono: l.mono, end: end}
		}
	}
	l.workEnd = 0
	l.mono = now
	if l.mono-l.wallMono >= int64(wallResync) {
		l.wall = time.Now()
		l.wallMono = int64(l.wall.Sub(l.base))
	}
}

// wallResync bounds how long Loop.Now lags a step of the system clock.
const wallResync = 100 * time.Millisecond

// yieldPeriod is how often the loop goroutine passes through the Go
// scheduler. It does not need to for itself: it is locked to its thread and
// blocks only in syscalls. But sysmon counts a goroutine that has not been
// rescheduled for 10 ms (forcePreemptNS) as running too long, and then
// preempts it and retakes its P even from inside a short wait. Each such
// retake resets sysmon's tick from 10 ms to 20 µs, and at 20 µs it retakes
// the P from most blocking waits of a moderately loaded loop (a retake hands
// the P to a spinning thread, which finds nothing and parks again): measured
// at 20k req/s, a quarter of the server's CPU went to sysmon and those
// threads. One Gosched at least every 4 ms keeps sysmon at its 10 ms tick;
// on a locked thread it costs a hand-off to another thread and back, about
// 0.2% of a core at this rate.
const yieldPeriod = 4 * time.Millisecond

// start runs the loop goroutine and waits until it is serving.
func (l *Loop) start() error {
	ready := make(chan error, 1)
	go l.run(ready)
	return <-ready
}

func (l *Loop) run(ready chan<- error) {
	// Locked before the ring exists and never unlocked: a SINGLE_ISSUER /
	// DEFER_TASKRUN ring answers EEXIST to any other thread. When the
	// goroutine exits the thread exits with it. Parked loops are not locked
	// (WithParkedLoops); they run only on epoll.
	if !l.s.cfg.parked {
		runtime.LockOSThread()
	}
	id := l.s.caller()
	l.owner.Store(id)
	if cpus := l.s.cfg.cpus; len(cpus) > 0 && l.s.cfg.parked && l.idx == 0 {
		l.logger().Warn("reactor: CPU affinity ignored: parked loops have no thread of their own")
	} else if len(cpus) > 0 && !l.s.cfg.parked {
		if err := pinThread(cpus[l.idx%len(cpus)]); err != nil {
			l.logger().Warn("reactor: cpu affinity", "loop", l.idx, "err", err)
		}
	}
	b, err := l.s.newBackend(l)
	if err != nil {
		l.closeUnstarted() // its listeners too: Start closes only the loops after it
		close(l.done)
		ready <- err
		l.runUnrun()
		return
	}
	l.b = b
	for _, ln := range l.listeners {
		if err := b.listen(ln); err != nil {
			l.teardown()
			close(l.done)
			ready <- err
			return
		}
	}
	if l.s.cfg.parked {
		l.startStandbys()
	}
	ready <- nil
	l.tick()
	l.lastYield = l.mono
	if !l.serve() {
		// A standby took the loop over while this goroutine ran a Go func.
		l.standbyLive.Add(1)
		l.standby(id, false)
	}
}

// serve runs iterations until the loop stops, then tears it down and
// reports true; or reports false as soon as the calling goroutine lost the
// loop to a standby (see Loop.Go), without touching loop state. Owner only.
func (l *Loop) serve() bool {
	normal, me := false, l.owner.Load()
	defer func() {
		if normal || l.owner.Load() != me {
			return // a Go func's goroutine that lost the loop to a standby (see runInline)
		}
		if r := recover(); r != nil {
			panic(r) // not ours to handle
		}
		// runtime.Goexit in a callback (t.FailNow in a test handler): it cannot be stopped,
		// and ends this goroutine, so the loop ends here: close its conns and listeners and
		// let Close and Shutdown return, instead of leaving them all hanging.
		l.logger().Error("reactor: runtime.Goexit called on the loop, closing it", "loop", l.idx)
		l.endAfterGoexit()
	}()
	for !l.stopReq.Load() {
		if l.mono-l.lastYield >= int64(yieldPeriod) {
			l.lastYield = l.mono
			runtime.Gosched()
		}
		if err := l.b.wait(l.waitTimeout()); err != nil {
			l.logger().Error("reactor: wait failed, closing loop", "loop", l.idx, "err", err)
			l.stopReq.Store(true) // as a Close: no Dial (an OnClose's) during the teardown
			break
		}
		if !l.iterate() {
			normal = true
			return false
		}
		if l.draining && !l.drained && l.nconns == 0 && len(l.lingers) == 0 && l.listenersDone() {
			l.drained = true
			close(l.drainCh)
		}
	}
	// normal is set only after the teardown: a Goexit in a callback the
	// teardown runs (OnClose, an Execute'd func) must still end the loop.
	l.teardown()
	l.waitStandbys()
	normal = true
	close(l.done)
	return true
}

// endAfterGoexit ends the loop after a runtime.Goexit on it: teardown (which
// may be resumed, when a callback it runs calls Goexit again), then l.done.
func (l *Loop) endAfterGoexit() {
	ok := false
	defer func() {
		if !ok {
			if r := recover(); r != nil {
				panic(r)
			}
			l.endAfterGoexit() // another Goexit in a callback the teardown ran
		}
	}()
	l.stopReq.Store(true) // as a Close: what completes during the teardown is closed (accepted)
	l.teardown()
	l.waitStandbys()
	ok = true
	close(l.done)
}

// iterate runs everything after a wait: tasks, timers, kept input, Go funcs,
// flushes. It reports false when the calling goroutine lost the loop.
func (l *Loop) iterate() bool {
	// The backend's wait ticked the clock already.
	// drainReq is read before the task queue: tasks queued before Shutdown
	// was called (sequentially consistent atomics) run before the drain.
	drain := l.drainReq.Load() && !l.draining
	if l.hasTasks.Load() {
		l.runTasks()
	}
	if drain {
		l.startDrain()
	}
	if l.draining {
		l.closeIdle()
	}
	l.runTimers()
	if len(l.redeliver) > 0 {
		l.runRedeliver()
	}
	if len(l.inline) > l.inlineHead && !l.runInline() {
		return false
	}
	l.flush()
	return true
}

// signalled reports whether other goroutines published work for the loop
// (tasks, stop, a drain not started yet): what wakers set before waking it.
// Loop only.
func (l *Loop) signalled() bool {
	return l.hasTasks.Load() || l.stopReq.Load() || l.drainReq.Load() && !l.draining
}

// iterSpan is an iteration's start (its mono) and when its work ended.
type iterSpan struct{ mono, end int64 }

// iterEnd returns when the work of the iteration that started at mono ended,
// if it was one of the last slow ones: activity in it is dated to its start,
// and a slow callback in it may have run long after. Loop only.
func (l *Loop) iterEnd(mono int64) (int64, bool) {
	for _, it := range l.slowIters {
		if it.mono == mono && it.end > mono {
			return it.end, true
		}
	}
	return 0, false
}

// maxWait bounds one wait for a timer.
const maxWait = time.Hour

func (l *Loop) waitTimeout() time.Duration {
	if l.signalled() || len(l.dirty) > 0 || len(l.inline) > l.inlineHead || len(l.redeliver) > 0 {
		return 0
	}
	d := time.Duration(-1)
	if t := l.timers.peek(); t != nil {
		// From the clock now, not l.mono: that was read before this
		// iteration's callbacks ran, and after a slow one the loop would sleep
		// for time that has passed already (the timer would fire late by the
		// iteration's length).
		now := int64(time.Since(l.base))
		l.workEnd = now
		d = time.Duration(t.when - now)
		if d < 0 {
			d = 0
		} else if d > maxWait {
			d = maxWait // a far timer (say, math.MaxInt64): the backends' timeouts stay in range
		}
	}
	if l.draining && (d < 0 || d > 10*time.Millisecond) {
		d = 10 * time.Millisecond // re-check idleness of busy conns
	}
	return d
}

func (l *Loop) runTasks() {
	l.mu.Lock()
	ts := l.tasks
	l.tasks = l.spare[:0]
	l.hasTasks.Store(false)
	l.mu.Unlock()
	i := 0
	defer func() {
		l.inTask = false
		if i < len(ts) { // runtime.Goexit in a task: the loop ends (serve)
			l.requeue(ts[i+1:])
		}
	}()
	for ; i < len(ts); i++ {
		t := &ts[i]
		l.inTask = true
		switch t.kind {
		case taskFunc:
			l.safeCall(t.f)
		case taskWrite:
			l.asyncWrite(t.c, t.b, t.done)
		case taskClose:
			l.closeGraceful(t.c)
		case taskAbort:
			l.finish(t.c, t.err)
		case taskCloseWrite:
			_ = l.closeWrite(t.c)
		}
		*t = task{}
	}
	l.spare = ts[:0]
}

// requeue puts tasks back at the head of the queue: those after a task that
// ended the loop goroutine with runtime.Goexit, for the teardown to run or
// fail (closeQueue).
func (l *Loop) requeue(rest []task) {
	l.mu.Lock()
	l.tasks = append(append([]task(nil), rest...), l.tasks...)
	l.hasTasks.Store(len(l.tasks) > 0)
	l.mu.Unlock()
}

// safeCall runs f, recovering (and logging) a panic.
func (l *Loop) safeCall(f func()) {
	defer func() {
		if r := recover(); r != nil {
			l.logger().Error("reactor: panic in loop func", "loop", l.idx, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	f()
}

// closeQueue refuses further tasks and closes the waker (under mu, so no
// Wake races the close). Tasks still queued fail, except that with run (the
// teardown of a loop that served, on the loop) the funcs that Execute
// accepted run: a goroutine waiting for one would otherwise wait for ever.
func (l *Loop) closeQueue(run bool) {
	l.mu.Lock()
	l.closed = true
	ts := l.tasks
	l.tasks = nil
	l.waker.Close()
	l.mu.Unlock()
	// CloseWithError calls queued for a conn: a write task before one finishes
	// the conn with its error, as runTasks would (the write, then the abort).
	var aborts map[*Conn]error
	if run {
		for _, t := range ts {
			if t.kind == taskAbort {
				if aborts == nil {
					aborts = make(map[*Conn]error)
				}
				if _, ok := aborts[t.c]; !ok {
					aborts[t.c] = t.err
				}
			}
		}
	}
	i, next := 0, 0
	defer func() {
		if i < len(ts) { // runtime.Goexit in a func: endAfterGoexit resumes the teardown
			l.requeue(ts[next:])
		}
	}()
	for ; i < len(ts); i++ {
		t := ts[i]
		next = i + 1
		switch {
		case t.kind == taskWrite && t.done != nil:
			derr := error(ErrClosed)
			if run && t.c.state < stateClosed {
				// The callbacks of what the loop took earlier for this conn run
				// first, as the teardown would run them next. A Goexit in one of
				// them leaves this task to the resumed teardown (c is closed then).
				err := error(ErrServerClosed)
				if e, ok := aborts[t.c]; ok {
					err, derr = e, e // as runTasks: the write is queued, the abort fails it
				}
				next = i
				l.finish(t.c, err)
				next = i + 1
			}
			// As asyncWrite does: its bytes leave the bound, else later
			// AsyncWrites get ErrQueueFull for ever instead of ErrLoopClosed.
			t.c.asyncQueued.Add(-asyncWeight(t.b))
			l.safeCall(func() { t.done(derr) })
		case t.kind == taskWrite:
			t.c.asyncQueued.Add(-asyncWeight(t.b))
		case t.kind == taskAbort && run:
			// CloseWithError came before the teardown: OnClose gets its error,
			// not the ErrServerClosed the teardown closes the other conns with.
			l.finish(t.c, t.err)
		case t.kind == taskFunc && run:
			l.safeCall(t.f)
		case t.kind == taskFunc:
			l.unrun = append(l.unrun, t.f) // a loop that never served: runUnrun
		}
	}
}

// runUnrun runs the funcs Execute accepted for a loop that never served,
// on the caller, once the server is closed (Close without Start, a failed
// Start): Execute returned nil, so they must run.
func (l *Loop) runUnrun() {
	fs := l.unrun
	l.unrun = nil
	for _, f := range fs {
		l.safeCall(f)
	}
}

// Pooled buffers for input kept and output queued, by size class: class k
// holds buffers of capacity poolBufSize<<k. A queue that outgrows its buffer
// takes a bigger one from the pool (growBuf) and gives the old one back, so a
// conn exchanging large messages reuses the same few buffers instead of
// allocating, zeroing and copying on every message. Class k keeps at most
// maxPooled>>(2k) buffers (at least 4): about 33 MiB per loop at most.
const (
	poolBufSize = 16 << 10
	poolClasses = 6 // 16 KiB .. 512 KiB
	maxPooled   = 1024
)

// poolClass returns the smallest class whose buffers hold n bytes, or -1.
func poolClass(n int) int {
	for k := range poolClasses {
		if n <= poolBufSize<<k {
			return k
		}
	}
	return -1
}

func classLimit(k int) int { return max(maxPooled>>(2*k), 4) }

// getBuf returns an empty buffer of capacity poolBufSize.
func (l *Loop) getBuf() []byte { return l.getBufCap(poolBufSize) }

// getBufCap returns an empty buffer with room for at least n bytes.
func (l *Loop) getBufCap(n int) []byte {
	k := poolClass(n)
	if k < 0 {
		return make([]byte, 0, n) // larger than any class: the GC's
	}
	p := l.bufPool[k]
	if m := len(p); m > 0 {
		b := p[m-1]
		p[m-1] = nil
		l.bufPool[k] = p[:m-1]
		return b
	}
	return make([]byte, 0, poolBufSize<<k)
}

// putBuf gives b back to its class; buffers of other capacities, or beyond
// the class's limit, go to the GC.
func (l *Loop) putBuf(b []byte) {
	k := poolClass(cap(b))
	if k < 0 || cap(b) != poolBufSize<<k || len(l.bufPool[k]) >= classLimit(k) {
		return
	}
	l.bufPool[k] = append(l.bufPool[k], b[:0])
}

// growBuf returns b with room for extra more bytes: b itself when it has
// it, else a pooled buffer at least twice b's size holding b's bytes (b goes
// back to the pool).
func (l *Loop) growBuf(b []byte, extra int) []byte {
	if len(b)+extra <= cap(b) {
		return b
	}
	nb := l.getBufCap(max(len(b)+extra, 2*cap(b)))
	nb = append(nb, b...)
	l.putBuf(b)
	return nb
}

// bufsOf returns c.bufs, taking a connBufs from the pool if c has none.
func (l *Loop) bufsOf(c *Conn) *connBufs {
	if q := c.bufs; q != nil {
		return q
	}
	if n := len(l.bufsPool); n > 0 {
		c.bufs = l.bufsPool[n-1]
		l.bufsPool[n-1] = nil
		l.bufsPool = l.bufsPool[:n-1]
	} else {
		c.bufs = new(connBufs)
	}
	return c.bufs
}

// trimBufs gives c.bufs back to the pool once all its buffers are empty
// (nil): no send or single-shot recv is in flight.
func (l *Loop) trimBufs(c *Conn) {
	q := c.bufs
	if q == nil || q.in != nil || q.out != nil || q.sendBuf != nil || q.rbuf != nil || c.sendBusy {
		return
	}
	c.bufs = nil
	q.sendOff = 0
	if len(l.bufsPool) < maxPooled {
		l.bufsPool = append(l.bufsPool, q)
	}
}

// Slot table.

func (l *Loop) allocSlot(c *Conn) {
	var slot uint32
	if n := len(l.free); n > 0 {
		slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		slot = uint32(len(l.conns))
		l.conns = append(l.conns, connSlot{})
	}
	s := &l.conns[slot]
	s.c = c
	c.slot, c.gen = slot, s.gen
	l.nconns++
}

// lookup returns the conn of a token's slot if the generation matches.
func (l *Loop) lookup(slot, gen uint32) *Conn {
	if int(slot) >= len(l.conns) {
		return nil
	}
	s := &l.conns[slot]
	if s.c == nil || s.gen != gen {
		return nil
	}
	return s.c
}

func (l *Loop) freeSlot(c *Conn) {
	s := &l.conns[c.slot]
	s.c = nil
	s.gen = (s.gen + 1) & genMask
	l.free = append(l.free, c.slot)
	l.nconns--
}

// leftDone is a closed conn's done callbacks left by a runtime.Goexit in one
// that its finish ran, and the error they get.
type leftDone struct {
	c   *Conn
	err error
}
