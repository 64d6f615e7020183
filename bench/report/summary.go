package report

import (
	"fmt"
	"strings"
)

// Summary is a compact plain-text digest of the results for a terminal: one
// line per server and scenario with the medians.
func Summary(r *Results) string {
	var b strings.Builder
	for _, s := range r.Servers {
		if s.Skipped != "" {
			fmt.Fprintf(&b, "skipped %s: %s\n", s.Name, s.Skipped)
		}
	}
	for _, sc := range r.Scenarios {
		cells := r.Cells(sc)
		fmt.Fprintf(&b, "%s (%s)\n", sc.Title, sc.Key)
		if len(cells) == 0 {
			b.WriteString("  no server ran\n")
		}
		std, _ := pick(cells, func(c Cell) bool { return c.Server.Key == sc.Baseline }, func(c Cell) Stat { return c.RPS }, true)
		for _, c := range cells {
			line := fmt.Sprintf("  %-36s", c.Server.Name)
			switch sc.Kind {
			case Throughput:
				line += fmt.Sprintf(" %9s %s/s (%s)  CPU %7s ns/%s  server %s  load %s", num(c.RPS.Med), sc.Unit, ratio(c.RPS.Med, std), ns(c.CPUPerReq.Med), sc.Unit, pct(c.Util), loadCol(c))
			case Latency:
				line += fmt.Sprintf(" %9s req/s  p50 %s p99 %s p99.9 %s  CPU %s ns/req  server %s  send-lag p99 %s", num(c.RPS.Med), dur(c.P50.Med), dur(c.P99.Med), dur(c.P999.Med), ns(c.CPUPerReq.Med), pct(c.Util), dur(c.SendLag.Med))
			case Idle:
				line += fmt.Sprintf(" %s conns  %s B/conn  RSS %s", num(c.Held.Med), num(c.PerConn.Med), mib(c.RSS))
			}
			if n := notes(c); n != "" {
				line += "  [" + n + "]"
			}
			b.WriteString(line + "\n")
		}
	}
	if r.RingErr != "" {
		fmt.Fprintf(&b, "ringbench: %s\n", r.RingErr)
	}
	return b.String()
}
