//go:build linux

package reactor

import (
	"testing"

	"github.com/ringo-io/ringo/ring"
)

// TestCappedRecvResetReported with the legs of kernels whose multishot recv
// has no bundles (6.0-6.9) or no cap (before 6.17): without bundles the
// multishot recv lost the reset too, in 1 of about 60 conns.
func TestResetDuringUploadUnderMasks(t *testing.T) {
	skipWithoutMultishotRecv(t)
	for _, leg := range []struct {
		name string
		opts []Option
	}{
		{"no-bundle", []Option{withFeatureMask(ring.CapRecvBundle)}},
		{"no-bundle-no-limit", []Option{withFeatureMask(ring.CapRecvBundle | ring.CapRecvLimit)}},
		{"no-limit", []Option{withFeatureMask(ring.CapRecvLimit)}},
		{"6.1", []Option{withFeatureMask(kernelGenerations[4].mask)}},
	} {
		t.Run(leg.name, func(t *testing.T) { checkResetDuringUpload(t, leg.opts) })
	}
}
