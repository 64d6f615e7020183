// Package svg draws the bench report's charts as standalone SVG files: a
// grouped bar chart with a linear or logarithmic value axis. Our own small
// code; no plotting dependency.
package svg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// BarChart is a grouped bar chart: one group of bars per entry of Groups
// (along the x axis), one bar per entry of Series in each group.
type BarChart struct {
	Title  string
	YLabel string
	Groups []string
	Series []string
	// Values[g][s] is the bar of series s in group g; NaN (or a value <= 0
	// on a log axis) leaves a gap.
	Values [][]float64
	LogY   bool
	// Width and Height in pixels; 0 picks a size from the number of bars.
	Width, Height int
}

// palette is colour-blind-safe (Okabe-Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"}

// Render returns the chart as an SVG document.
func (c BarChart) Render() ([]byte, error) {
	if len(c.Groups) == 0 || len(c.Series) == 0 {
		return nil, errors.New("svg: chart needs at least one group and one series")
	}
	if len(c.Values) != len(c.Groups) {
		return nil, fmt.Errorf("svg: %d value rows for %d groups", len(c.Values), len(c.Groups))
	}
	for g, row := range c.Values {
		if len(row) != len(c.Series) {
			return nil, fmt.Errorf("svg: group %d has %d values for %d series", g, len(row), len(c.Series))
		}
	}
	const (
		left, right, top = 70, 20, 50
		barW, gapW       = 14, 24
		legendRow        = 18
		charW            = 6.5 // average glyph width at 11px, for layout
	)
	w, h := c.Width, c.Height
	if w == 0 {
		w = max(520, left+right+len(c.Groups)*(len(c.Series)*barW+gapW))
	}
	// Legend: as many equal columns as the longest name allows.
	longest := 0
	for _, s := range c.Series {
		longest = max(longest, len([]rune(s)))
	}
	colW := float64(longest)*charW + 28
	cols := max(1, min(len(c.Series), int(float64(w-left-right)/colW)))
	rows := (len(c.Series) + cols - 1) / cols
	bottom := 34 + 12 + rows*legendRow
	if h == 0 {
		h = top + 260 + bottom
	}
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)

	lo, hi, ok := c.valueRange()
	if !ok {
		lo, hi = 0, 1
	}
	ticks, ymin, ymax := linearTicks(hi)
	if c.LogY {
		ticks, ymin, ymax = logTicks(lo, hi)
	}
	scale := func(v float64) float64 { // value -> y pixel
		f := (v - ymin) / (ymax - ymin)
		if c.LogY {
			f = (math.Log10(v) - math.Log10(ymin)) / (math.Log10(ymax) - math.Log10(ymin))
		}
		return float64(top) + plotH*(1-f)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", w, h)
	text(&b, float64(w)/2, 22, "middle", 14, "", c.Title)
	text(&b, 14, float64(top)+plotH/2, "middle", 11, fmt.Sprintf("rotate(-90 14 %.1f)", float64(top)+plotH/2), c.YLabel)
	for _, t := range ticks {
		y := scale(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, w-right, y)
		text(&b, float64(left-6), y+4, "end", 10, "", formatTick(t))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#333"/>`+"\n", left, top, left, float64(top)+plotH)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/>`+"\n", left, float64(top)+plotH, w-right, float64(top)+plotH)

	groupW := plotW / float64(len(c.Groups))
	bw := math.Min(barW, (groupW-8)/float64(len(c.Series)))
	for g, name := range c.Groups {
		x0 := float64(left) + groupW*float64(g) + (groupW-bw*float64(len(c.Series)))/2
		for s, v := range c.Values[g] {
			if math.IsNaN(v) || math.IsInf(v, 0) || (c.LogY && v <= 0) {
				continue
			}
			y := scale(math.Max(math.Min(v, ymax), ymin))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>`, x0+bw*float64(s), y, bw*0.9, float64(top)+plotH-y, palette[s%len(palette)])
			xml.EscapeText(&b, []byte(c.Series[s]+" / "+name+": "+formatTick(v)))
			b.WriteString("</title></rect>\n")
		}
		cx := float64(left) + groupW*(float64(g)+0.5)
		text(&b, cx, float64(top)+plotH+14, "middle", 10, "", name)
	}
	for s, name := range c.Series {
		lx := float64(left) + float64(s%cols)*colW
		ly := float64(top) + plotH + 34 + 12 + float64(s/cols)*legendRow
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", lx, ly-10, palette[s%len(palette)])
		text(&b, lx+16, ly, "start", 11, "", name)
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, transform, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d"`, x, y, anchor, size)
	if transform != "" {
		fmt.Fprintf(b, ` transform="%s"`, transform)
	}
	b.WriteString(">")
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

// valueRange returns the smallest positive and the largest finite value.
func (c BarChart) valueRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range c.Values {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if v > 0 && v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
			ok = true
		}
	}
	if !ok || hi <= 0 {
		return 0, 0, false
	}
	return lo, hi, true
}

// linearTicks returns 1, 2 or 5 times a power of ten steps from 0 past hi.
func linearTicks(hi float64) (ticks []float64, ymin, ymax float64) {
	if hi <= 0 {
		hi = 1
	}
	raw := hi / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	n := math.Ceil(hi / step)
	for i := 0.0; i <= n; i++ {
		ticks = append(ticks, i*step)
	}
	return ticks, 0, n * step
}

// logTicks returns the powers of ten around [lo, hi].
func logTicks(lo, hi float64) (ticks []float64, ymin, ymax float64) {
	if lo <= 0 || math.IsInf(lo, 0) {
		lo = 1
	}
	if hi < lo {
		hi = lo
	}
	a, z := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if lo < 2*math.Pow(10, a) { // keep the smallest bar visible
		a--
	}
	if z == a {
		z++
	}
	for e := a; e <= z; e++ {
		ticks = append(ticks, math.Pow(10, e))
	}
	return ticks, math.Pow(10, a), math.Pow(10, z)
}

// formatTick prints a value compactly: 1.5k, 20M, 0.25.
func formatTick(v float64) string {
	av := math.Abs(v)
	switch {
	case av >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case av >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case av >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
