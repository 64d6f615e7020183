package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ringo-io/ringo/bench/report"
)

// serveFixed answers every request (found by its blank line) with resp, and
// closes the connection after the first one if closeAfter.
func serveFixed(t *testing.T, resp string, closeAfter bool) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if bytes.Equal(line, []byte("\r\n")) {
						if _, err := c.Write([]byte(resp)); err != nil || closeAfter {
							return
						}
					}
				}
			}()
		}
	}()
	return ln
}

// A server that answers every request with 404 (no work at all) is measured
// by wrk; the round is accepted and every error response counts as a
// completed request in req/s and CPU per request.
func TestWrkErrorStatusesAreNotServed(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("no wrk")
	}
	ln := serveFixed(t, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false)
	o := options{warmup: 0, duration: time.Second, wrk: wrk, serverCPUs: "0", loadCPUs: "0"}
	r := &running{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}} // CPU sampled from this process
	sc := &scenario{Scenario: report.Scenario{Key: "http-4", Kind: report.Throughput, Conns: 4}, mode: "http", useWrk: true}
	var rd report.Round
	err = o.wrkRound(t.Context(), sc, r, ln.Addr().String(), &rd)
	t.Logf("err=%v requests=%d errors=%d rps=%.0f", err, rd.Requests, rd.Errors, rd.RPS)
	if err == nil && rd.Requests > 0 {
		t.Errorf("round accepted with %d requests, all of them 404 (%d errors): req/s %.0f", rd.Requests, rd.Errors, rd.RPS)
	}
}

// The idle round through the real runner path: a server that answers one
// request per connection and closes it is reported as holding every
// connection, at (almost) no memory each.
func TestHoldRoundRejectsClosedConnections(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	if out, err := exec.Command(goBin, "build", "-o", dir+"/loadgen", "../loadgen").CombinedOutput(); err != nil {
		t.Fatalf("build loadgen: %v %s", err, out)
	}
	ln := serveFixed(t, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", true)
	o := options{binDir: dir, serverCPUs: "0", loadCPUs: "0"}
	r := &running{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	sc := &scenario{Scenario: report.Scenario{Key: "idle-100", Kind: report.Idle, Conns: 100}, mode: "hold"}
	var rd report.Round
	err = o.holdRound(t.Context(), sc, r, ln.Addr().String(), &rd)
	t.Logf("err=%v held=%d errors=%d perconn=%.0f", err, rd.Requests, rd.Errors, rd.PerConn)
	if err == nil && rd.Requests > 0 {
		t.Errorf("idle round accepted: %d connections held, %.0f B each, but the server closed every one", rd.Requests, rd.PerConn)
	}
}
