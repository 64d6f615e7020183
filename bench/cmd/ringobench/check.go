package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"time"
)

// helloBody is the body every HTTP server under test must answer with; the
// load generator checks it on every response.
const helloBody = "Hello, World!"

// checkHTTP sends one GET and checks the response is the one every HTTP
// server under test must give, so none does less work than the others:
// "HTTP/1.1 200 OK", Date, Content-Type text/plain, Content-Length 13, body
// "Hello, World!". Other headers are allowed but named in the result, as
// they cost bytes. It returns "" when the response is exactly as expected.
func checkHTTP(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "check: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return "check: " + err.Error()
	}
	return checkResponse(bufio.NewReader(c))
}

func checkResponse(br *bufio.Reader) string {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return "check: " + err.Error()
	}
	var problems []string
	if line != "HTTP/1.1 200 OK" {
		problems = append(problems, fmt.Sprintf("status line %q", line))
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return "check: bad header: " + err.Error()
	}
	if d := h.Get("Date"); d == "" {
		problems = append(problems, "no Date")
	} else if _, err := http.ParseTime(d); err != nil {
		problems = append(problems, fmt.Sprintf("bad Date %q", d))
	}
	if ct := h.Values("Content-Type"); len(ct) != 1 || ct[0] != "text/plain" {
		problems = append(problems, fmt.Sprintf("Content-Type %q", ct))
	}
	if cl := h.Values("Content-Length"); len(cl) != 1 || cl[0] != "13" {
		problems = append(problems, fmt.Sprintf("Content-Length %q", cl))
	} else {
		body := make([]byte, 13)
		if _, err := io.ReadFull(br, body); err != nil || string(body) != helloBody {
			problems = append(problems, fmt.Sprintf("body %q", body))
		}
	}
	var extra []string
	for k := range h {
		switch k {
		case "Date", "Content-Type", "Content-Length":
		default:
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		problems = append(problems, "extra headers: "+strings.Join(extra, ", "))
	}
	return strings.Join(problems, "; ")
}
