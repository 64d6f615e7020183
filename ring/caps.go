package ring

import (
	"fmt"
	"strings"
)

// Cap is one io_uring capability, found by Detect. Caps form a bit set.
type Cap uint32

// Capabilities. Those that no kernel flag announces are found by smoke tests
// over real sockets (see Detect).
const (
	CapMultishotAccept Cap = 1 << iota // IORING_ACCEPT_MULTISHOT (5.19)
	CapMultishotRecv                   // IORING_RECV_MULTISHOT with buffer select (6.0)
	CapBufRing                         // IORING_REGISTER_PBUF_RING (5.19)
	CapRecvBundle                      // IORING_RECVSEND_BUNDLE (6.10)
	CapIncrementalBuf                  // IOU_PBUF_RING_INC (6.12)
	CapSendZC                          // IORING_OP_SEND_ZC (6.0)
	CapMsgRing                         // IORING_OP_MSG_RING (5.18)
	CapExtArg                          // IORING_FEAT_EXT_ARG (5.11)
	CapFastPoll                        // IORING_FEAT_FAST_POLL (5.7)
	CapNoDrop                          // IORING_FEAT_NODROP (5.5)
	CapSingleIssuer                    // IORING_SETUP_SINGLE_ISSUER (6.0)
	CapDeferTaskrun                    // IORING_SETUP_DEFER_TASKRUN (6.1)
	CapCoopTaskrun                     // IORING_SETUP_COOP_TASKRUN|TASKRUN_FLAG (5.19)
	CapNoSQArray                       // IORING_SETUP_NO_SQARRAY (6.6)
	CapSubmitAll                       // IORING_SETUP_SUBMIT_ALL (5.18)
	CapRegisteredRing                  // IORING_REGISTER_RING_FDS (5.18)
	CapSocket                          // IORING_OP_SOCKET (5.19)
	CapCancelFd                        // IORING_ASYNC_CANCEL_FD (5.19)
	CapRecvLimit                       // sqe len caps each CQE of a multishot recv (older kernels refuse it: EINVAL)
	CapMinWait                         // IORING_FEAT_MIN_TIMEOUT: min_wait_usec in io_uring_getevents_arg (6.12)

	capEnd // one past the last capability
)

var capNames = [...]string{
	"multishot-accept", "multishot-recv", "buf-ring", "recv-bundle",
	"incremental-buf", "send-zc", "msg-ring", "ext-arg", "fast-poll",
	"nodrop", "single-issuer", "defer-taskrun", "coop-taskrun",
	"no-sqarray", "submit-all", "registered-ring", "socket", "cancel-fd",
	"recv-limit", "min-wait",
}

// String names the capabilities in c, separated by '|'.
func (c Cap) String() string {
	if c == 0 {
		return "none"
	}
	var b strings.Builder
	for i := 0; Cap(1)<<i < capEnd; i++ {
		if c&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(capNames[i])
	}
	if rest := c &^ (capEnd - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", uint32(rest))
	}
	return b.String()
}

// Features is what Detect found. It is a plain value: copy it freely.
type Features struct {
	Feat       uint32  // params.features (IORING_FEAT_*) of the probe ring
	SetupFlags uint32  // the best setup flags New would get
	Ops        []uint8 // opcodes REGISTER_PROBE reports as supported
	Caps       Cap     // capabilities
}

// Has reports whether every capability in c is present.
func (f Features) Has(c Cap) bool { return f.Caps&c == c }

// Without returns f with the capabilities in c removed (to force fallbacks).
func (f Features) Without(c Cap) Features {
	f.Caps &^= c
	return f
}

// String is one line for logs.
func (f Features) String() string {
	return fmt.Sprintf("io_uring feat=%#x setup=%#x ops=%d caps=%s", f.Feat, f.SetupFlags, len(f.Ops), f.Caps)
}
