package httpx

import (
	"bytes"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memConn is an in-memory transport: the engine's output is collected in a buffer. Engine calls
// happen either directly on the test goroutine (sync tests) or on a loop goroutine started by
// startLoop (FromHTTP tests), never both.
type memConn struct {
	e *engine

	mu       sync.Mutex
	out      bytes.Buffer
	closed   bool
	paused   bool
	pauses   int
	loopDone chan struct{}
	funcs    chan func()
	stopped  bool
}

var (
	memRemote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	memLocal  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
)

func testConfig(h Handler) *config {
	s := &Server{Handler: h}
	cfg, err := s.buildConfig()
	if err != nil {
		panic(err)
	}
	return cfg
}

func newMemConn(cfg *config) *memConn {
	m := &memConn{}
	m.e = newEngine(cfg, m, newLoopCache(time.Unix(1700000000, 0)))
	return m
}

func (m *memConn) write(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		panic("write after close")
	}
	m.out.Write(b)
}

func (m *memConn) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
}

func (m *memConn) abort() { m.close() } // (what was written stays in out: it was "sent")

func (m *memConn) pauseReading() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = true
	m.pauses++
}

func (m *memConn) resumeReading() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = false
}

func (m *memConn) buffered() int { return 0 } // everything written is taken at once

// writeBlocked is false: memConn has no reactor to keep input and present it again.
func (m *memConn) writeBlocked() bool { return false }

func (m *memConn) execute(f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.funcs == nil || m.stopped {
		return false
	}
	m.funcs <- f
	return true
}

func (m *memConn) whenDrained(n int, f func()) { f() } // buffered is always 0

func (m *memConn) remoteAddr() net.Addr { return memRemote }
func (m *memConn) localAddr() net.Addr  { return memLocal }
func (m *memConn) touch()               {}

// startLoop runs engine calls on a dedicated goroutine until the test ends.
func (m *memConn) startLoop(t testing.TB) {
	m.funcs = make(chan func(), 1<<16)
	m.loopDone = make(chan struct{})
	go func() {
		defer close(m.loopDone)
		for f := range m.funcs {
			f()
		}
	}()
	t.Cleanup(func() {
		m.mu.Lock()
		m.stopped = true
		close(m.funcs)
		m.mu.Unlock()
		<-m.loopDone
	})
}

// onLoop runs f on the loop goroutine and waits for it.
func (m *memConn) onLoop(f func()) {
	done := make(chan struct{})
	if !m.execute(func() { f(); close(done) }) {
		panic("loop stopped")
	}
	<-done
}

func (m *memConn) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

func (m *memConn) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// feedAll feeds data split into pieces of at most step bytes (0: one piece), then reports the
// connection gone as the reactor does at EOF.
func (m *memConn) feedAll(data []byte, step int) {
	if step <= 0 {
		step = len(data) + 1
	}
	for len(data) > 0 && !m.isClosed() {
		n := min(step, len(data))
		if got := m.e.feed(data[:n]); got != n {
			panic("engine did not consume all input")
		}
		data = data[n:]
	}
}

// parsedResponse is one response split from the output by parseResponses.
type parsedResponse struct {
	status  int
	headers map[string]string // lower-case names, first value
	body    []byte
}

var statusRe = regexp.MustCompile(`^HTTP/\d\.\d (\d{3})`)

// parseResponses mirrors run_http1.py's parse_responses: it splits a byte stream into HTTP/1.x
// responses, using the request methods to know which responses have no body. It returns the
// final responses (1xx other than 101 skipped) and a note when the stream is malformed.
func parseResponses(data []byte, methods []string) ([]parsedResponse, string) {
	var res []parsedResponse
	i, k := 0, 0
	for i < len(data) {
		if !bytes.HasPrefix(data[i:], []byte("HTTP/")) {
			return res, "non-HTTP bytes"
		}
		end := bytes.Index(data[i:], []byte("\r\n\r\n"))
		if end < 0 {
			if m := statusRe.FindSubmatch(data[i:]); m != nil {
				code, _ := strconv.Atoi(string(m[1]))
				res = append(res, parsedResponse{status: code})
				return res, "truncated response head"
			}
			return res, "truncated status line"
		}
		end += i
		lines := bytes.Split(data[i:end], []byte("\r\n"))
		m := statusRe.FindSubmatch(lines[0])
		if m == nil {
			return res, "bad status line"
		}
		code, _ := strconv.Atoi(string(m[1]))
		hdrs := map[string]string{}
		for _, ln := range lines[1:] {
			if c := bytes.IndexByte(ln, ':'); c >= 0 {
				n := string(bytes.ToLower(bytes.TrimSpace(ln[:c])))
				if _, ok := hdrs[n]; !ok {
					hdrs[n] = string(bytes.TrimSpace(ln[c+1:]))
				}
			}
		}
		i = end + 4
		if code >= 100 && code < 200 && code != 101 {
			continue
		}
		r := parsedResponse{status: code, headers: hdrs}
		if code == 101 {
			res = append(res, r)
			return res, "switched protocols"
		}
		method := ""
		if k < len(methods) {
			method = methods[k]
		}
		k++
		te := bytes.ToLower([]byte(hdrs["transfer-encoding"]))
		cl, hasCL := hdrs["content-length"]
		switch {
		case method == "HEAD" || code == 204 || code == 304:
		case hasCL && bytes.HasPrefix(data[i:], []byte("HTTP/1.")) && k > len(methods):
		case bytes.HasSuffix(te, []byte("chunked")):
			var body []byte
			for {
				le := bytes.Index(data[i:], []byte("\r\n"))
				if le < 0 {
					i = len(data)
					break
				}
				le += i
				sz := data[i:le]
				if s := bytes.IndexByte(sz, ';'); s >= 0 {
					sz = sz[:s]
				}
				size, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
				if err != nil {
					i = len(data)
					break
				}
				i = le + 2
				if size == 0 {
					te := bytes.Index(data[i-2:], []byte("\r\n\r\n"))
					if te < 0 {
						i = len(data)
					} else {
						i = i - 2 + te + 4
					}
					break
				}
				if i+int(size) > len(data) {
					body = append(body, data[i:]...)
					i = len(data)
					break
				}
				body = append(body, data[i:i+int(size)]...)
				i += int(size) + 2
			}
			r.body = body
		case hasCL:
			n, err := strconv.Atoi(cl)
			if err != nil || i+n > len(data) {
				r.body = data[i:]
				i = len(data)
			} else {
				r.body = data[i : i+n]
				i += n
			}
		default:
			r.body = data[i:]
			i = len(data)
		}
		res = append(res, r)
	}
	return res, ""
}

func statuses(rs []parsedResponse) []int {
	s := make([]int, len(rs))
	for i, r := range rs {
		s[i] = r.status
	}
	return s
}

// isServed mirrors run_http1.py is_served.
func isServed(code int) bool {
	return (code >= 200 && code < 400) || code == 101 || code == 404 || code == 405 || code == 412
}
