//go:build linux

package reactor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// soakConnsRSSSlack is what may stay resident after every conn closed:
// each loop's buffer pool keeps up to maxPooled buffers of poolBufSize for
// reuse (16 MiB per loop), plus 16 MiB for the Go heap (a grown conn table,
// freed spans not yet returned).
const soakConnsRSSSlack = 2*maxPooled*poolBufSize + 16<<20

// TestSoakManyConns holds N conns open at once (20,000 under RINGO_SOAK=1,
// 1,000 otherwise; fewer when RLIMIT_NOFILE cannot be raised that far),
// echoes one message on each while all are open, closes them, and checks
// that fds, goroutines and RSS come back to the baseline taken with the
// server running and no conn; then closes the server and checks nothing of
// it remains. The clients run in a child process (this test binary, see
// TestSoakHelperConnsClient), so the server's process holds only server
// sockets and the RSS per conn is the server's.
func TestSoakManyConns(t *testing.T) {
	n := reactortest.N(1000, 20000)
	const reserve = 128 // the server's own fds (listeners, rings, test runtime)
	need := uint64(n + reserve)
	if lim := reactortest.RaiseNoFile(t, need); lim < need {
		n = int(lim) - reserve
		t.Logf("RLIMIT_NOFILE cannot go above %d here (no CAP_SYS_RESOURCE): %d conns", lim, n)
	}
	forEachBackend(t, func(t *testing.T, b Backend) {
		pre := snapshot()
		s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), legBackend(b), WithLoops(2),
			WithLogger(quietLogger()), leakBufRing())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		base := reactortest.Baseline()
		start := time.Now()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSoakHelperConnsClient$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RINGO_SOAK_CLIENT="+s.Addr().String()+","+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer stdin.Close()
		out := bufio.NewReader(stdout)
		expect := func(want string) {
			t.Helper()
			for {
				line, err := out.ReadString('\n')
				if err != nil {
					t.Fatalf("client process: %v before %q\nstderr: %s", err, want, stderr.String())
				}
				if strings.HasPrefix(line, "soak-client: ") {
					line = strings.TrimPrefix(line, "soak-client: ")
					if strings.HasPrefix(line, want) {
						return
					}
					t.Fatalf("client process: %s (want %q)\nstderr: %s", line, want, stderr.String())
				}
			}
		}
		expect("echoed")
		held := time.Since(start)
		if got := s.NumConns(); got != n {
			t.Fatalf("%d conns open after the echoes, want %d", got, n)
		}
		fds := reactortest.CountFDs()
		peak := reactortest.RSS()
		live := reactortest.SettledRSS()
		t.Logf("%s: %d conns held (server fds %d) after %v; server RSS %s at peak, %s live after GC: %d B per conn",
			soakLeg(t), n, fds, held.Round(time.Millisecond), reactortest.MiB(peak), reactortest.MiB(live), (live-base.RSS)/int64(n))
		if fds < base.FDs+n {
			t.Fatalf("server holds %d fds with %d conns open, baseline %d", fds, n, base.FDs)
		}

		io.WriteString(stdin, "close\n")
		expect("closed")
		reactortest.WaitUntil(t, 60*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
		if err := cmd.Wait(); err != nil {
			t.Fatalf("client process: %v\n%s", err, stderr.String())
		}
		reactortest.BackToBase(t, base, soakConnsRSSSlack)
		s.Close()
		checkNoLeaks(t, pre)
	})
}

// TestSoakHelperConnsClient is the client process of TestSoakManyConns (it
// skips unless RINGO_SOAK_CLIENT=addr,n is set): it dials n conns, echoes
// one message on each while all are open, says "echoed", waits for "close"
// on stdin, closes every conn, says "closed" and returns.
func TestSoakHelperConnsClient(t *testing.T) {
	spec := os.Getenv("RINGO_SOAK_CLIENT")
	if spec == "" {
		t.Skip("client process of TestSoakManyConns (RINGO_SOAK_CLIENT unset)")
	}
	fail := func(err error) {
		fmt.Printf("soak-client: error %v\n", err)
		os.Exit(1)
	}
	addr, ns, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(ns)
	if err != nil {
		fail(err)
	}
	const workers = 64
	conns := make([][]net.Conn, workers)
	errs := make(chan error, 2*workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 30 * time.Second}
			for i := w; i < n; i += workers {
				c, err := d.Dial("tcp", addr)
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				conns[w] = append(conns[w], c)
			}
		}()
	}
	wg.Wait()
	// Echo on every conn while all are open.
	echoEachConn(conns, "soak", 60*time.Second, errs)
	select {
	case err := <-errs:
		fail(err)
	default:
	}
	fmt.Printf("soak-client: echoed %d\n", n)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if line != "close\n" {
		fail(fmt.Errorf("parent said %q", line))
	}
	for _, cs := range conns {
		for _, c := range cs {
			c.Close()
		}
	}
	fmt.Printf("soak-client: closed\n")
}
