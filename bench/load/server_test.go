package load

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// testServer is a small loopback server the generator runs against: it
// counts every HTTP request it answers (requests are found by CRLFCRLF) or
// echoes bytes back, optionally corrupting them.
type testServer struct {
	ln       net.Listener
	requests atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex // guards conns
	conns    map[net.Conn]struct{}
	gate     sync.RWMutex // handlers hold it shared per request; a test takes it to stall the server
	corrupt  bool         // echo: flip a bit of every echo
	status   string       // HTTP status line, default "200 OK"
	// respond, when set, gives the bytes to answer the connection's i-th request with (at
	// once), and whether to close the connection after them.
	respond func(i int) (resp string, closeAfter bool)
}

const helloResponse = "Date: Sun, 22 Nov 2026 14:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"

func startServer(t *testing.T, echo bool, opts ...func(*testServer)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, conns: map[net.Conn]struct{}{}, status: "200 OK"}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if echo {
					s.serveEcho(c)
				} else {
					s.serveHTTP(c)
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) serveHTTP(c net.Conn) {
	resp := []byte("HTTP/1.1 " + s.status + "\r\n" + helloResponse)
	br := bufio.NewReader(c)
	var out []byte
	for i := 0; ; {
		// Read one request head line by line; answer when the blank line
		// arrives, flushing only when no more input is buffered (so
		// pipelined responses leave together).
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if !bytes.Equal(line, []byte("\r\n")) {
			continue
		}
		if s.respond != nil {
			r, closeAfter := s.respond(i)
			i++
			if _, err := c.Write([]byte(r)); err != nil || closeAfter {
				return
			}
			continue
		}
		s.gate.RLock()
		s.requests.Add(1)
		out = append(out, resp...)
		s.gate.RUnlock()
		if br.Buffered() == 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

func (s *testServer) serveEcho(c net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if s.corrupt {
				buf[n/2] ^= 1
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err == io.EOF || err != nil {
			return
		}
	}
}
