package load

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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

// Recount checks, without blocking, that every held connection is still
// open and idle (no EOF, no reset, no unexpected bytes from the server), and
// moves those that are not from res.Requests to res.Errors. Call it after
// the server's memory was measured: a server that closed connections held
// fewer than Hold reported.
func (h *Held) Recount(res *Result) {
	var lost int64
	var why error
	for _, c := range h.conns {
		if err := idle(c); err != nil {
			lost++
			why = err
		}
	}
	if lost > 0 {
		res.Requests -= lost
		res.Total -= lost
		res.Errors += lost
		res.Errs = append(res.Errs, fmt.Sprintf("%d held connections no longer idle and open (%v)", lost, why))
	}
}

// idle reports nil when c has nothing to read and is not at EOF or reset.
func idle(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var rerr error
	var b [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return true
	}); err != nil {
		return err
	}
	switch {
	case errors.Is(rerr, unix.EAGAIN):
		return nil
	case rerr != nil:
		return rerr
	case n == 0:
		return io.EOF
	}
	return errors.New("unexpected bytes from the server")
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
		status, bodyOK, err := newRespReader(c).next(cfg.Body)
		if err != nil {
			return fail(fmt.Errorf("read: %w", err))
		}
		if status != 200 {
			return fail(fmt.Errorf("status %d", status))
		}
		if !bodyOK {
			return fail(errBody)
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
