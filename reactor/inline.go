//go:build linux

package reactor

import (
	"runtime"
	"time"
)

// Go runs f on the loop's own goroutine, after this iteration's callbacks and
// before its output is flushed, then runs the func f returns (if not nil) on
// the loop. It is for work that usually finishes at once but may block, such
// as a net/http handler: run in place, it costs no hand-off to another
// goroutine and back.
//
// If f blocks (or is descheduled), a standby goroutine takes the loop over
// and serves it; f finishes off the loop, and its continuation is queued with
// Execute (dropped if the loop has stopped by then). So f is code off the
// loop (onLoop reports false in it): it may use what is safe from any
// goroutine (AsyncWrite, Execute, ...) and may wait for the loop, but must
// not call loop-only methods. A panic in f is recovered and logged; its
// continuation is lost. So is the continuation of an f that ends its
// goroutine with runtime.Goexit; a standby serves the loop on.
//
// How soon the takeover comes: at once when f blocks on a channel, a lock,
// the network or a timer, unless f made another goroutine runnable first
// (that one runs before the standby); after sysmon retakes the P (20 µs to
// 10 ms) when f blocks in a syscall; after Go's preemption (10 ms) when f
// computes. With more than one P an idle one may run the standby while f
// runs: f then finishes off the loop although it never blocked.
//
// Only parked loops (WithParkedLoops) can be taken over; on a loop locked to
// its thread, or once the loop's teardown has begun, Go does nothing and
// reports false: run f elsewhere. Funcs still queued when the loop stops are
// started on goroutines of their own and their continuations dropped. Loop
// only.
func (l *Loop) Go(f func() (then func())) bool {
	if f == nil {
		return false
	}
	return l.GoTask(&funcTask{f: f})
}

// GoTask is Go for a Task: t.Run in place of f, t.Done in place of the func
// it returns, when Run reports true. Loop only.
func (l *Loop) GoTask(t Task) bool {
	if !l.s.cfg.parked || t == nil || l.tornDown {
		return false
	}
	l.inline = append(l.inline, t)
	return true
}

// inlineChain bounds the Go funcs that continuations queue and runInline runs in
// the same iteration.
const inlineChain = 64

// funcTask is Go's func as a Task.
type funcTask struct {
	f    func() func()
	then func()
}

func (t *funcTask) Run() bool {
	t.then = t.f()
	return t.then != nil
}

func (t *funcTask) Done() { t.then() }

// maxIdleStandbys bounds the standby goroutines of a loop waiting at once: a
// goroutine that lost the loop to a standby becomes one, and exits when
// enough are waiting already. A parked loop starts with one.
const maxIdleStandbys = 1

// startStandbys makes the standby channels and the first standby (parked
// loops, before serving).
func (l *Loop) startStandbys() {
	l.standbyCh = make(chan struct{})
	l.standbyQuit = make(chan struct{})
	l.standbyLive.Add(1)
	go l.standby(0, false)
}

// How a takeover works. runInline publishes a token (running) while f runs on
// the owner goroutine and makes sure a standby goroutine is runnable (armed).
// A standby made runnable by the running goroutine goes to its P's runnext
// slot, so it runs as soon as f blocks or yields (or earlier on another P).
// It clears armed, then claims the token with a CAS: if that succeeds it owns
// the loop (its goroutine id becomes the owner) and serves it; the goroutine
// in f finds the token gone when f returns and leaves the loop state alone.
// If the token is 0, f is not running (the owner parked normally): the
// standby waits again. Ordering: the standby clears armed before it reads the
// token, and runInline stores the token before it reads armed, so either the
// standby sees the token or runInline sees armed clear and arms another
// (sync/atomic is sequentially consistent). The loop state written by the
// old owner before its token store is visible to the goroutine whose CAS
// read that token.

// runInline runs the funcs queued by Go. It reports false when the calling
// goroutine lost the loop to a standby: it must then return without touching
// loop state. Loop only.
func (l *Loop) runInline() bool {
	// The funcs queued before this call, and at most inlineChain more that
	// their continuations queue (a pipelined request's handler, started by the
	// previous one's delivery): the rest wait for the next iteration, after a
	// poll, as a chain of Execute funcs or timers does. Unbounded, a chain of
	// Go funcs that never block kept the loop from its sockets, timers and
	// Close for as long as it ran.
	end := len(l.inline) + inlineChain
	for l.inlineHead < len(l.inline) && l.inlineHead < end {
		t := l.inline[l.inlineHead]
		l.inline[l.inlineHead] = nil
		l.inlineHead++
		l.inlineSeq++
		tok := l.inlineSeq
		// f is code off the loop even while it runs here: onLoop is false in it
		// (Shutdown, Close and Dial see a caller that is not the loop, before and
		// after a takeover alike).
		owner := l.owner.Swap(0)
		l.running.Store(tok)
		if !l.armed.Load() && l.running.Load() == tok {
			l.arm()
		}
		var then bool
		l.safeCall(func() { then = t.Run() })
		if !l.running.CompareAndSwap(tok, 0) {
			if then {
				_ = l.Execute(t.Done)
			}
			return false
		}
		l.owner.Store(owner)
		if then {
			// What f queued for the loop (AsyncWrite, Execute) comes before its
			// continuation, as when f was taken over (the continuation is then
			// queued behind it): with tasks pending, it waits its turn.
			if !l.hasTasks.Load() || l.Execute(t.Done) != nil {
				l.safeCall(t.Done)
			}
		}
	}
	n := copy(l.inline, l.inline[l.inlineHead:])
	clear(l.inline[n:])
	l.inline, l.inlineHead = l.inline[:n], 0
	return true
}

// arm makes a standby goroutine runnable: a waiting one, else a new one.
// standbyCh is never closed (standbys stop on standbyQuit), since a goroutine
// that lost the loop between its token store and this call may still arm.
func (l *Loop) arm() {
	l.armed.Store(true)
	select {
	case l.standbyCh <- struct{}{}:
	default:
		l.standbyLive.Add(1)
		go l.standby(0, true)
	}
}

// standby waits to take the loop over from a Go func that blocked (see
// runInline), serves it, and waits again if it loses the loop the same way.
// id is the calling goroutine's id (0: not known yet); armed: it was started
// by arm (it checks at once instead of waiting first). The caller counted it
// in standbyLive. It exits when the loop stops or enough standbys are
// waiting.
func (l *Loop) standby(id int64, armed bool) {
	// counted: this goroutine is in standbyLive now. Not while it serves the loop, so a Go
	// func that ends its goroutine (runtime.Goexit) while running on it leaves the count right.
	counted := true
	defer func() {
		if counted {
			l.standbyLive.Add(-1)
		}
	}()
	for {
		if !armed {
			if l.standbys.Add(1) > maxIdleStandbys {
				l.standbys.Add(-1)
				return
			}
			select {
			case <-l.standbyCh:
				l.standbys.Add(-1)
			case <-l.standbyQuit:
				l.standbys.Add(-1)
				return
			}
		}
		armed = false
		l.armed.Store(false)
		tok := l.running.Load()
		if tok == 0 || !l.running.CompareAndSwap(tok, 0) {
			continue
		}
		if id == 0 {
			id = curGoroutineID()
		}
		l.owner.Store(id)
		l.nTakeovers++
		l.standbyLive.Add(-1) // the owner is not a standby
		counted = false
		done := l.serve()
		l.standbyLive.Add(1)
		counted = true
		if done {
			return
		}
	}
}

// waitStandbys waits (at most a second) until the standbys, woken by the
// close of standbyQuit, have exited, so that a closed loop leaves no
// goroutine behind. Goroutines still running a Go func are not standbys.
// Owner only, after teardown.
func (l *Loop) waitStandbys() {
	deadline := time.Now().Add(time.Second)
	for l.standbyLive.Load() > 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

// dropInline starts the funcs still queued by Go on goroutines of their own
// when the loop stops; their continuations are dropped. Loop only.
func (l *Loop) dropInline() {
	for _, t := range l.inline[l.inlineHead:] {
		go l.safeCall(func() { t.Run() })
	}
	clear(l.inline)
	l.inline, l.inlineHead = nil, 0
	if l.standbyQuit != nil && !l.quitClosed { // a teardown resumed after a Goexit
		l.quitClosed = true
		close(l.standbyQuit)
	}
}
