//go:build linux

package ring

import (
	"bytes"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// PrepSend and PrepRecv over a socketpair and over loopback TCP.
func TestSendRecv(t *testing.T) {
	fds := socketpair(t)
	c, s := tcpPair(t)
	for _, p := range []struct {
		name     string
		from, to int
	}{{"socketpair", fds[0], fds[1]}, {"tcp", c, s}} {
		t.Run(p.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 4})
			out, in := heapBuf(100), heapBuf(100)
			for i := range out {
				out[i] = byte(i * 7)
			}
			q := sqe(t, r)
			q.PrepRecv(p.to, in, 0)
			q.SetUserData(1)
			q = sqe(t, r)
			q.PrepSend(p.from, out, 0)
			q.SetUserData(2)
			got := byUD(t, reap(t, r, 2))
			wantRes(t, "send", got[2], 100)
			wantRes(t, "recv", got[1], 100)
			if !bytes.Equal(in, out) {
				t.Fatal("received bytes differ")
			}
		})
	}
}

// PrepSendmsg and PrepRecvmsg with two iovecs each.
func TestSendmsgRecvmsg(t *testing.T) {
	fds := socketpair(t)
	r := newRing(t, Config{Entries: 4})
	mkmsg := func(a, b []byte) *unix.Msghdr {
		iov := heapT[[2]unix.Iovec]()
		iov[0].Base, iov[1].Base = &a[0], &b[0]
		iov[0].SetLen(len(a))
		iov[1].SetLen(len(b))
		m := heapT[unix.Msghdr]()
		m.Iov = &iov[0]
		m.SetIovlen(2)
		return m
	}
	a, b := heapBuf(5), heapBuf(6)
	copy(a, "hello")
	copy(b, " world")
	x, y := heapBuf(6), heapBuf(5)
	out, in := mkmsg(a, b), mkmsg(x, y)
	q := sqe(t, r)
	q.PrepSendmsg(fds[0], out, 0)
	q.SetUserData(1)
	q = sqe(t, r)
	q.PrepRecvmsg(fds[1], in, unix.MSG_WAITALL)
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "sendmsg", got[1], 11)
	wantRes(t, "recvmsg", got[2], 11)
	if string(x)+string(y) != "hello world" {
		t.Fatalf("recvmsg got %q %q", x, y)
	}
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
}

// PrepRead and PrepWrite on a pipe (current position) and a file (offset).
func TestReadWrite(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	out, in := heapBuf(8), heapBuf(8)
	copy(out, "pipedata")
	q := sqe(t, r)
	q.PrepWrite(p[1], out, ^uint64(0))
	q.SetFlags(SQEIOLink)
	q.SetUserData(1)
	q = sqe(t, r)
	q.PrepRead(p[0], in, ^uint64(0))
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "write", got[1], 8)
	wantRes(t, "read", got[2], 8)
	if string(in) != "pipedata" {
		t.Fatalf("read %q", in)
	}

	fd, err := unix.Open(t.TempDir()+"/f", unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	q = sqe(t, r)
	q.PrepWrite(fd, out, 100)
	q.SetFlags(SQEIOLink)
	q.SetUserData(3)
	in2 := heapBuf(8)
	q = sqe(t, r)
	q.PrepRead(fd, in2, 100)
	q.SetUserData(4)
	got = byUD(t, reap(t, r, 2))
	wantRes(t, "pwrite", got[3], 8)
	wantRes(t, "pread", got[4], 8)
	if string(in2) != "pipedata" {
		t.Fatalf("pread %q", in2)
	}
	if st, err := fileSize(fd); err != nil || st != 108 {
		t.Fatalf("file size %d, %v; want 108", st, err)
	}
}

func fileSize(fd int) (int64, error) {
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	return st.Size, err
}

// PrepClose closes the fd.
func TestClose(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	fds := socketpair(t)
	dup, err := unix.Dup(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	q := sqe(t, r)
	q.PrepClose(dup)
	wantRes(t, "close", reap(t, r, 1)[0], 0)
	if _, err := unix.FcntlInt(uintptr(dup), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("fd still open after PrepClose: %v", err)
	}
}

// PrepPollAdd fires once; PrepPollMultishot fires per readiness edge.
func TestPoll(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	fds := socketpair(t)
	q := sqe(t, r)
	q.PrepPollAdd(fds[1], unix.POLLIN)
	q.SetUserData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	quiet(t, r)
	write(t, fds[0], []byte("x"))
	c := reap(t, r, 1)[0]
	if c.Res&unix.POLLIN == 0 || c.More() {
		t.Fatalf("poll CQE %+v", c)
	}
	readAll(t, fds[1], 1)

	q = sqe(t, r)
	q.PrepPollMultishot(fds[1], unix.POLLIN)
	q.SetUserData(2)
	for i := range 2 {
		write(t, fds[0], []byte("y"))
		c := reap(t, r, 1)[0]
		if c.UserData != 2 || c.Res&unix.POLLIN == 0 || !c.More() {
			t.Fatalf("multishot poll CQE %d: %+v", i, c)
		}
		readAll(t, fds[1], 1)
	}
	q = sqe(t, r)
	q.PrepCancel(2, 0)
	q.SetUserData(3)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "cancel", got[3], 0)
	wantRes(t, "cancelled poll", got[2], -int32(unix.ECANCELED))
}
