package report

import (
	"math"
	"slices"
)

// Stat is the median and spread of one figure over the rounds.
type Stat struct {
	Med, Min, Max float64
	N             int // rounds with a value; 0 means no data
}

func summarize(vals []float64) Stat {
	if len(vals) == 0 {
		return Stat{Med: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Med: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Cell is one server's aggregate in one scenario.
type Cell struct {
	Server   Server
	OK       int      // rounds that completed
	Failures []string // errors of rounds that did not
	Errors   int64    // failed requests over all rounds
	Requests int64    // completed requests over the rounds that completed
	Tool     string

	RPS, CPUPerReq, Util, LoadUtil, RSS Stat
	P50, P99, P999, Max, SendLag        Stat
	PerConn, RSSBefore, Held            Stat
	MBps                                Stat
	OtherServer, OtherLoad              Stat
}

// Contended reports whether other work took at least 10% of the server's or
// the load generator's CPUs in the median round.
func (c Cell) Contended() bool {
	return (c.OtherServer.N > 0 && c.OtherServer.Med >= 0.1) || (c.OtherLoad.N > 0 && c.OtherLoad.Med >= 0.1)
}

// Failing reports whether at least 1% of the cell's requests failed: its
// figures describe a server that did not do the work the others did, so it
// is never the baseline or the best peer others are compared with.
func (c Cell) Failing() bool { return c.Errors > 0 && c.Errors*100 >= c.Requests+c.Errors }

// LoadBound reports whether the load generator, not the server, was the
// bottleneck: its CPU was at least 90% busy in the median round.
func (c Cell) LoadBound() bool { return c.LoadUtil.N > 0 && c.LoadUtil.Med >= 0.9 }

// Cells aggregates the rounds of one scenario, one Cell per server that ran
// (in the scenario's server order).
func (r *Results) Cells(sc Scenario) []Cell {
	byKey := map[string]Server{}
	for _, s := range r.Servers {
		byKey[s.Key] = s
	}
	var out []Cell
	for _, key := range sc.Servers {
		srv, ok := byKey[key]
		if !ok || srv.Skipped != "" {
			continue
		}
		c := Cell{Server: srv}
		var rps, cpu, util, lutil, rss, p50, p99, p999, mx, lag, per, before, held, mbps, oser, oload []float64
		for _, rd := range r.Rounds {
			if rd.Scenario != sc.Key || rd.Server != key {
				continue
			}
			c.Tool = rd.Tool
			if rd.Err != "" {
				c.Failures = append(c.Failures, rd.Err)
				continue
			}
			c.OK++
			c.Errors += rd.Errors
			c.Requests += rd.Requests
			rps = append(rps, rd.RPS)
			if rd.CPUPerReq > 0 {
				cpu = append(cpu, rd.CPUPerReq)
			}
			util = append(util, rd.ServerUtil)
			if sc.Kind != Idle {
				oser, oload = append(oser, rd.OtherServer), append(oload, rd.OtherLoad)
			}
			if rd.LoadUtil > 0 {
				lutil = append(lutil, rd.LoadUtil)
			}
			if rd.RSS > 0 {
				rss = append(rss, float64(rd.RSS))
			}
			if rd.Latency.Count > 0 {
				p50 = append(p50, float64(rd.Latency.P50))
				p99 = append(p99, float64(rd.Latency.P99))
				p999 = append(p999, float64(rd.Latency.P999))
				mx = append(mx, float64(rd.Latency.Max))
			}
			if rd.SendLagP99 > 0 {
				lag = append(lag, float64(rd.SendLagP99))
			}
			if sc.Kind == Idle {
				per = append(per, rd.PerConn)
				before = append(before, float64(rd.RSSBefore))
				held = append(held, float64(rd.Requests))
			}
			if rd.Bytes > 0 && rd.Elapsed > 0 {
				mbps = append(mbps, float64(rd.Bytes)/rd.Elapsed.Seconds()/1e6)
			}
		}
		c.RPS, c.CPUPerReq, c.Util, c.LoadUtil, c.RSS = summarize(rps), summarize(cpu), summarize(util), summarize(lutil), summarize(rss)
		c.P50, c.P99, c.P999, c.Max, c.SendLag = summarize(p50), summarize(p99), summarize(p999), summarize(mx), summarize(lag)
		c.PerConn, c.RSSBefore, c.Held, c.MBps = summarize(per), summarize(before), summarize(held), summarize(mbps)
		c.OtherServer, c.OtherLoad = summarize(oser), summarize(oload)
		out = append(out, c)
	}
	return out
}

// pick returns the median of the cell that is best by f among cells
// accepted by keep (higher is better when high, else lower), and its name.
func pick(cells []Cell, keep func(Cell) bool, f func(Cell) Stat, high bool) (float64, string) {
	best, name := math.NaN(), ""
	for _, c := range cells {
		v := f(c).Med
		if !keep(c) || c.Failing() || f(c).N == 0 || math.IsNaN(v) {
			continue
		}
		if math.IsNaN(best) || (high && v > best) || (!high && v < best) {
			best, name = v, c.Server.Name
		}
	}
	return best, name
}

// PairedCPU is the CPU per request of server a over that of server b in the
// same round of scenario sc, summarized over the rounds both completed.
// Servers take turns within a round, so a round's ratio compares figures
// taken minutes apart at most: slow drift of a shared machine (neighbours,
// frequency) cancels out of it, which it does not from a ratio of medians.
func (r *Results) PairedCPU(sc Scenario, a, b string) Stat {
	cpu := map[string]map[int]float64{a: {}, b: {}}
	for _, rd := range r.Rounds {
		if m, ok := cpu[rd.Server]; ok && rd.Scenario == sc.Key && rd.Err == "" && rd.CPUPerReq > 0 {
			m[rd.Round] = rd.CPUPerReq
		}
	}
	var ratios []float64
	for round, va := range cpu[a] {
		if vb, ok := cpu[b][round]; ok {
			ratios = append(ratios, va/vb)
		}
	}
	return summarize(ratios)
}
