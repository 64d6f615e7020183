package reactor

import (
	"errors"
	"log/slog"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// Option configures a Server.
type Option func(*config) error

type config struct {
	loops       int
	cpus        []int
	bufSize     int
	bufCount    int
	idle        time.Duration
	high, low   int
	backend     Backend
	backendSet  bool
	logger      *slog.Logger
	maxConns    int
	readBufSize int
	maxPending  int
	asyncLimit  int64
	parked      bool
	batchWait   time.Duration
	batchSet    bool
	featureMask ring.Cap // test only: caps removed from the detected set
	ringSQ      uint32   // test only: io_uring SQ entries (0: uringSQEntries)
	ringCQ      uint32   // test only: io_uring CQ entries (0: uringCQEntries)
	fileSlots   int      // test only: registered file slots per loop (0: default, <0: none)
}

// Defaults.
const (
	// DefaultBufferSize and DefaultBufferCount size each loop's provided
	// buffer ring: 256 buffers of 16 KiB (4 MiB per loop, off-heap).
	DefaultBufferSize  = 16 << 10
	DefaultBufferCount = 256
	// DefaultHighWater and DefaultLowWater bound the outbound queue of a conn:
	// reading pauses above 1 MiB queued and resumes below 256 KiB.
	DefaultHighWater = 1 << 20
	DefaultLowWater  = 256 << 10
	// DefaultReadBufferSize is the size of a single-shot recv buffer when no
	// buffer ring is used (io_uring): taken from a per-loop pool when a conn
	// is readable, given back after its recv. The epoll loop reads into one
	// buffer of max(read buffer size, 64 KiB) shared by its conns.
	DefaultReadBufferSize = 16 << 10
	// DefaultMaxPendingInput bounds the input a handler may leave
	// unconsumed on one conn (see WithMaxPendingInput).
	DefaultMaxPendingInput = 4 << 20
	// DefaultAsyncWriteLimit bounds the output pending on one conn for
	// AsyncWrite (see WithAsyncWriteLimit).
	DefaultAsyncWriteLimit = 4 << 20
	// DefaultBatchWait is how long a busy io_uring loop may gather
	// completions before it wakes (see WithBatchWait).
	DefaultBatchWait = 20 * time.Microsecond
)

var errBadOption = errors.New("reactor: invalid option")

// WithLoops sets the number of loops (default runtime.GOMAXPROCS(0)).
func WithLoops(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 4096 {
			return errBadOption
		}
		c.loops = n
		return nil
	}
}

// WithCPUAffinity pins loop i to cpus[i%len(cpus)]. Parked loops
// (WithParkedLoops) are not pinned: they have no thread of their own.
func WithCPUAffinity(cpus []int) Option {
	return func(c *config) error {
		for _, cpu := range cpus {
			if cpu < 0 {
				return errBadOption
			}
		}
		c.cpus = append([]int(nil), cpus...)
		return nil
	}
}

// WithBufferRing sets each loop's provided buffers: count buffers (a power of
// two, at most 32768) of size bytes. Defaults: DefaultBufferCount buffers of
// DefaultBufferSize bytes.
func WithBufferRing(size, count int) Option {
	return func(c *config) error {
		if size <= 0 || size > 1<<24 || count <= 0 || count > 32768 || count&(count-1) != 0 {
			return errBadOption
		}
		c.bufSize, c.bufCount = size, count
		return nil
	}
}

// WithParkedLoops makes the loops park in the Go runtime's netpoller when
// they have nothing to do, instead of blocking their OS thread in
// io_uring_enter or epoll_wait.
//
// Why: a loop blocked in the kernel keeps its P (the runtime cannot tell the
// call will block), and by default there are as many loops as Ps. Until
// sysmon retakes a P, 20 µs to 10 ms later, no other goroutine of the
// process runs there and the runtime's netpoller is not polled, so
// goroutines that do their own network I/O (a net/http handler calling a
// database or another service) wait that long for every read. Parked loops
// hold no P while idle; handing work to other goroutines and back costs a
// goroutine switch instead of two thread hand-offs.
//
// Parked loops run on epoll: with the default backend (auto) they choose
// it, and io_uring loops, forced by option or RINGO_BACKEND, stay locked.
// An io_uring ring whose loop moves between threads must do without
// SINGLE_ISSUER, DEFER_TASKRUN and COOP_TASKRUN, and then every completion
// interrupts its submitting thread: measured, 1.44x the CPU per request of
// the locked ring for net/http handlers at saturation, where parked epoll
// loops cost the same as locked io_uring ones. WithCPUAffinity does not pin
// parked loops (they have no thread of their own).
//
// Inline handlers that never wait on other goroutines run fastest on
// locked loops, the default; httpx parks the loops of FromHTTP servers.
func WithParkedLoops(on bool) Option {
	return func(c *config) error {
		c.parked = on
		return nil
	}
}

// WithIdleTimeout closes connections with no read or write activity for d
// (0 = none, the default; see Conn.SetIdleTimeout).
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return errBadOption
		}
		c.idle = d
		return nil
	}
}

// WithWriteWaterMarks pauses reading a conn whose outbound queue exceeds high
// bytes until it drains below low (defaults DefaultHighWater,
// DefaultLowWater). That suits a server, whose input makes its output. Where a
// conn's input feeds another conn (a proxy), pausing it also stops taking what
// its peer sends, and a peer that reads only as it may write then never
// drains the queue: such handlers turn the marks off (math.MaxInt for both)
// and bound their queues themselves, as examples/proxy does.
func WithWriteWaterMarks(high, low int) Option {
	return func(c *config) error {
		if high <= 0 || low < 0 || low > high {
			return errBadOption
		}
		c.high, c.low = high, low
		return nil
	}
}

// WithBackend forces a backend (an explicit option wins over RINGO_BACKEND).
// The empty Backend forces nothing: the choice stays with RINGO_BACKEND,
// else auto (what a command-line flag left empty should mean).
func WithBackend(b Backend) Option {
	return func(c *config) error {
		switch b {
		case "":
			return nil
		case BackendAuto, BackendUring, BackendEpoll:
		default:
			return errBadOption
		}
		c.backend, c.backendSet = b, true
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errBadOption
		}
		c.logger = l
		return nil
	}
}

// WithMaxConns limits open connections per server: a connection accepted
// while n are open (accepted or dialed) is closed at once, or given to the
// handler's OnRefuse when it implements Refuser (0 = no limit).
func WithMaxConns(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return errBadOption
		}
		c.maxConns = n
		return nil
	}
}

// WithReadBufferSize sets the size of a single-shot recv buffer (io_uring
// without buffer rings) and of the epoll loop's read buffer.
func WithReadBufferSize(n int) Option {
	return func(c *config) error {
		if n < 512 || n > 1<<24 {
			return errBadOption
		}
		c.readBufSize = n
		return nil
	}
}

// WithMaxPendingInput bounds the bytes a handler may leave unconsumed on a
// conn (default DefaultMaxPendingInput): when more than that is left after
// an OnData call on a conn that is reading, the conn is closed with
// ErrInputOverflow, so a handler that never consumes cannot make the server
// buffer a peer's stream without limit. (Input kept while reading is paused
// is bounded by the kernel, not by this limit.)
func WithMaxPendingInput(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return errBadOption
		}
		c.maxPending = n
		return nil
	}
}

// WithAsyncWriteLimit bounds, per conn, the output AsyncWrite may leave
// pending (default DefaultAsyncWriteLimit bytes): queued on the conn and not
// yet sent, plus AsyncWrite bytes the loop has not taken yet. An AsyncWrite
// that would exceed it while output is pending fails with ErrQueueFull; one
// into an empty queue is always taken.
func WithAsyncWriteLimit(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return errBadOption
		}
		c.asyncLimit = int64(n)
		return nil
	}
}

// WithBatchWait sets how long a busy io_uring loop may gather completions
// before it wakes (default DefaultBatchWait, 20 µs; 0 turns batching off;
// at most 1 ms).
//
// A loop that has found at least 8 completions ready at once since it last
// slept is busy. When it runs out of work it then sleeps until 32 completions are
// ready or d has passed since it began to wait, whichever comes first (after
// d, the first completion wakes it, and timers still fire on time). A loop
// with less traffic wakes at its first completion. Waking once per batch
// rather than once per arriving packet saves the wake-ups, and the
// contention of receiving on a socket the sender's CPU still holds: about a
// tenth of the server CPU per request under pipelined load. The price is up
// to d of added latency per request, under load only.
//
// It needs IORING_FEAT_MIN_TIMEOUT (Linux 6.12) and a ring with
// DEFER_TASKRUN; the epoll backend and older kernels ignore it.
func WithBatchWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > time.Millisecond {
			return errBadOption
		}
		c.batchWait, c.batchSet = d, true
		return nil
	}
}

// withFeatureMask (tests only) removes caps from the detected io_uring
// features, so each degraded path runs on a new kernel.
func withFeatureMask(mask ring.Cap) Option {
	return func(c *config) error {
		c.featureMask |= mask
		return nil
	}
}

// withFileSlots (tests only) sets the size of each loop's io_uring
// registered file table (n < 0: none), so tests can run conns beyond it on
// plain fds next to conns in it.
func withFileSlots(n int) Option {
	return func(c *config) error {
		c.fileSlots = n
		return nil
	}
}

// withRingSizes (tests only) sets each loop's io_uring SQ and CQ sizes
// (powers of two, cq >= sq), so tests can fill the SQ within one iteration
// and overflow the CQ on demand.
func withRingSizes(sq, cq uint32) Option {
	return func(c *config) error {
		if sq == 0 || cq < sq || sq&(sq-1) != 0 || cq&(cq-1) != 0 {
			return errBadOption
		}
		c.ringSQ, c.ringCQ = sq, cq
		return nil
	}
}
