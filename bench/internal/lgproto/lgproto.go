// Package lgproto is the line protocol between the bench runner and the
// loadgen process it starts: loadgen prints Start when the measurement window
// opens, End when it closed, then one Result line. In hold mode it then waits
// for its stdin to close before closing the connections and exiting.
package lgproto

import (
	"time"

	"github.com/ringo-io/ringo/bench/load"
)

// The lines loadgen prints on stdout, each alone on its line.
const (
	Start  = "MEASURE-START"
	End    = "MEASURE-END"
	Result = "RESULT " // followed by the JSON of Outcome
)

// Outcome is loadgen's result: what load measured plus the generator's own
// CPU time (user+system, from getrusage) over the measurement window.
type Outcome struct {
	load.Result
	CPU  time.Duration `json:"loadgen_cpu_ns"`
	Wall time.Duration `json:"loadgen_wall_ns"`
}
