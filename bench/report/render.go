package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Render returns the markdown report and the charts it links to (file name
// to SVG document), to be written side by side.
func Render(r *Results) (string, map[string][]byte, error) {
	var b strings.Builder
	m := r.Meta
	fmt.Fprintf(&b, "# ringo bench, %s\n\n", m.Date)
	mode := "full run"
	if m.Quick {
		mode = "quick run (-quick: fewer, shorter rounds; figures are indicative only)"
	}
	fmt.Fprintf(&b, "%s; took %s. Raw per-round data: `rounds.json`.\n\n", mode, m.Took.Round(time.Second))
	var rows, shared, bound int
	for _, sc := range r.Scenarios {
		for _, c := range r.Cells(sc) {
			rows++
			if c.Contended() {
				shared++
			}
			if c.LoadBound() {
				bound++
			}
		}
	}
	if shared > 0 {
		fmt.Fprintf(&b, "**%d of %d rows ran while other work took ≥ 10%% of the pinned CPUs (marked ⚑): compare those with care, or rerun on a quiet machine.**\n\n", shared, rows)
	}
	if bound > 0 {
		fmt.Fprintf(&b, "%d of %d rows were limited by the load generator (marked ⚠).\n\n", bound, rows)
	}

	b.WriteString("## Machine\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s, %d cores |\n| Kernel | %s |\n| Go | %s |\n", esc(m.CPUModel), m.Cores, esc(m.Kernel), esc(m.GoVersion))
	for _, v := range m.Versions {
		fmt.Fprintf(&b, "| %s | %s |\n", esc(v[0]), esc(v[1]))
	}
	if m.Wrk != "" {
		fmt.Fprintf(&b, "| wrk | %s |\n", esc(m.Wrk))
	} else {
		b.WriteString("| wrk | not on PATH: every scenario uses the built-in generator |\n")
	}
	b.WriteString("\n")

	writeMethod(&b, m)

	b.WriteString("## Servers\n\nEvery HTTP server must answer `HTTP/1.1 200 OK` with Date, `Content-Type: text/plain`, `Content-Length: 13` and `Hello, World!`; the runner checks one response of each before its first round.\n\n")
	for _, s := range r.Servers {
		if s.Skipped != "" {
			fmt.Fprintf(&b, "- **%s: skipped**: %s\n", esc(s.Name), esc(s.Skipped))
		} else if s.Check != "" {
			fmt.Fprintf(&b, "- %s: **response differs**: %s\n", esc(s.Name), esc(s.Check))
		} else {
			fmt.Fprintf(&b, "- %s\n", esc(s.Name))
		}
	}
	b.WriteString("\n")

	charts := map[string][]byte{}
	if err := addCharts(r, charts); err != nil {
		return "", nil, err
	}
	if len(charts) > 0 {
		b.WriteString("## Charts\n\n")
		for _, name := range chartOrder {
			if _, ok := charts[name]; ok {
				fmt.Fprintf(&b, "![%s](%s)\n\n", name, name)
			}
		}
	}

	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", esc(sc.Title), esc(sc.Method))
		cells := r.Cells(sc)
		if len(cells) == 0 {
			b.WriteString("No server ran in this scenario.\n\n")
			continue
		}
		switch sc.Kind {
		case Throughput:
			writeThroughput(&b, sc, cells)
			writePaired(&b, r, sc, cells)
		case Latency:
			writeLatency(&b, sc, cells)
		case Idle:
			writeIdle(&b, sc, cells)
		}
		writeFailures(&b, cells)
	}

	writeRingBench(&b, r)
	if len(m.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range m.Notes {
			fmt.Fprintf(&b, "- %s\n", esc(n))
		}
		b.WriteString("\n")
	}
	return b.String(), charts, nil
}

func writeMethod(b *strings.Builder, m Meta) {
	b.WriteString("## Method\n\n")
	if m.ServerCPUs != "" {
		fmt.Fprintf(b, "- Each server runs pinned with `taskset` to CPU(s) %s (GOMAXPROCS set to match); the load generator to the disjoint CPU(s) %s.\n", m.ServerCPUs, m.LoadCPUs)
	} else {
		b.WriteString("- **Not pinned** (taskset missing or CPU sets not disjoint): figures are noisier.\n")
	}
	fmt.Fprintf(b, "- Every server binary is built first; each round starts the server fresh, waits for its port, warms up for %s, measures for %s, then stops it. Servers take turns (A B C, A B C, ...) over %d rounds; tables show the median with min–max.\n", m.Warmup, m.Measure, m.Rounds)
	b.WriteString("- Server CPU is utime+stime from `/proc/PID/stat` (all threads; 10 ms ticks) sampled as the measurement window opens and after its last request; CPU per request is that over the requests completed. Utilisation is CPU time over wall time over the CPUs of the set: a busier server batches more per wake-up, so read CPU/request beside it. On loopback part of the TCP receive work runs in the sender's context and is charged to the other side.\n")
	b.WriteString("- Load generator CPU comes from its own getrusage (wrk: its process times). ⚠ marks rows where it was ≥ 90% busy: there the generator, not the server, limited throughput.\n")
	b.WriteString("- ⚑ marks rows where, in the median round, anything else (other processes, hypervisor steal; from `/proc/stat`) took ≥ 10% of the server's or the load generator's CPUs: those figures are not clean.\n")
	b.WriteString("- Closed loop: N connections, each sends D requests in one write and reads D responses (framed by Content-Length), then repeats. Open loop: requests leave at fixed intended times (timerfd pacing) and latency is measured from the intended time, so stalls are not hidden (no coordinated omission); the send-lag column is how late the generator itself was (p99). Echo: each round trip stamps a sequence number into the payload and checks a CRC-32 of what comes back.\n")
	b.WriteString("- RSS is VmRSS from `/proc/PID/status` at the end of the round. Idle memory: RSS after holding N keep-alive connections (one request each, 300 ms settle) minus RSS before they were opened, over N.\n")
	b.WriteString("- Paired ratios (under each throughput table): each ringo server's CPU per request over the best peer's in the same round, median and range over the rounds. Servers alternate within a round, so drift of a shared machine cancels out of these better than out of a ratio of medians.\n")
	b.WriteString("- Ratios: \"vs std\" is against the standard-library twin (net/http, or the goroutine-per-connection net echo); \"vs best peer\" against the best non-ringo server of the scenario. For req/s higher is better; for CPU/request, latency and memory lower is better.\n\n")
}

func writeThroughput(b *strings.Builder, sc Scenario, cells []Cell) {
	peer := func(c Cell) bool { return !c.Server.Ringo }
	std := func(c Cell) bool { return c.Server.Key == sc.Baseline }
	rpsF := func(c Cell) Stat { return c.RPS }
	cpuF := func(c Cell) Stat { return c.CPUPerReq }
	stdRPS, _ := pick(cells, std, rpsF, true)
	stdCPU, _ := pick(cells, std, cpuF, false)
	bestRPS, bestRPSName := pick(cells, peer, rpsF, true)
	bestCPU, bestCPUName := pick(cells, peer, cpuF, false)
	unit := sc.Unit + "/s"
	fmt.Fprintf(b, "| server | %s | vs std | vs best peer | CPU/%s (ns) | vs std | vs best peer | server CPU | RSS | load-gen CPU | note |\n", unit, sc.Unit)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range cells {
		note := notes(c)
		if c.MBps.N > 0 {
			note = strings.TrimPrefix(note+"; "+fmt.Sprintf("%s MB/s", num(c.MBps.Med)), "; ")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			name(c), spread(c.RPS, num), ratio(c.RPS.Med, stdRPS), ratio(c.RPS.Med, bestRPS),
			spread(c.CPUPerReq, ns), ratio(c.CPUPerReq.Med, stdCPU), ratio(c.CPUPerReq.Med, bestCPU),
			pct(c.Util), mib(c.RSS), loadCol(c), note)
	}
	if bestRPSName != "" {
		fmt.Fprintf(b, "\nBest peer: %s by %s, %s by CPU/%s.\n", esc(bestRPSName), unit, esc(bestCPUName), sc.Unit)
	}
	b.WriteString("\n")
}

// writePaired lists, for each ringo server, its CPU per request over the
// best peer's round by round (see Results.PairedCPU).
func writePaired(b *strings.Builder, r *Results, sc Scenario, cells []Cell) {
	var best *Cell
	for i, c := range cells {
		if !c.Server.Ringo && !c.Failing() && c.CPUPerReq.N > 0 && (best == nil || c.CPUPerReq.Med < best.CPUPerReq.Med) {
			best = &cells[i]
		}
	}
	if best == nil {
		return
	}
	var parts []string
	for _, c := range cells {
		if !c.Server.Ringo {
			continue
		}
		if st := r.PairedCPU(sc, c.Server.Key, best.Server.Key); st.N > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f× (%.2f–%.2f, %d rounds)", esc(c.Server.Name), st.Med, st.Min, st.Max, st.N))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "Paired CPU/%s against %s, round by round (median, min–max): %s.\n\n", sc.Unit, esc(best.Server.Name), strings.Join(parts, "; "))
	}
}

func writeLatency(b *strings.Builder, sc Scenario, cells []Cell) {
	peer := func(c Cell) bool { return !c.Server.Ringo }
	std := func(c Cell) bool { return c.Server.Key == sc.Baseline }
	p99F := func(c Cell) Stat { return c.P99 }
	cpuF := func(c Cell) Stat { return c.CPUPerReq }
	stdP99, _ := pick(cells, std, p99F, false)
	bestP99, bestName := pick(cells, peer, p99F, false)
	stdCPU, _ := pick(cells, std, cpuF, false)
	b.WriteString("| server | achieved req/s | p50 | p99 | p99.9 | max | p99 vs std | p99 vs best peer | CPU/req (ns) | vs std | server CPU | send lag p99 | load-gen CPU | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range cells {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			name(c), spread(c.RPS, num), spread(c.P50, dur), spread(c.P99, dur), spread(c.P999, dur), dur(c.Max.Med),
			ratio(c.P99.Med, stdP99), ratio(c.P99.Med, bestP99), spread(c.CPUPerReq, ns), ratio(c.CPUPerReq.Med, stdCPU),
			pct(c.Util), dur(c.SendLag.Med), loadCol(c), notes(c))
	}
	if bestName != "" {
		fmt.Fprintf(b, "\nBest peer by p99: %s.\n", esc(bestName))
	}
	b.WriteString("\n")
}

func writeIdle(b *strings.Builder, sc Scenario, cells []Cell) {
	peer := func(c Cell) bool { return !c.Server.Ringo }
	std := func(c Cell) bool { return c.Server.Key == sc.Baseline }
	perF := func(c Cell) Stat { return c.PerConn }
	stdPer, _ := pick(cells, std, perF, false)
	bestPer, bestName := pick(cells, peer, perF, false)
	b.WriteString("| server | connections held | RSS before | RSS after | bytes per connection | vs std | vs best peer | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range cells {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			name(c), num(c.Held.Med), mib(c.RSSBefore), mib(c.RSS), spread(c.PerConn, num),
			ratio(c.PerConn.Med, stdPer), ratio(c.PerConn.Med, bestPer), notes(c))
	}
	if bestName != "" {
		fmt.Fprintf(b, "\nBest peer: %s.\n", esc(bestName))
	}
	b.WriteString("\n")
}

func writeFailures(b *strings.Builder, cells []Cell) {
	for _, c := range cells {
		for i, f := range c.Failures {
			if i == 3 {
				fmt.Fprintf(b, "- %s: %d more failed rounds\n", esc(c.Server.Name), len(c.Failures)-3)
				break
			}
			fmt.Fprintf(b, "- %s, failed round: %s\n", esc(c.Server.Name), esc(f))
		}
	}
	for _, c := range cells {
		if len(c.Failures) > 0 {
			b.WriteString("\n")
			return
		}
	}
}

func writeRingBench(b *strings.Builder, r *Results) {
	b.WriteString("## ring: NOP batches, ringo vs giouring\n\n")
	if r.RingErr != "" {
		fmt.Fprintf(b, "Not run: %s\n\n", esc(r.RingErr))
		return
	}
	if len(r.RingBench) == 0 {
		b.WriteString("No benchmark lines.\n\n")
		return
	}
	b.WriteString("From `go test -bench . -benchmem ./ringbench/`, pinned to the server CPUs. \"vs twin\" divides by the same benchmark with giouring in place of ringo, where one exists.\n\n")
	b.WriteString("| benchmark | ns/op | vs twin | B/op | allocs/op | other |\n|---|---:|---:|---:|---:|---|\n")
	byName := map[string]Bench{}
	for _, x := range r.RingBench {
		byName[x.Name] = x
	}
	for _, x := range r.RingBench {
		tw := "–"
		if t, ok := byName[twinName(x.Name)]; ok && t.Name != x.Name && t.NsPerOp > 0 {
			tw = ratio(x.NsPerOp, t.NsPerOp)
		}
		var extra []string
		for _, u := range slices.Sorted(maps.Keys(x.Extra)) {
			extra = append(extra, fmt.Sprintf("%s %s", num(x.Extra[u]), u))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", esc(x.Name), num(x.NsPerOp), tw, num(x.BPerOp), num(x.Allocs), esc(strings.Join(extra, ", ")))
	}
	b.WriteString("\n")
}

// twinName maps a ringo benchmark name to its giouring twin by swapping the
// implementation word, whatever its case ("Ring"/"Ringo" -> "Giouring").
func twinName(n string) string {
	for _, pair := range [][2]string{{"ringo", "giouring"}, {"Ringo", "Giouring"}, {"ring", "giouring"}, {"Ring", "Giouring"}} {
		if strings.Contains(n, pair[0]) && !strings.Contains(strings.ToLower(n), "giouring") {
			return strings.Replace(n, pair[0], pair[1], 1)
		}
	}
	return n
}

func name(c Cell) string {
	n := esc(c.Server.Name)
	if c.Server.Ringo {
		n = "**" + n + "**"
	}
	if c.Tool == "wrk" {
		n += " (wrk)"
	}
	return n
}

func notes(c Cell) string {
	var n []string
	if c.Errors > 0 {
		n = append(n, fmt.Sprintf("%d failed requests", c.Errors))
	}
	if c.Failing() {
		n = append(n, "≥ 1% failed: not used as a baseline for ratios")
	}
	if len(c.Failures) > 0 {
		n = append(n, fmt.Sprintf("%d of %d rounds failed", len(c.Failures), len(c.Failures)+c.OK))
	}
	if c.Contended() {
		n = append(n, fmt.Sprintf("⚑ CPUs shared: other work took %.0f%% of the server's, %.0f%% of the load generator's", 100*c.OtherServer.Med, 100*c.OtherLoad.Med))
	}
	return strings.Join(n, "; ")
}

func loadCol(c Cell) string {
	if c.LoadUtil.N == 0 {
		return "–"
	}
	s := pct(c.LoadUtil)
	if c.LoadBound() {
		s = "⚠ " + s
	}
	return s
}

func spread(s Stat, f func(float64) string) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return f(s.Med)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Med), f(s.Min), f(s.Max))
}

func ratio(v, base float64) string {
	if math.IsNaN(v) || math.IsNaN(base) || base == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v/base)
}

func pct(s Stat) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*s.Med)
}

func mib(s Stat) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", s.Med/(1<<20))
}

func ns(v float64) string { return fmt.Sprintf("%.0f", v) }

// num prints a count compactly with three significant figures.
func num(v float64) string {
	av := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case av >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case av >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	case av >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// dur prints nanoseconds as a duration with three significant figures.
func dur(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1e9:
		return fmt.Sprintf("%.3gs", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gµs", v/1e3)
	}
	return fmt.Sprintf("%.0fns", v)
}

// esc keeps free text from breaking a markdown table.
func esc(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
