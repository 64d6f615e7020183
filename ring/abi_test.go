//go:build linux

package ring

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sizes and offsets of the kernel structs, from include/uapi/linux/io_uring.h.
func TestABILayout(t *testing.T) {
	var s SQE
	var c CQE
	var p params
	var so sqringOffsets
	var co cqringOffsets
	var b bufEntry
	var g getEventsArg
	var br bufReg
	var rr rsrcRegister
	var fu filesUpdate
	var ru rsrcUpdate
	var ph probeHdr
	var po probeOp
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(io_uring_sqe)", unsafe.Sizeof(s), 64},
		{"sqe.opcode", unsafe.Offsetof(s.Opcode), 0},
		{"sqe.flags", unsafe.Offsetof(s.Flags), 1},
		{"sqe.ioprio", unsafe.Offsetof(s.Ioprio), 2},
		{"sqe.fd", unsafe.Offsetof(s.Fd), 4},
		{"sqe.off", unsafe.Offsetof(s.Off), 8},
		{"sqe.addr", unsafe.Offsetof(s.Addr), 16},
		{"sqe.len", unsafe.Offsetof(s.Len), 24},
		{"sqe.rw_flags", unsafe.Offsetof(s.OpFlags), 28},
		{"sqe.user_data", unsafe.Offsetof(s.UserData), 32},
		{"sqe.buf_index", unsafe.Offsetof(s.BufIndex), 40},
		{"sqe.personality", unsafe.Offsetof(s.Personality), 42},
		{"sqe.file_index", unsafe.Offsetof(s.FileIndex), 44},
		{"sqe.addr3", unsafe.Offsetof(s.Addr3), 48},
		{"sqe.__pad2", unsafe.Offsetof(s.pad2), 56},
		{"sizeof(io_uring_cqe)", unsafe.Sizeof(c), 16},
		{"cqe.user_data", unsafe.Offsetof(c.UserData), 0},
		{"cqe.res", unsafe.Offsetof(c.Res), 8},
		{"cqe.flags", unsafe.Offsetof(c.Flags), 12},
		{"sizeof(io_uring_params)", unsafe.Sizeof(p), 120},
		{"params.flags", unsafe.Offsetof(p.flags), 8},
		{"params.features", unsafe.Offsetof(p.features), 20},
		{"params.wq_fd", unsafe.Offsetof(p.wqFd), 24},
		{"params.sq_off", unsafe.Offsetof(p.sqOff), 40},
		{"params.cq_off", unsafe.Offsetof(p.cqOff), 80},
		{"sizeof(io_sqring_offsets)", unsafe.Sizeof(so), 40},
		{"sq_off.array", unsafe.Offsetof(so.array), 24},
		{"sq_off.user_addr", unsafe.Offsetof(so.userAddr), 32},
		{"sizeof(io_cqring_offsets)", unsafe.Sizeof(co), 40},
		{"cq_off.cqes", unsafe.Offsetof(co.cqes), 20},
		{"cq_off.flags", unsafe.Offsetof(co.flags), 24},
		{"cq_off.user_addr", unsafe.Offsetof(co.userAddr), 32},
		{"sizeof(io_uring_buf)", unsafe.Sizeof(b), 16},
		{"buf.len", unsafe.Offsetof(b.len), 8},
		{"buf.bid", unsafe.Offsetof(b.bid), 12},
		{"buf.resv (ring tail)", unsafe.Offsetof(b.resv), 14},
		{"sizeof(io_uring_getevents_arg)", unsafe.Sizeof(g), 24},
		{"getevents_arg.ts", unsafe.Offsetof(g.ts), 16},
		{"sizeof(__kernel_timespec)", unsafe.Sizeof(kernelTimespec{}), 16},
		{"sizeof(unix.Timespec)", unsafe.Sizeof(unix.Timespec{}), 16},
		{"sizeof(io_uring_buf_reg)", unsafe.Sizeof(br), 40},
		{"buf_reg.bgid", unsafe.Offsetof(br.bgid), 12},
		{"buf_reg.flags", unsafe.Offsetof(br.flags), 14},
		{"sizeof(io_uring_rsrc_register)", unsafe.Sizeof(rr), 32},
		{"rsrc_register.data", unsafe.Offsetof(rr.data), 16},
		{"sizeof(io_uring_files_update)", unsafe.Sizeof(fu), 16},
		{"sizeof(io_uring_rsrc_update)", unsafe.Sizeof(ru), 16},
		{"sizeof(io_uring_probe)", unsafe.Sizeof(ph), 16},
		{"sizeof(io_uring_probe_op)", unsafe.Sizeof(po), 8},
		{"probe.ops", unsafe.Offsetof(rawProbe{}.ops), 16},
		{"sizeof(io_uring_sync_cancel_reg)", unsafe.Sizeof(syncCancelReg{}), 64},
		{"sync_cancel_reg.timeout", unsafe.Offsetof(syncCancelReg{}.timeout), 16},
		{"sync_cancel_reg.opcode", unsafe.Offsetof(syncCancelReg{}.opcode), 32},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// The buffer ring tail word: entry 0's bid in the low-addressed half, the
// tail in the high-addressed half, whatever the byte order.
func TestBufTailWord(t *testing.T) {
	var e bufEntry
	*(*uint32)(unsafe.Pointer(&e.bid)) = bufTailWord(0x1234, 0xabcd)
	if e.bid != 0x1234 || e.resv != 0xabcd {
		t.Fatalf("bid=%#x tail=%#x", e.bid, e.resv)
	}
}

// The kernel's mask and entry counts agree with what we asked for.
func TestRingGeometry(t *testing.T) {
	r := newRing(t, Config{Entries: 5, CQEntries: 40})
	if r.SQEntries() != 8 || r.sqMask != 7 {
		t.Fatalf("SQEntries = %d mask %d, want 8 and 7", r.SQEntries(), r.sqMask)
	}
	if r.CQEntries() != 64 || r.cqMask != 63 {
		t.Fatalf("CQEntries = %d mask %d, want 64 (40 rounded up)", r.CQEntries(), r.cqMask)
	}
	d := newRing(t, Config{})
	if d.SQEntries() != 256 || d.CQEntries() != 1024 {
		t.Fatalf("defaults: SQ %d CQ %d, want 256 and 1024", d.SQEntries(), d.CQEntries())
	}
}
