//go:build !linux

package ring

// io_uring exists only on Linux. Elsewhere New and Detect return
// ErrUnsupported so that packages importing ring still build.

// Ring is an io_uring instance; on this platform none can be created.
type Ring struct{}

// New returns ErrUnsupported on this platform.
func New(cfg Config) (*Ring, error) { return nil, ErrUnsupported }

// Detect returns ErrUnsupported on this platform.
func Detect() (Features, error) { return Features{}, ErrUnsupported }

// Close does nothing on this platform.
func (r *Ring) Close() error { return nil }

// Fd is -1 on this platform.
func (r *Ring) Fd() int { return -1 }
