package svg

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// parse checks the document is well-formed XML with an <svg> root and
// counts the elements by name, collecting all text.
func parse(t *testing.T, doc []byte) (map[string]int, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	counts := map[string]int{}
	var text strings.Builder
	depth, root := 0, ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%s", err, doc)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = tk.Name.Local
				if tk.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root namespace %q", tk.Name.Space)
				}
			}
			depth++
			counts[tk.Name.Local]++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tk)
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("root %q depth %d", root, depth)
	}
	return counts, text.String()
}

func TestBarChartLinear(t *testing.T) {
	c := BarChart{
		Title: "CPU <per> request & more", YLabel: "ns",
		Groups: []string{"http64", "pipe16"}, Series: []string{"net/http", "ringo \"uring\"", "gnet"},
		Values: [][]float64{{9000, 5000, math.NaN()}, {1200, 400, 380}},
	}
	doc, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	counts, text := parse(t, doc)
	// background + 5 bars (one NaN gap) + 3 legend swatches
	if counts["rect"] != 1+5+3 {
		t.Fatalf("rects %d", counts["rect"])
	}
	for _, want := range []string{"CPU <per> request & more", `ringo "uring"`, "http64", "9k", "net/http / http64: 9k"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

func TestBarChartLog(t *testing.T) {
	c := BarChart{
		Title: "latency", YLabel: "µs", LogY: true,
		Groups: []string{"p50", "p99", "p99.9"}, Series: []string{"a", "b"},
		Values: [][]float64{{30, 0}, {250, 900}, {4000, 12000}},
	}
	doc, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	counts, text := parse(t, doc)
	if counts["rect"] != 1+5+2 { // the zero bar cannot be drawn on a log axis
		t.Fatalf("rects %d", counts["rect"])
	}
	for _, want := range []string{"10", "100", "1k", "10k", "100k"} {
		if !strings.Contains(text, want) {
			t.Errorf("log ticks lack %q", want)
		}
	}
}

func TestBarChartErrors(t *testing.T) {
	for _, c := range []BarChart{
		{},
		{Groups: []string{"a"}, Series: []string{"x"}},
		{Groups: []string{"a"}, Series: []string{"x"}, Values: [][]float64{{1, 2}}},
	} {
		if _, err := c.Render(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	// All values missing still renders a valid empty chart.
	doc, err := BarChart{Groups: []string{"a"}, Series: []string{"x"}, Values: [][]float64{{math.NaN()}}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	parse(t, doc)
}

func TestTicks(t *testing.T) {
	ticks, lo, hi := linearTicks(930)
	if lo != 0 || hi != 1000 || len(ticks) != 6 || ticks[1] != 200 {
		t.Fatalf("%v %v %v", ticks, lo, hi)
	}
	ticks, lo, hi = logTicks(3, 4500)
	if lo != 1 || hi != 10000 || len(ticks) != 5 {
		t.Fatalf("%v %v %v", ticks, lo, hi)
	}
	if _, lo, _ = logTicks(103, 4500); lo != 10 { // 103 sits on the 100 line: one decade more
		t.Fatalf("floor %v", lo)
	}
	if formatTick(1500) != "1.5k" || formatTick(2e6) != "2M" || formatTick(0.25) != "0.25" {
		t.Fatal(formatTick(1500), formatTick(2e6), formatTick(0.25))
	}
}
