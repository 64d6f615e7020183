package report

import (
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

// A peer whose rounds failed 99% of their requests (answered 1,000 of
// 100,000) is still ranked, and becomes the "best peer" every ringo ratio is
// taken against.
func TestFailingPeerIsNeverBaseline(t *testing.T) {
	r := &Results{
		Servers: []Server{{Key: "nethttp", Name: "net/http"}, {Key: "gnet", Name: "gnet"}, {Key: "ringo", Name: "ringo", Ringo: true}},
		Scenarios: []Scenario{{Key: "latency", Title: "lat", Kind: Latency, Unit: "req", Baseline: "nethttp",
			Servers: []string{"nethttp", "gnet", "ringo"}}},
	}
	for round := 1; round <= 3; round++ {
		for _, s := range []struct {
			key      string
			p99      time.Duration
			req, err int64
		}{{"nethttp", 5 * time.Millisecond, 100000, 0}, {"gnet", time.Millisecond, 1000, 99000}, {"ringo", 2 * time.Millisecond, 100000, 0}} {
			r.Rounds = append(r.Rounds, Round{Scenario: "latency", Server: s.key, Round: round, RPS: float64(s.req), Requests: s.req, Errors: s.err,
				CPUPerReq: 20000, Latency: hist.Summary{Count: uint64(s.req), P50: s.p99 / 4, P99: s.p99, P999: s.p99, Max: s.p99}})
		}
	}
	md, _, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md, "Best peer by p99: gnet") {
		for _, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, "| gnet") || strings.HasPrefix(l, "| **ringo") || strings.HasPrefix(l, "Best peer") {
				t.Log(l)
			}
		}
		t.Error("a peer that failed 99% of its requests is the best peer the ringo rows are ranked against")
	}
}
