package httpx

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// conformanceCase is one entry of shared/conformance/http1-cases.json.
type conformanceCase struct {
	ID       string `json:"id"`
	Expect   string `json:"expect"`
	Level    string `json:"level"`
	Count    *int   `json:"count"`
	CountMin *int   `json:"count_min"`
	Prefix   int    `json:"prefix"`
	Lenient  *int   `json:"lenient_max"`
	BodyFlaw bool   `json:"body_flaw"`
	Raw      string `json:"raw"`
	Notes    string `json:"notes"`
	Requests []struct {
		Method string `json:"method"`
	} `json:"requests"`
}

// repoRoot finds the directory holding the root go.mod.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/ringo-io/ringo\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
}

// conformanceDir returns ../shared/conformance relative to the repository root, or skips.
func conformanceDir(t testing.TB) string {
	dir := filepath.Join(repoRoot(t), "..", "shared", "conformance")
	if _, err := os.Stat(filepath.Join(dir, "http1-cases.json")); err != nil {
		t.Skipf("conformance cases not found at %s: %v", dir, err)
	}
	return dir
}

func loadConformance(t testing.TB) []conformanceCase {
	b, err := os.ReadFile(filepath.Join(conformanceDir(t), "http1-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []conformanceCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// helloHandler is the handler the conformance suite expects: any request -> 200 "Hello, World!".
func helloHandler(c *Ctx) {
	_ = c.Body()
	c.SetContentType("text/plain")
	c.WriteString("Hello, World!")
}

// classify mirrors run_http1.py's classify (without --allow-early-response). closed is true:
// the runner half-closes after sending, and the server answers what it received, then closes.
func classify(c conformanceCase, codes []int) (ok bool, served int, why string, desync bool) {
	var errs int
	for _, code := range codes {
		if isServed(code) {
			served++
		} else {
			errs++
		}
	}
	const closed = true
	switch c.Expect {
	case "accept":
		lo := *c.Count
		if c.CountMin != nil {
			lo = *c.CountMin
		}
		ok = lo <= served && served <= *c.Count
		if !ok {
			why = fmt.Sprintf("expected %d..%d served, got %d", lo, *c.Count, served)
		}
	case "reject":
		ok = served <= c.Prefix && (errs > 0 || closed)
		if !ok {
			why = fmt.Sprintf("served %d (allowed before the bad request: %d)", served, c.Prefix)
		}
	default:
		ok = served <= *c.Count && (served > 0 || errs > 0 || closed)
		if !ok {
			why = fmt.Sprintf("served %d > %d requests present", served, *c.Count)
		}
	}
	var limit *int
	if c.Expect == "reject" {
		limit = c.Lenient
	} else {
		limit = c.Count
	}
	desync = limit != nil && served > *limit
	return ok, served, why, desync
}

// TestConformanceEngine runs every shared conformance case through the engine in memory, whole
// and split into small pieces, judging as run_http1.py does. Splitting must not change the
// answer.
func TestConformanceEngine(t *testing.T) {
	cases := loadConformance(t)
	cfg := testConfig(HandlerFunc(helloHandler))
	passed, failed := 0, 0
	var strictMisses []string
	for _, c := range cases {
		raw, err := base64.StdEncoding.DecodeString(c.Raw)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		methods := make([]string, len(c.Requests))
		for i, r := range c.Requests {
			methods[i] = r.Method
		}
		var first []int
		for _, step := range []int{0, 1, 7, 64} {
			if step > 0 && len(raw)/step > 20000 {
				continue // tiny pieces of a huge input add time (under -race), not coverage
			}
			m := newMemConn(cfg)
			m.feedAll(raw, step)
			rs, note := parseResponses([]byte(m.output()), methods)
			codes := statuses(rs)
			if step == 0 {
				first = codes
				ok, served, why, desync := classify(c, codes)
				if ok && !desync {
					passed++
				} else {
					failed++
					t.Errorf("FAIL %s [%s/%s] served=%d statuses=%v desync=%v (%s) note=%q :: %s",
						c.ID, c.Expect, c.Level, served, codes, desync, why, note, c.Notes)
				}
				// Stricter than the runner: a rejected request that was complete must get an
				// error response, not just a closed connection.
				if c.Expect == "reject" && !m.isClosed() && served <= c.Prefix {
					strictMisses = append(strictMisses, c.ID)
				}
				continue
			}
			if note != "" && note != "switched protocols" {
				t.Errorf("%s split %d: malformed output: %s", c.ID, step, note)
			}
			if !reflect.DeepEqual(codes, first) {
				t.Errorf("%s: statuses %v when split every %d bytes, %v whole", c.ID, codes, step, first)
			}
		}
	}
	t.Logf("%d passed, %d failed", passed, failed)
	if len(strictMisses) > 0 {
		t.Logf("rejected only by waiting for more input (closed at EOF): %v", strictMisses)
	}
}

// TestConformanceAdapter runs the conformance cases through the FromHTTP path in memory (a
// net/http hello handler that reads the whole body), judging as run_http1.py does.
func TestConformanceAdapter(t *testing.T) {
	cases := loadConformance(t)
	a := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	}), WithWorkerIdleTimeout(20*time.Millisecond))
	cfg := quietConfig(a)
	passed, failed := 0, 0
	for _, c := range cases {
		raw, _ := base64.StdEncoding.DecodeString(c.Raw)
		methods := make([]string, len(c.Requests))
		for i, r := range c.Requests {
			methods[i] = r.Method
		}
		m := newMemConn(cfg)
		m.startLoop(t)
		for off := 0; off < len(raw); off += 4096 {
			piece := raw[off:min(off+4096, len(raw))]
			m.onLoop(func() { m.e.feed(piece) })
		}
		// The runner half-closes after sending: the reactor reports the EOF (OnReadEOF).
		m.onLoop(func() { m.e.readEOF() })
		// Wait for the handlers to finish and the engine to close.
		var done bool
		for i := 0; i < 2000 && !done; i++ {
			m.onLoop(func() { done = m.e.async == nil && m.isClosed() })
			if !done {
				time.Sleep(time.Millisecond)
			}
		}
		if !done {
			t.Errorf("%s: connection not closed after the client's EOF", c.ID)
		}
		rs, note := parseResponses([]byte(m.output()), methods)
		ok, served, why, desync := classify(c, statuses(rs))
		if ok && !desync {
			passed++
		} else {
			failed++
			t.Errorf("FAIL %s [%s/%s] served=%d statuses=%v desync=%v (%s) note=%q",
				c.ID, c.Expect, c.Level, served, statuses(rs), desync, why, note)
		}
	}
	t.Logf("%d passed, %d failed", passed, failed)
}
