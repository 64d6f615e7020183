package httpx

import (
	"context"
	"sync"
	"time"
)

// reqCtx is the Context of a FromHTTP request: its connection's base context (values, deadline
// and cancellation come from there), cancelled when the client goes away, when the server
// closes, and once the response is complete. It is part of asyncReq, so a request whose handler
// never asks for Done costs no allocation for its Context (context.WithCancel costs two).
//
// It implements AfterFunc, which the context package uses instead of a goroutine to cancel
// contexts derived from it (context.WithTimeout(r.Context(), ...) and the like).
type reqCtx struct {
	parent context.Context
	stop   func() bool // stops the propagation of parent's cancellation, or nil

	mu     sync.Mutex
	done   chan struct{} // made by the first Done, closed by cancel
	err    error
	afters []*ctxAfter // AfterFunc callbacks not yet run or stopped
}

type ctxAfter struct{ f func() }

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// init sets the parent; the parent's own cancellation cancels c.
func (c *reqCtx) init(parent context.Context) {
	c.parent = parent
	if parent.Done() != nil {
		// A parent cancelled already (or now) runs the func at once on its own goroutine,
		// which reads stop in cancel: stop is published under mu.
		stop := context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
		c.mu.Lock()
		c.stop = stop
		c.mu.Unlock()
	}
}

func (c *reqCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *reqCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			c.done = closedDone
		} else {
			c.done = make(chan struct{})
		}
	}
	return c.done
}

func (c *reqCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *reqCtx) String() string { return "httpx.requestContext" }

// AfterFunc arranges for f to run in its own goroutine once c is cancelled (at once if it is
// already); stop unregisters f and reports whether it did so before f was started.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	a := &ctxAfter{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.afters {
			if x == a {
				c.afters = append(c.afters[:i], c.afters[i+1:]...)
				return true
			}
		}
		return false
	}
}

// cancel cancels c with err (context.Canceled when nil); later calls do nothing. Safe from any
// goroutine.
func (c *reqCtx) cancel(err error) {
	if err == nil {
		err = context.Canceled
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedDone
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	stop := c.stop
	c.mu.Unlock()
	for _, a := range afters {
		go a.f()
	}
	if stop != nil {
		stop()
	}
}
