// Package load is the bench suite's load generator, usable as a library.
//
// It has three ways to drive a server over loopback TCP:
//
//   - closed loop (Run with Rate == 0): Conns connections, each sends Depth
//     requests in one write (Depth > 1 is HTTP pipelining), reads Depth
//     responses, and repeats. It measures throughput. With Requests > 0 it
//     sends exactly that many requests in total, otherwise it runs for Warmup
//     then Duration.
//   - open loop (Run with Rate > 0): requests leave at fixed intended times
//     (Rate per second over all connections, each connection pipelining when a
//     response is late) and each latency is measured from the intended send
//     time, so a server that stalls is charged for every request that should
//     have been sent meanwhile (no coordinated omission).
//   - Hold: open many keep-alive connections, one request each, and keep them
//     open (idle-connection memory).
//
// HTTP responses are framed by Content-Length (no chunked encoding, which the
// servers under test never send for a fixed body). A response counts as served
// only with status 200 and, when Config.Body is set, exactly that body; bytes
// beyond a batch's responses (a server answering twice) are an error, and so
// is every request an open loop could not send because its connection died.
// Hold's connections are counted again, after the server's memory was read,
// with Held.Recount: one the server closed is not held. Echo mode sends
// Payload bytes, reads them back and compares CRC-32 checksums.
package load

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

// Mode selects the protocol.
type Mode string

// The protocols the generator speaks.
const (
	HTTP Mode = "http" // HTTP/1.1 keep-alive requests, responses framed by Content-Length
	Echo Mode = "echo" // TCP echo: Payload bytes out, the same bytes back
)

// Config describes one load run. The zero value of every field but Addr has a
// usable default (see withDefaults).
type Config struct {
	Addr     string        // host:port of the server
	Mode     Mode          // HTTP (default) or Echo
	Conns    int           // concurrent connections; default 1
	Depth    int           // HTTP requests in flight per connection in closed loop; default 1
	Payload  int           // echo payload bytes per round trip; default 64
	Requests int64         // closed loop: exact number of requests to send, then stop (Warmup/Duration ignored)
	Warmup   time.Duration // traffic before the measurement window (not counted in Requests)
	Duration time.Duration // measurement window; default 1s
	Rate     float64       // open loop when > 0: intended requests per second over all connections
	Request  []byte        // HTTP request to send; default "GET / HTTP/1.1" with Host
	Timeout  time.Duration // deadline for each read/write batch; default 5s
	Body     []byte        // HTTP: when non-nil, a 200 response counts only if its body is exactly this

	// OnMeasureStart and OnMeasureEnd, when set, are called from the
	// controlling goroutine as the measurement window opens and after the
	// last measured request completed, so the caller can sample server CPU.
	OnMeasureStart func()
	OnMeasureEnd   func()
}

// Result is what one run measured.
type Result struct {
	Mode       Mode    `json:"mode"`
	Conns      int     `json:"conns"`
	Depth      int     `json:"depth"`
	Payload    int     `json:"payload,omitempty"`
	TargetRate float64 `json:"target_rate,omitempty"`

	Requests int64         `json:"requests"` // completed in the measurement window
	Total    int64         `json:"total"`    // completed in all, warm-up included
	Errors   int64         `json:"errors"`   // failed requests or connections (bad status, framing, checksum, I/O)
	Elapsed  time.Duration `json:"elapsed_ns"`
	Rate     float64       `json:"rate"`            // Requests per second of Elapsed
	Bytes    int64         `json:"bytes,omitempty"` // echo: payload bytes echoed in the window

	Latency hist.Summary  `json:"latency"`            // per request, from (intended) send to response
	SendLag *hist.Summary `json:"send_lag,omitempty"` // open loop: actual minus intended send time
	Errs    []string      `json:"errs,omitempty"`     // the first few distinct errors
}

func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		return c, errors.New("load: Addr is required")
	}
	if c.Mode == "" {
		c.Mode = HTTP
	}
	if c.Mode != HTTP && c.Mode != Echo {
		return c, fmt.Errorf("load: unknown mode %q", c.Mode)
	}
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.Depth <= 0 {
		c.Depth = 1
	}
	if c.Mode == Echo {
		if c.Depth != 1 {
			return c, errors.New("load: echo mode has no pipelining (Depth must be 1)")
		}
		if c.Payload <= 0 {
			c.Payload = 64
		}
	}
	if c.Duration <= 0 {
		c.Duration = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Request == nil {
		c.Request = []byte("GET / HTTP/1.1\r\nHost: " + c.Addr + "\r\n\r\n")
	}
	if c.Rate < 0 {
		return c, errors.New("load: negative Rate")
	}
	if c.Rate > 0 && c.Mode != HTTP {
		return c, errors.New("load: open loop is HTTP only")
	}
	return c, nil
}

// Run performs one closed-loop (Rate == 0) or open-loop (Rate > 0) run.
// It returns an error only when the run could not start (bad config, no
// connection); failures during the run are counted in Result.Errors.
func Run(cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	conns, err := dialAll(cfg.Addr, cfg.Conns, cfg.Timeout)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(conns)
	if cfg.Rate > 0 {
		return runOpen(cfg, conns), nil
	}
	return runClosed(cfg, conns), nil
}

func dialAll(addr string, n int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	d := net.Dialer{Timeout: timeout}
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("load: dial %s (connection %d of %d): %w", addr, i+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
