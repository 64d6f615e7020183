package load

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Held is a set of open, idle keep-alive connections made by Hold.
type Held struct {
	conns []net.Conn
}

// Len returns the number of connections held.
func (h *Held) Len() int { return len(h.conns) }

// Close closes every held connection.
func (h *Held) Close() {
	closeAll(h.conns)
	h.conns = nil
}

// holdParallel is how many connections Hold sets up at once (well below the
// listen backlog of any server).
const holdParallel = 32

// Hold opens cfg.Conns connections, sends one HTTP request on each (or, in
// echo mode, one Payload round trip) and keeps those that answered, open and
// idle. Connections that fail are counted in Result.Errors and not held.
func Hold(cfg Config) (*Held, Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, Result{}, err
	}
	var (
		mu   sync.Mutex // guards held
		held = make([]net.Conn, 0, cfg.Conns)
		errs errorLog
		next = make(chan int)
		wg   sync.WaitGroup
	)
	t0 := time.Now()
	for w := 0; w < min(holdParallel, cfg.Conns); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, err := holdOne(cfg)
				if err != nil {
					errs.add(err, 1)
					continue
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < cfg.Conns; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	res := Result{
		Mode: cfg.Mode, Conns: cfg.Conns, Depth: 1,
		Requests: int64(len(held)), Total: int64(len(held)), Errors: errs.n.Load(),
		Elapsed: time.Since(t0), Errs: errs.list(),
	}
	return &Held{conns: held}, res, nil
}

func holdOne(cfg Config) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", cfg.Addr, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c.SetDeadline(time.Now().Add(cfg.Timeout))
	fail := func(err error) (net.Conn, error) { c.Close(); return nil, err }
	if cfg.Mode == Echo {
		out := make([]byte, cfg.Payload)
		if _, err := c.Write(out); err != nil {
			return fail(fmt.Errorf("write: %w", err))
		}
		if _, err := io.ReadFull(c, out); err != nil {
			return fail(fmt.Errorf("read: %w", err))
		}
	} else {
		if _, err := c.Write(cfg.Request); err != nil {
			return fail(fmt.Errorf("write: %w", err))
		}
		status, err := newRespReader(c).next()
		if err != nil {
			return fail(fmt.Errorf("read: %w", err))
		}
		if status != 200 {
			return fail(fmt.Errorf("status %d", status))
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
