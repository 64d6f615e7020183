package httpx

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// A FromHTTP server parks its loops (reactor.WithParkedLoops), so with the
// default backend it runs on epoll and says why; a reactor option of the
// user's overrides that. A fast-path server keeps locked loops (io_uring
// where the kernel has it).
func TestFromHTTPParksLoops(t *testing.T) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	cases := []struct {
		name    string
		s       *Server
		parked  bool
		forUser []reactor.Option
	}{
		{"fromhttp", &Server{Handler: FromHTTP(hello)}, true, nil},
		{"fromhttp-locked", &Server{Handler: FromHTTP(hello)}, false, []reactor.Option{reactor.WithParkedLoops(false)}},
		{"inline", &Server{Handler: HandlerFunc(func(c *Ctx) { c.WriteString("hi") })}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Logger = quietLogger()
			s.Reactor = append(tc.forUser, reactor.WithBackend(reactor.BackendAuto), reactor.WithLoops(1))
			if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			rs, err := s.reactorServer()
			if err != nil {
				t.Fatal(err)
			}
			parked := strings.Contains(rs.BackendReason(), "parked")
			if parked != tc.parked || (parked && s.Backend() != reactor.BackendEpoll) {
				t.Fatalf("backend %s (%s): want parked %v", s.Backend(), rs.BackendReason(), tc.parked)
			}
			c := dial(t, s.Addr().String())
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("response %v, %v", resp, err)
			}
		})
	}
}
