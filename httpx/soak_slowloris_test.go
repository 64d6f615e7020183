package httpx

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// soakOK serves /ok/... paths with the path as the body.
func soakOK(c *Ctx) {
	c.SetContentType("text/plain")
	c.Write(c.Path())
}

// TestSoakSlowloris: attackers (5,000 under RINGO_SOAK=1, 200 otherwise)
// each trickle a request head, one byte a second, that would take far
// longer than ReadHeaderTimeout to complete. Meanwhile normal keep-alive
// clients must all be answered, each request within its 5 s deadline (the
// normal clients' p99 with and without the attack is logged: speed is
// not asserted). Every attacker must be closed by the server without a
// byte of response, no earlier than the header timeout after its first
// byte and (a generous bound) less than 30 s after it.
func TestSoakSlowloris(t *testing.T) {
	attackers := reactortest.N(200, 5000)
	hdrTimeout := reactortest.N(2*time.Second, 6*time.Second)
	normalClients, normalReqs := 8, reactortest.N(100, 500)
	const reqDeadline = 5 * time.Second
	reactortest.RaiseNoFile(t, uint64(2*attackers+4*normalClients+512))
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(soakOK), ReadHeaderTimeout: hdrTimeout}
		addr := startServer(t, b, s)
		base := reactortest.Baseline()

		// Batches of normal load without attack, for about as long as the
		// attacked ones below.
		var calm []time.Duration
		for calmStart := time.Now(); len(calm) == 0 || time.Since(calmStart) < hdrTimeout/2; {
			lat, err := normalLoad(addr, normalClients, normalReqs, reqDeadline)
			if err != nil {
				t.Fatal(err)
			}
			calm = append(calm, lat...)
		}

		// The attack: dial everyone, send the first byte, then one byte a
		// second to every attacker still open.
		head := []byte("GET /slow HTTP/1.1\r\nHost: soak\r\nX-Slowloris: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
		type attacker struct {
			c      net.Conn
			first  time.Time     // first byte written
			closed time.Duration // from first byte to the server's close
			got    int           // response bytes received (must stay 0)
			err    error         // how the read ended
			gone   atomic.Bool
		}
		as := make([]*attacker, attackers)
		var readers sync.WaitGroup
		dialStart := time.Now()
		for i := range as {
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				t.Fatalf("attacker %d: %v", i, err)
			}
			defer c.Close()
			a := &attacker{c: c, first: time.Now()}
			if _, err := c.Write(head[:1]); err != nil {
				t.Fatalf("attacker %d first byte: %v", i, err)
			}
			as[i] = a
			readers.Add(1)
			go func() {
				defer readers.Done()
				c.SetReadDeadline(time.Now().Add(hdrTimeout + 60*time.Second))
				n, err := io.Copy(io.Discard, c)
				a.closed = time.Since(a.first)
				a.got, a.err = int(n), err
				a.gone.Store(true)
			}()
		}
		dialed := time.Since(dialStart)
		stopDrip := make(chan struct{})
		dripped := make(chan struct{})
		go func() {
			defer close(dripped)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for pos := 1; pos < len(head); pos++ {
				select {
				case <-stopDrip:
					return
				case <-tick.C:
				}
				for _, a := range as {
					if !a.gone.Load() {
						a.c.Write(head[pos : pos+1])
					}
				}
			}
		}()
		// Normal clients while every attacker is connected and trickling.
		// Batches of normal load for half the attack window (at least one),
		// so it overlaps the drip.
		var attacked []time.Duration
		for len(attacked) == 0 || time.Since(dialStart) < hdrTimeout/2 {
			lat, err := normalLoad(addr, normalClients, normalReqs, reqDeadline)
			if err != nil {
				t.Fatal(err)
			}
			attacked = append(attacked, lat...)
		}
		attackedAt := time.Since(dialStart)
		readers.Wait()
		close(stopDrip)
		<-dripped

		var early, late, answered int
		var minClose, maxClose time.Duration
		for i, a := range as {
			if a.got > 0 {
				answered++
			}
			if a.err != nil && !errors.Is(a.err, net.ErrClosed) && !soakIsReset(a.err) {
				t.Errorf("attacker %d: read ended with %v after %v (want EOF or reset from the server)", i, a.err, a.closed)
			}
			// The server's timer starts when the loop sees the first byte,
			// after it was written, from the loop's clock, read once per
			// iteration: allow for one long iteration over 200 attackers
			// under -race on a busy machine.
			if a.closed < hdrTimeout-200*time.Millisecond {
				early++
			}
			if a.closed > hdrTimeout+30*time.Second {
				late++
			}
			if i == 0 || a.closed < minClose {
				minClose = a.closed
			}
			maxClose = max(maxClose, a.closed)
		}
		t.Logf("%s: %d slowloris conns (dialed in %v, normal load done %v after the first dial), header timeout %v: closed %v..%v after their first byte",
			b, attackers, dialed.Round(time.Millisecond), attackedAt.Round(time.Millisecond), hdrTimeout, minClose.Round(time.Millisecond), maxClose.Round(time.Millisecond))
		t.Logf("%s: normal clients without attack: %s", b, soakLatencies(calm))
		t.Logf("%s: normal clients under attack:   %s", b, soakLatencies(attacked))
		if answered > 0 {
			t.Errorf("%d slowloris conns got response bytes", answered)
		}
		if early > 0 {
			t.Errorf("%d slowloris conns closed before the header timeout", early)
		}
		if late > 0 {
			t.Errorf("%d slowloris conns still open 30 s after the header timeout", late)
		}
		if attackedAt > hdrTimeout {
			t.Logf("note: the normal load outlasted the first header timeouts (%v > %v): part of it ran after the attack was cut", attackedAt, hdrTimeout)
		}
		for _, a := range as {
			a.c.Close()
		}
		reactortest.WaitUntil(t, 30*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
		reactortest.BackToBase(t, base, soakRSSSlack)
	})
}

// soakIsReset reports a connection reset by the peer.
func soakIsReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
