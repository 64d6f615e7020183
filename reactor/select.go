//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"os"

	"github.com/ringo-io/ringo/ring"
)

// requiredCaps are what the io_uring backend cannot do without: FAST_POLL
// (5.7) makes socket ops poll-driven instead of punted to io-wq threads;
// NODROP (5.5, so implied by FAST_POLL) makes a full CQ keep completions on
// the kernel's overflow list instead of dropping them (backend_uring.go,
// wait), which no-byte-lost rests on.
const requiredCaps = ring.CapFastPoll | ring.CapNoDrop

// requiredOps are the opcodes the io_uring backend submits.
var requiredOps = [...]uint8{ring.OpAccept, ring.OpRecv, ring.OpSend, ring.OpConnect, ring.OpAsyncCancel, ring.OpRead, ring.OpPollAdd}

func (s *Server) resolveBackend() error {
	want := BackendAuto
	source := "default"
	if env := os.Getenv(EnvBackend); env != "" {
		switch b := Backend(env); b {
		case BackendAuto, BackendUring, BackendEpoll:
			want, source = b, EnvBackend+"="+env
		default:
			return fmt.Errorf("reactor: %s=%q: want auto, uring or epoll", EnvBackend, env)
		}
	}
	if s.cfg.backendSet {
		want, source = s.cfg.backend, "option"
	}
	if want == BackendEpoll {
		s.backend, s.reason = BackendEpoll, "forced by "+source
		return nil
	}
	if want == BackendAuto && s.cfg.parked {
		s.backend, s.reason = BackendEpoll, "parked loops (WithParkedLoops) run on epoll"
		return nil
	}
	// io_uring loops are always locked (see WithParkedLoops).
	s.cfg.parked = false
	feats, err := ring.Detect()
	if err == nil {
		feats = feats.Without(s.cfg.featureMask)
		err = uringUsable(feats)
	}
	if err != nil {
		if want == BackendUring {
			return fmt.Errorf("%w: io_uring (%s): %w", ErrBackendUnavailable, source, err)
		}
		s.backend, s.reason = BackendEpoll, "io_uring unusable: "+err.Error()
		return nil
	}
	s.backend, s.feats = BackendUring, feats
	if want == BackendUring {
		s.reason = "forced by " + source
	} else {
		s.reason = "io_uring available"
	}
	return nil
}

var (
	errNoFastPoll = errors.New("kernel lacks IORING_FEAT_FAST_POLL (5.7+)")
	errNoNoDrop   = errors.New("kernel lacks IORING_FEAT_NODROP (5.5+)")
)

func uringUsable(f ring.Features) error {
	if !f.Has(ring.CapFastPoll) {
		return errNoFastPoll
	}
	if !f.Has(requiredCaps) {
		return errNoNoDrop
	}
	for _, op := range requiredOps {
		found := false
		for _, have := range f.Ops {
			if have == op {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("kernel lacks io_uring opcode %d", op)
		}
	}
	return nil
}

func (s *Server) newBackend(l *Loop) (backend, error) {
	if s.backend == BackendUring {
		return newUring(l)
	}
	return newEpoll(l)
}
