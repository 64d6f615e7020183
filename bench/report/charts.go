package report

import (
	"fmt"
	"math"

	"github.com/ringo-io/ringo/bench/svg"
)

// chartOrder is the order the report shows the charts in.
var chartOrder = []string{"cpu_http.svg", "rps_http.svg", "cpu_echo.svg", "latency.svg", "idle_memory.svg"}

// addCharts draws the charts for which there is data.
func addCharts(r *Results, out map[string][]byte) error {
	add := func(file string, c svg.BarChart, ok bool) error {
		if !ok {
			return nil
		}
		doc, err := c.Render()
		if err != nil {
			return err
		}
		out[file] = doc
		return nil
	}
	cpu := func(c Cell) float64 { return c.CPUPerReq.Med }
	rps := func(c Cell) float64 { return c.RPS.Med }
	for _, ch := range []struct {
		file, group, title, ylabel string
		f                          func(Cell) float64
	}{
		{"cpu_http.svg", "http", "Server CPU per request, HTTP (lower is better)", "ns per request", cpu},
		{"rps_http.svg", "http", "Requests per second, HTTP (higher is better)", "requests/s", rps},
		{"cpu_echo.svg", "echo", "Server CPU per round trip, TCP echo (lower is better)", "ns per round trip", cpu},
	} {
		c, ok := r.byScenario(Throughput, ch.group, ch.f)
		c.Title, c.YLabel = ch.title, ch.ylabel
		if err := add(ch.file, c, ok); err != nil {
			return err
		}
	}
	for _, sc := range r.Scenarios {
		if sc.Kind != Latency {
			continue
		}
		cells := r.Cells(sc)
		c := svg.BarChart{
			Title:  fmt.Sprintf("Open-loop latency at %.0f req/s, %d connections (log scale)", sc.Rate, sc.Conns),
			YLabel: "µs", LogY: true, Groups: []string{"p50", "p99", "p99.9"},
		}
		for _, cell := range cells {
			c.Series = append(c.Series, cell.Server.Name)
		}
		for _, q := range []func(Cell) Stat{func(c Cell) Stat { return c.P50 }, func(c Cell) Stat { return c.P99 }, func(c Cell) Stat { return c.P999 }} {
			row := make([]float64, len(cells))
			for i, cell := range cells {
				row[i] = q(cell).Med / 1e3
			}
			c.Values = append(c.Values, row)
		}
		if err := add("latency.svg", c, len(cells) > 0); err != nil {
			return err
		}
		break
	}
	c, ok := r.byScenario(Idle, "", func(c Cell) float64 { return c.PerConn.Med })
	c.Title, c.YLabel = "Server memory per idle keep-alive connection (lower is better)", "bytes"
	return add("idle_memory.svg", c, ok)
}

// byScenario builds a chart with one group per scenario of the kind (and
// chart group, if not empty) and one series per server that ran in any.
func (r *Results) byScenario(kind Kind, group string, f func(Cell) float64) (svg.BarChart, bool) {
	var c svg.BarChart
	var rows []map[string]float64
	seen := map[string]bool{}
	var keys []string
	names := map[string]string{}
	for _, sc := range r.Scenarios {
		if sc.Kind != kind || (group != "" && sc.Group != group) {
			continue
		}
		row := map[string]float64{}
		for _, cell := range r.Cells(sc) {
			row[cell.Server.Key] = f(cell)
			if !seen[cell.Server.Key] {
				seen[cell.Server.Key] = true
				keys = append(keys, cell.Server.Key)
				names[cell.Server.Key] = cell.Server.Name
			}
		}
		c.Groups = append(c.Groups, sc.Key)
		rows = append(rows, row)
	}
	for _, k := range keys {
		c.Series = append(c.Series, names[k])
	}
	for _, row := range rows {
		vals := make([]float64, len(keys))
		for i, k := range keys {
			v, ok := row[k]
			if !ok {
				v = math.NaN()
			}
			vals[i] = v
		}
		c.Values = append(c.Values, vals)
	}
	return c, len(keys) > 0 && len(c.Groups) > 0
}
