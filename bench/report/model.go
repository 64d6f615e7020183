// Package report holds the bench suite's results (the raw per-round data
// kept as JSON) and renders them as a markdown report with SVG charts.
package report

import (
	"time"

	"github.com/ringo-io/ringo/bench/hist"
)

// Kind says what a scenario measures, which decides its table.
type Kind string

// The scenario kinds.
const (
	Throughput Kind = "throughput" // closed loop: req/s and server CPU per request
	Latency    Kind = "latency"    // open loop at a fixed rate: percentiles from intended send times
	Idle       Kind = "idle"       // idle keep-alive connections: server RSS per connection
)

// Server describes one server under test.
type Server struct {
	Key     string `json:"key"`             // short identifier, e.g. "ringo-uring"
	Name    string `json:"name"`            // display name, e.g. "ringo (io_uring)"
	Ringo   bool   `json:"ringo"`           // ours, as opposed to a peer
	Skipped string `json:"skipped"`         // why it did not run (does not build, ...); empty if it ran
	Check   string `json:"check,omitempty"` // HTTP: how its response differs from the one all must give
}

// Scenario is one workload run against a set of servers.
type Scenario struct {
	Key      string   `json:"key"`   // e.g. "http-64"
	Title    string   `json:"title"` // e.g. "HTTP keep-alive, 64 connections"
	Kind     Kind     `json:"kind"`
	Unit     string   `json:"unit"`               // what one "request" is: "req", "round trip"
	Method   string   `json:"method"`             // how it was driven, one line
	Group    string   `json:"group"`              // chart the scenario belongs to: "http", "echo"
	Baseline string   `json:"baseline"`           // key of the standard-library twin (net/http or net)
	Servers  []string `json:"servers"`            // keys, in run order
	Conns    int      `json:"conns"`              // connections
	Depth    int      `json:"depth,omitempty"`    // pipelining depth
	Payload  int      `json:"payload,omitempty"`  // echo bytes
	Rate     float64  `json:"rate,omitempty"`     // open-loop intended rate
	Duration string   `json:"duration,omitempty"` // measurement window per round
}

// Round is one run of one server in one scenario.
type Round struct {
	Scenario string `json:"scenario"`
	Server   string `json:"server"`
	Round    int    `json:"round"`
	Tool     string `json:"tool"` // "loadgen" or "wrk"
	Err      string `json:"err,omitempty"`

	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	RPS      float64       `json:"rps"`
	Bytes    int64         `json:"bytes,omitempty"`

	ServerCPU  time.Duration `json:"server_cpu_ns"`
	ServerUtil float64       `json:"server_util"` // fraction of the server CPU set busy
	CPUPerReq  float64       `json:"cpu_per_req_ns"`
	LoadCPU    time.Duration `json:"load_cpu_ns"`
	LoadUtil   float64       `json:"load_util"` // fraction of the load CPU set busy
	// OtherServer and OtherLoad are the fractions of the server's and the
	// load generator's CPU sets busy with anything else (other processes,
	// hypervisor steal): competition the round did not control.
	OtherServer float64 `json:"other_server,omitempty"`
	OtherLoad   float64 `json:"other_load,omitempty"`
	RSS         int64   `json:"rss"` // server VmRSS at the end of the round
	RSSBefore   int64   `json:"rss_before,omitempty"`
	PerConn     float64 `json:"rss_per_conn,omitempty"` // idle: (RSS - RSSBefore) / held connections

	Latency    hist.Summary `json:"latency"`
	SendLagP99 int64        `json:"send_lag_p99_ns,omitempty"`
	Errs       []string     `json:"errs,omitempty"`
}

// Bench is one line of `go test -bench` output.
type Bench struct {
	Name    string             `json:"name"`
	N       int64              `json:"n"`
	NsPerOp float64            `json:"ns_per_op"`
	BPerOp  float64            `json:"b_per_op"`
	Allocs  float64            `json:"allocs_per_op"`
	Extra   map[string]float64 `json:"extra,omitempty"` // other metrics by unit
}

// Meta is the context a reader needs to judge the figures.
type Meta struct {
	Date       string        `json:"date"`
	Started    time.Time     `json:"started"`
	Took       time.Duration `json:"took_ns"`
	Quick      bool          `json:"quick"`
	CPUModel   string        `json:"cpu_model"`
	Cores      int           `json:"cores"`
	Kernel     string        `json:"kernel"`
	GoVersion  string        `json:"go_version"`
	Versions   [][2]string   `json:"versions"` // peer module, version
	Wrk        string        `json:"wrk"`      // wrk version line, empty when not used
	Rounds     int           `json:"rounds"`
	Warmup     time.Duration `json:"warmup_ns"`
	Measure    time.Duration `json:"measure_ns"`
	ServerCPUs string        `json:"server_cpus"` // taskset list, empty when not pinned
	LoadCPUs   string        `json:"load_cpus"`
	Notes      []string      `json:"notes,omitempty"`
}

// Results is everything one bench run produced.
type Results struct {
	Meta      Meta       `json:"meta"`
	Servers   []Server   `json:"servers"`
	Scenarios []Scenario `json:"scenarios"`
	Rounds    []Round    `json:"rounds"`
	RingBench []Bench    `json:"ringbench,omitempty"`
	RingErr   string     `json:"ringbench_err,omitempty"` // why the ring benchmarks are missing
}
