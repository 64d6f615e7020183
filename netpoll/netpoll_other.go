//go:build !linux

package netpoll

// Poller is unavailable off Linux.
type Poller struct{}

// New returns ErrUnsupported off Linux.
func New(maxEvents int) (*Poller, error) { return nil, ErrUnsupported }
