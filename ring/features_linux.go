//go:build linux

package ring

import (
	"errors"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Detect finds what io_uring offers here, once: it creates a throwaway ring
// with New's default flags (on a locked OS thread), reads its FEAT_* bits
// and setup flags, probes the opcodes, and smoke-tests over real sockets
// what no flag announces: multishot accept (loopback TCP), multishot recv
// and buffer rings, bundles, incremental buffers (socketpair), SEND_ZC with
// its notification (loopback TCP), MSG_RING, CANCEL_FD and ring fd
// registration. It returns ErrUnsupported (wrapping the cause) when no ring
// can be created. Safe from any goroutine; takes up to a few seconds when a
// smoke test hangs on a broken kernel (each wait is bounded).
func Detect() (Features, error) {
	runtime.LockOSThread() // the ring may be SINGLE_ISSUER; nests with the caller's lock
	defer runtime.UnlockOSThread()

	r, err := New(Config{Entries: 16})
	if err != nil {
		return Features{}, err
	}
	defer r.Close()
	f := Features{Feat: r.features, SetupFlags: r.setupFlags}
	f.Caps |= capsFromFlags(r.setupFlags, r.features)
	probe, err := r.Probe()
	if err == nil {
		f.Ops = probe.Ops()
	}
	has := probe.Supports // false for a nil probe (kernels before 5.6)
	if has(OpSocket) {
		f.Caps |= CapSocket
	}
	d := detector{r: r}
	if has(OpAccept) && d.multishotAccept() {
		f.Caps |= CapMultishotAccept
	}
	if has(OpRecv) {
		f.Caps |= d.recvCaps(has(OpAsyncCancel))
	}
	if has(OpSendZC) && d.sendZC() {
		f.Caps |= CapSendZC
	}
	if has(OpMsgRing) && d.msgRing() {
		f.Caps |= CapMsgRing
	}
	if r.RegisterRingFd() == nil {
		f.Caps |= CapRegisteredRing
	}
	return f, nil
}

// capsFromFlags maps setup flags and FEAT_* bits to capabilities.
func capsFromFlags(setup, feat uint32) Cap {
	var c Cap
	for _, m := range [...]struct {
		ok  bool
		cap Cap
	}{
		{feat&FeatExtArg != 0, CapExtArg},
		{feat&FeatMinTimeout != 0 && feat&FeatExtArg != 0, CapMinWait},
		{feat&FeatFastPoll != 0, CapFastPoll},
		{feat&FeatNoDrop != 0, CapNoDrop},
		{setup&SetupSingleIssuer != 0, CapSingleIssuer},
		{setup&SetupDeferTaskrun != 0, CapDeferTaskrun},
		{setup&SetupCoopTaskrun != 0, CapCoopTaskrun},
		{setup&SetupNoSQArray != 0, CapNoSQArray},
		{setup&SetupSubmitAll != 0, CapSubmitAll},
	} {
		if m.ok {
			c |= m.cap
		}
	}
	if setup&SetupDeferTaskrun != 0 {
		// DEFER_TASKRUN (6.1) implies the kernel also knows COOP_TASKRUN (5.19).
		c |= CapCoopTaskrun
	}
	return c
}

// detector runs smoke tests on one ring. Every wait is bounded.
type detector struct {
	r    *Ring
	got  []CQE // CQEs collected by wait, copied out of the CQ
	next uint64
}

const detectWait = time.Second

// ud returns a fresh user data value.
func (d *detector) ud() uint64 { d.next++; return d.next }

// wait submits and collects CQEs until pred holds for the collected ones or
// detectWait passes; it reports whether pred held. It submits what is
// queued and collects what is ready before it blocks, and blocks only while
// pred does not hold yet: an earlier wait may already have collected the
// CQE pred looks for (SEND_ZC's notification often comes with its result),
// and waiting for one more would sit out the timeout.
func (d *detector) wait(pred func([]CQE) bool) bool {
	deadline := time.Now().Add(detectWait)
	block := time.Duration(0) // the first round only submits and collects
	for {
		if _, err := d.r.SubmitAndWaitTimeout(1, block); err != nil {
			return false
		}
		d.collect()
		if pred(d.got) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		block = 50 * time.Millisecond
	}
}

// collect copies the ready CQEs into d.got.
func (d *detector) collect() {
	var batch [16]*CQE
	for {
		n := d.r.PeekBatch(batch[:])
		for _, c := range batch[:n] {
			d.got = append(d.got, *c)
		}
		d.r.CQAdvance(uint32(n))
		if n < len(batch) {
			return
		}
	}
}

// find returns the collected CQEs with user data ud.
func (d *detector) find(ud uint64) []CQE {
	var out []CQE
	for _, c := range d.got {
		if c.UserData == ud {
			out = append(out, c)
		}
	}
	return out
}

// countUD is a wait predicate: at least n CQEs with user data ud.
func (d *detector) countUD(ud uint64, n int) func([]CQE) bool {
	return func([]CQE) bool { return len(d.find(ud)) >= n }
}

// cancelAll cancels ud's request (if still armed) and waits for its last CQE.
func (d *detector) cancelAll(ud uint64) {
	for _, c := range d.find(ud) {
		if !c.More() {
			return // already over
		}
	}
	s := d.r.GetSQE()
	if s == nil {
		return
	}
	s.PrepCancel(ud, CancelAll)
	s.SetUserData(d.ud())
	d.wait(func([]CQE) bool {
		cs := d.find(ud)
		return len(cs) > 0 && !cs[len(cs)-1].More()
	})
}

// multishotAccept: one armed accept gets two loopback connections.
func (d *detector) multishotAccept() bool {
	ln, port, err := listenLoopback()
	if err != nil {
		return false
	}
	defer unix.Close(ln)
	s := d.r.GetSQE()
	if s == nil {
		return false
	}
	ud := d.ud()
	s.PrepAcceptMultishot(ln, nil, nil, unix.SOCK_CLOEXEC)
	s.SetUserData(ud)
	if _, err := d.r.Submit(); err != nil {
		return false
	}
	// After the cancel's wait: an accept's CQE may come only then (the second
	// dial failed, or the wait below timed out), and its socket is ours to close.
	defer func() {
		d.cancelAll(ud)
		for _, c := range d.find(ud) {
			if c.Res >= 0 {
				unix.Close(int(c.Res))
			}
		}
	}()
	for range 2 {
		c, err := dialLoopback(port)
		if err != nil {
			return false
		}
		defer unix.Close(c)
	}
	ok := d.wait(d.countUD(ud, 2))
	cs := d.find(ud)
	return ok && cs[0].Res >= 0 && cs[0].More() && cs[1].Res >= 0 && cs[1].More()
}

// recvCaps tests buffer rings, multishot recv, bundles, incremental
// buffers and CANCEL_FD over a socketpair.
func (d *detector) recvCaps(canCancel bool) Cap {
	var caps Cap
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	b, err := d.r.NewBufRing(0x7ff0, 4, 64, 0)
	if err != nil {
		return 0
	}
	defer b.Close()
	caps |= CapBufRing
	msg := []byte("ringo-detect")

	// Multishot recv: armed first, then two writes; each CQE has F_MORE.
	ud, ok := d.ud(), false
	if s := d.r.GetSQE(); s != nil {
		s.PrepRecvMultishot(fds[1], b.Group(), 0)
		s.SetUserData(ud)
		if _, err := d.r.Submit(); err == nil {
			unix.Write(fds[0], msg)
			ok = d.wait(d.countUD(ud, 1))
			cs := d.find(ud)
			ok = ok && cs[0].Res == int32(len(msg)) && cs[0].HasBuffer() && cs[0].More()
			if ok {
				caps |= CapMultishotRecv
			}
			for _, c := range cs {
				if c.HasBuffer() {
					b.Recycle(c.BufID())
				}
			}
			b.Publish()
		}
	}
	// CANCEL_FD: cancels the armed multishot recv by its fd.
	if canCancel && ok {
		cud := d.ud()
		if s := d.r.GetSQE(); s != nil {
			s.PrepCancelFd(fds[1], CancelAll)
			s.SetUserData(cud)
			if d.wait(d.countUD(cud, 1)) && d.find(cud)[0].Res >= 1 {
				caps |= CapCancelFd
			}
		}
	}
	d.cancelAll(ud)

	// Bundle: 3 buffers' worth of data already queued, one CQE takes more
	// than one buffer.
	if d.r.features&FeatRecvsendBundle != 0 {
		bb, err := d.r.NewBufRing(0x7ff1, 8, 16, 0)
		if err == nil {
			unix.Write(fds[0], make([]byte, 48))
			bud := d.ud()
			if s := d.r.GetSQE(); s != nil {
				s.PrepRecvBundle(fds[1], bb.Group(), 0)
				s.SetUserData(bud)
				if d.wait(d.countUD(bud, 1)) && d.find(bud)[0].Res > 16 {
					caps |= CapRecvBundle
				}
			}
			d.cancelAll(bud)
			drain(fds[1])
			bb.Close()
		}
	}

	// Incremental: a 10-byte receive leaves the 4 KiB buffer in use (BUF_MORE).
	if ib, err := d.r.NewBufRing(0x7ff2, 4, 4096, PbufRingInc); err == nil {
		unix.Write(fds[0], msg)
		iud := d.ud()
		if s := d.r.GetSQE(); s != nil {
			s.PrepRecvSelect(fds[1], ib.Group(), 0)
			s.SetUserData(iud)
			if d.wait(d.countUD(iud, 1)) {
				c := d.find(iud)[0]
				if c.Res == int32(len(msg)) && c.HasBuffer() && c.BufMore() {
					caps |= CapIncrementalBuf
				}
			}
		}
		ib.Close()
	}

	// Recv limit: a multishot recv capped at 5 bytes takes 12 queued bytes
	// in CQEs of at most 5, and stays armed (older kernels answer EINVAL).
	if caps&CapMultishotRecv != 0 {
		if lb, err := d.r.NewBufRing(0x7ff3, 8, 16, 0); err == nil {
			unix.Write(fds[0], msg)
			lud := d.ud()
			if s := d.r.GetSQE(); s != nil {
				s.PrepRecvMultishot(fds[1], lb.Group(), 0)
				s.LimitRecv(5)
				s.SetUserData(lud)
				if d.wait(d.countUD(lud, 1)) {
					c := d.find(lud)[0]
					if c.Res > 0 && c.Res <= 5 && c.HasBuffer() && c.More() {
						caps |= CapRecvLimit
					}
				}
			}
			d.cancelAll(lud)
			drain(fds[1])
			lb.Close()
		}
	}
	return caps
}

// drain reads whatever is queued on a socket without blocking.
func drain(fd int) {
	var buf [256]byte
	for range 64 {
		if n, _, err := unix.Recvfrom(fd, buf[:], unix.MSG_DONTWAIT); n <= 0 || err != nil {
			return
		}
	}
}

// sendZC: a zero-copy send over loopback TCP posts its result with F_MORE,
// then a notification.
func (d *detector) sendZC() bool {
	ln, port, err := listenLoopback()
	if err != nil {
		return false
	}
	defer unix.Close(ln)
	c, err := dialLoopback(port)
	if err != nil {
		return false
	}
	defer unix.Close(c)
	a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(a)
	buf := heapBytes(64) // kernel reads it until the notification
	s := d.r.GetSQE()
	if s == nil {
		return false
	}
	ud := d.ud()
	s.PrepSendZC(c, buf, 0, 0)
	s.SetUserData(ud)
	ok := d.wait(d.countUD(ud, 1))
	drain(a)
	ok = ok && d.find(ud)[0].Res == int32(len(buf)) && d.find(ud)[0].More()
	ok = ok && d.wait(func([]CQE) bool {
		cs := d.find(ud)
		return len(cs) >= 2 && cs[1].Notif()
	})
	runtime.KeepAlive(buf)
	return ok
}

// msgRing: the ring posts a CQE to itself.
func (d *detector) msgRing() bool {
	s := d.r.GetSQE()
	if s == nil {
		return false
	}
	ud, target := d.ud(), d.ud()
	s.PrepMsgRing(d.r.fd, 0x5a5a, target, 0)
	s.SetUserData(ud)
	ok := d.wait(func([]CQE) bool { return len(d.find(ud)) > 0 && len(d.find(target)) > 0 })
	return ok && d.find(ud)[0].Res == 0 && d.find(target)[0].Res == 0x5a5a
}

// heapBytes returns n bytes on the heap (a non-inlined callee's result
// always escapes), never on a goroutine stack that could move while the
// kernel uses it.
//
//go:noinline
func heapBytes(n int) []byte { return make([]byte, n) }

// listenLoopback opens a blocking TCP listener on 127.0.0.1 (io_uring
// sockets are blocking: older kernels answer -EAGAIN on O_NONBLOCK ones).
func listenLoopback() (fd, port int, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err = unix.Bind(fd, sa); err == nil {
		err = unix.Listen(fd, 16)
	}
	var name unix.Sockaddr
	if err == nil {
		name, err = unix.Getsockname(fd)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	in4, ok := name.(*unix.SockaddrInet4)
	if !ok {
		unix.Close(fd)
		return -1, 0, errors.New("ring: listener is not IPv4")
	}
	return fd, in4.Port, nil
}

// dialLoopback connects a blocking TCP socket to 127.0.0.1:port.
func dialLoopback(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
