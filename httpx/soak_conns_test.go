package httpx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestSoakManyConnsHTTP holds N keep-alive connections open at once
// (20,000 under RINGO_SOAK=1, 1,000 otherwise; fewer when RLIMIT_NOFILE
// cannot be raised that far), sends one request on each while all are
// open, checks every answer, closes them, and checks that fds, goroutines
// and RSS come back to the baseline taken with the server running and no
// conn. The clients run in a child process (this test binary, see
// TestSoakHelperHTTPClient), so RSS per conn is the server's.
func TestSoakManyConnsHTTP(t *testing.T) {
	n := reactortest.N(1000, 20000)
	const reserve = 128
	need := uint64(n + reserve)
	if lim := reactortest.RaiseNoFile(t, need); lim < need {
		n = int(lim) - reserve
		t.Logf("RLIMIT_NOFILE cannot go above %d here (no CAP_SYS_RESOURCE): %d conns", lim, n)
	}
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(soakOK)}
		addr := startServer(t, b, s)
		base := reactortest.Baseline()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSoakHelperHTTPClient$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RINGO_SOAK_HTTP_CLIENT="+addr+","+strconv.Itoa(n))
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
				if rest, ok := strings.CutPrefix(line, "soak-client: "); ok {
					if strings.HasPrefix(rest, want) {
						return
					}
					t.Fatalf("client process: %s (want %q)\nstderr: %s", rest, want, stderr.String())
				}
			}
		}
		expect("answered")
		held := time.Since(start)
		if got := s.NumConns(); got != n {
			t.Fatalf("%d conns open after the requests, want %d", got, n)
		}
		fds := reactortest.CountFDs()
		peak := reactortest.RSS()
		live := reactortest.SettledRSS()
		t.Logf("%s: %d HTTP conns held (server fds %d) after %v; server RSS %s at peak, %s live after GC: %d B per conn",
			b, n, fds, held.Round(time.Millisecond), reactortest.MiB(peak), reactortest.MiB(live), (live-base.RSS)/int64(n))
		if fds < base.FDs+n {
			t.Fatalf("server holds %d fds with %d conns open, baseline %d", fds, n, base.FDs)
		}
		io.WriteString(stdin, "close\n")
		expect("closed")
		if err := cmd.Wait(); err != nil {
			t.Fatalf("client process: %v\n%s", err, stderr.String())
		}
		reactortest.WaitUntil(t, 60*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
		reactortest.BackToBase(t, base, soakRSSSlack)
	})
}

// TestSoakHelperHTTPClient is the client process of TestSoakManyConnsHTTP
// (it skips unless RINGO_SOAK_HTTP_CLIENT=addr,n is set).
func TestSoakHelperHTTPClient(t *testing.T) {
	spec := os.Getenv("RINGO_SOAK_HTTP_CLIENT")
	if spec == "" {
		t.Skip("client process of TestSoakManyConnsHTTP (RINGO_SOAK_HTTP_CLIENT unset)")
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
			for i := w; i < n; i += workers {
				c, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				conns[w] = append(conns[w], c)
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(nil, 512)
			for i, c := range conns[w] {
				path := fmt.Sprintf("/ok/%d/%d", w, i)
				c.SetDeadline(time.Now().Add(60 * time.Second))
				if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", path); err != nil {
					errs <- err
					return
				}
				r.Reset(c)
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", path, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || string(body) != path || r.Buffered() != 0 {
					errs <- fmt.Errorf("%s: %d %q %v", path, resp.StatusCode, body, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		fail(err)
	default:
	}
	fmt.Printf("soak-client: answered %d\n", n)
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
