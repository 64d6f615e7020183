//go:build linux

package ring

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	f, err := Detect()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	t.Logf("%s", f)
	if len(f.Ops) == 0 {
		t.Fatal("no opcodes probed")
	}
	for i := 1; i < len(f.Ops); i++ {
		if f.Ops[i] <= f.Ops[i-1] {
			t.Fatalf("Ops not increasing: %v", f.Ops)
		}
	}
	if f.Ops[0] != OpNop {
		t.Fatalf("NOP not reported supported: %v", f.Ops)
	}
	// Caps derived from flags must agree with the flags.
	if f.Has(CapExtArg) != (f.Feat&FeatExtArg != 0) {
		t.Fatalf("CapExtArg %v vs feat %#x", f.Has(CapExtArg), f.Feat)
	}
	if f.Has(CapDeferTaskrun) != (f.SetupFlags&SetupDeferTaskrun != 0) {
		t.Fatalf("CapDeferTaskrun %v vs setup %#x", f.Has(CapDeferTaskrun), f.SetupFlags)
	}
	// The multishot recv smoke test runs on a buffer ring.
	if f.Has(CapMultishotRecv) && !f.Has(CapBufRing) {
		t.Fatalf("multishot recv without buffer rings: %s", f.Caps)
	}
	if f.Has(CapRecvBundle) && f.Feat&FeatRecvsendBundle == 0 {
		t.Fatalf("bundle detected without FEAT_RECVSEND_BUNDLE")
	}
}

func TestFeaturesWithoutAndString(t *testing.T) {
	f := Features{Caps: CapBufRing | CapSendZC | CapExtArg}
	g := f.Without(CapSendZC)
	if g.Has(CapSendZC) || !g.Has(CapBufRing|CapExtArg) || !f.Has(CapSendZC) {
		t.Fatalf("Without: %s -> %s", f.Caps, g.Caps)
	}
	if s := (CapBufRing | CapSendZC).String(); s != "buf-ring|send-zc" {
		t.Fatalf("String = %q", s)
	}
	if s := Cap(0).String(); s != "none" {
		t.Fatalf("String(0) = %q", s)
	}
	if s := (capEnd | CapNoDrop).String(); !strings.Contains(s, "nodrop|0x") {
		t.Fatalf("String with unknown bit = %q", s)
	}
	if len(capNames) != bitsLen(uint32(capEnd))-1 {
		t.Fatalf("capNames has %d names for %d caps", len(capNames), bitsLen(uint32(capEnd))-1)
	}
	if !strings.Contains(f.String(), "buf-ring") {
		t.Fatalf("Features.String = %q", f.String())
	}
}

func bitsLen(x uint32) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}
