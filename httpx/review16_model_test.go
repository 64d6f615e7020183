package httpx

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
)

type modelOp struct {
	k    int
	code int
	data string
}

func (o modelOp) String() string { return fmt.Sprintf("{%d %d %q}", o.k, o.code, o.data) }

func modelRun(c *Ctx, ops []modelOp) {
	for _, o := range ops {
		switch o.k {
		case 0:
			c.SetStatus(o.code)
		case 1:
			c.WriteString(o.data)
		case 2:
			c.SetBody([]byte(o.data))
		case 3:
			c.SetBodyString(o.data)
		case 4:
			c.Flush()
		case 5:
			c.SetConnectionClose()
		case 6:
			c.SetHeader("X-A", o.data)
		case 7:
			c.DelHeader("X-A")
		case 8:
			c.AddHeader("X-A", o.data)
		case 9:
			c.Write([]byte(o.data))
		}
	}
}

func TestResponseModel(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	codes := []int{0, 99, 100, 101, 199, 200, 201, 204, 205, 299, 304, 404, 500, 599, 600, 999, 1000}
	var cur []modelOp
	cfg := testConfig(HandlerFunc(func(c *Ctx) {
		if string(c.Path()) == "/next" {
			c.WriteString("next")
			return
		}
		modelRun(c, cur)
	}))
	fails := 0
	for iter := 0; iter < 100000 && fails < 5; iter++ {
		n := rng.Intn(12)
		cur = cur[:0]
		for i := 0; i < n; i++ {
			o := modelOp{k: rng.Intn(10)}
			o.code = codes[rng.Intn(len(codes))]
			o.data = strings.Repeat(string(rune('a'+rng.Intn(26))), rng.Intn(4))
			cur = append(cur, o)
		}
		head := rng.Intn(3) == 0
		v10 := rng.Intn(3) == 0
		method := "GET"
		if head {
			method = "HEAD"
		}
		req := method + " / HTTP/1.1\r\nHost: h\r\n\r\n"
		if v10 {
			req = method + " / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		}
		// Model.
		status, streaming, closeReq := 200, false, false
		var buf, sent []byte
		xa, xaSet := []string(nil), false
		var sentXA []string
		allowed := func() bool { return status >= 200 && status != 204 && status != 304 }
		for _, o := range cur {
			switch o.k {
			case 0:
				if o.code >= 200 && o.code <= 599 && !streaming {
					status = o.code
				}
			case 1, 9:
				if allowed() {
					buf = append(buf, o.data...)
				}
			case 2, 3:
				buf = []byte(o.data)
			case 4:
				if !streaming {
					streaming = true
					sentXA = append([]string(nil), xa...)
				}
				if allowed() && !head {
					sent = append(sent, buf...)
				}
				buf = nil
			case 5:
				closeReq = true
			case 6:
				if !streaming {
					xa, xaSet = []string{o.data}, true
				}
			case 7:
				if !streaming {
					xa = nil
				}
			case 8:
				if !streaming {
					xa, xaSet = append(xa, o.data), true
				}
			}
		}
		_ = xaSet
		if !streaming {
			sentXA = xa
		}
		wantBody := ""
		if allowed() && !head {
			wantBody = string(append(sent, buf...))
		}
		keep := !closeReq && !(v10 && streaming && allowed())
		m := newMemConn(cfg)
		m.e.feed([]byte(req + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"))
		out := m.output()
		br := bufio.NewReader(strings.NewReader(out))
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		var problems []string
		if err != nil {
			problems = append(problems, "read: "+err.Error())
		} else {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				problems = append(problems, "body: "+err.Error())
			}
			if resp.StatusCode != status {
				problems = append(problems, fmt.Sprintf("status %d want %d", resp.StatusCode, status))
			}
			if string(body) != wantBody {
				problems = append(problems, fmt.Sprintf("body %q want %q", body, wantBody))
			}
			if got := resp.Header.Values("X-A"); fmt.Sprint(got) != fmt.Sprint(sentXA) && !(len(got) == 0 && len(sentXA) == 0) {
				problems = append(problems, fmt.Sprintf("X-A %q want %q", got, sentXA))
			}
			if cl := resp.Header.Get("Content-Length"); cl != "" && head && allowed() && len(buf)+len(sent) == 0 {
				problems = append(problems, "HEAD with Content-Length "+cl)
			}
			rest, _ := io.ReadAll(br)
			answered := bytes.Contains(rest, []byte("\r\n\r\nnext"))
			if answered != keep || (len(rest) > 0 && !answered) {
				problems = append(problems, fmt.Sprintf("next answered %v want %v (rest %q)", answered, keep, rest))
			}
			if keep == m.isClosed() {
				problems = append(problems, fmt.Sprintf("closed %v want keep %v", m.isClosed(), keep))
			}
		}
		if len(problems) > 0 {
			fails++
			t.Errorf("%s v10=%v ops %v: %v\n%q", method, v10, cur, problems, out)
		}
	}
}
