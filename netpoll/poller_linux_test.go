//go:build linux

package netpoll

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns a nonblocking accepted server fd and the client net.Conn.
func tcpPair(t *testing.T) (int, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	sc, err := ln.(*net.TCPListener).AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	f, err := sc.File() // dup; blocking mode is per open file: set it below
	sc.Close()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, cc
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New(16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitFor waits (bounded) until an event with token arrives and returns its bits.
func waitFor(t *testing.T, p *Poller, token uint64) uint32 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := p.Wait(100)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			tok, ev := p.Event(i)
			if tok == token {
				return ev
			}
		}
	}
	t.Fatalf("no event for token %#x", token)
	return 0
}

func TestPollerTokenAndEdgeTriggered(t *testing.T) {
	p := newPoller(t)
	fd, cc := tcpPair(t)
	const token = uint64(0xdeadbeef_00000007) // generation in the high half
	if err := p.Add(fd, token, InterestReadWrite); err != nil {
		t.Fatal(err)
	}
	// A fresh connected socket is writable at once.
	if ev := waitFor(t, p, token); ev&EventWrite == 0 {
		t.Fatalf("want EventWrite, got %#x", ev)
	}
	if _, err := cc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if ev := waitFor(t, p, token); ev&EventRead == 0 {
		t.Fatalf("want EventRead, got %#x", ev)
	}
	// Edge-triggered: without draining, and with no new data, no new event.
	n, err := p.Wait(50)
	if err != nil || n != 0 {
		t.Fatalf("edge-triggered poller reported %d events again (err %v)", n, err)
	}
	buf := make([]byte, 16)
	got, err := Read(fd, buf)
	if err != nil || string(buf[:got]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:got], err)
	}
	if _, err := Read(fd, buf); err != unix.EAGAIN {
		t.Fatalf("drained socket: want EAGAIN, got %v", err)
	}
	// Peer close: read event with hang-up, then EOF.
	cc.Close()
	if ev := waitFor(t, p, token); ev&(EventRead|EventHup) != EventRead|EventHup {
		t.Fatalf("want read|hup after peer close, got %#x", ev)
	}
	if got, err := Read(fd, buf); got != 0 || err != nil {
		t.Fatalf("EOF: want (0, nil), got (%d, %v)", got, err)
	}
}

func TestPollerModDel(t *testing.T) {
	p := newPoller(t)
	fd, cc := tcpPair(t)
	if err := p.Add(fd, 1, InterestRead); err != nil {
		t.Fatal(err)
	}
	if err := p.Mod(fd, 2, InterestRead); err != nil {
		t.Fatal(err)
	}
	cc.Write([]byte("x"))
	waitFor(t, p, 2)
	if err := p.Del(fd); err != nil {
		t.Fatal(err)
	}
	cc.Write([]byte("y"))
	if n, _ := p.Wait(50); n != 0 {
		t.Fatalf("deleted fd still reports %d events", n)
	}
	if err := p.Add(-1, 3, InterestRead); err != unix.EBADF {
		t.Fatalf("Add(-1): want EBADF, got %v", err)
	}
	p.Close()
	if err := p.Add(fd, 1, InterestRead); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: want ErrClosed, got %v", err)
	}
	if _, err := p.Wait(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: want ErrClosed, got %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestPollerWaitTimeout(t *testing.T) {
	p := newPoller(t)
	n, err := p.Wait(10)
	if n != 0 || err != nil {
		t.Fatalf("empty poller: Wait = %d, %v", n, err)
	}
}

func TestWakerCoalesces(t *testing.T) {
	p := newPoller(t)
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const wakeTok = ^uint64(0)
	if err := p.Add(w.Fd(), wakeTok, InterestRead); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := w.Wake(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, p, wakeTok)
	// 100 wakes, one eventfd write: the counter holds 1.
	var b [8]byte
	if n, err := unix.Read(w.Fd(), b[:]); n != 8 || err != nil || b[0] != 1 {
		t.Fatalf("counter read = %d %v %v: want one coalesced write", n, err, b)
	}
	w.Acknowledge()
	w.Wake()
	waitFor(t, p, wakeTok)
	w.Drain()
	if n, _ := p.Wait(20); n != 0 {
		t.Fatal("drained waker still readable")
	}
}

// TestWakerNoLostWakeup checks the publish/Wake vs Drain/consume protocol
// from many goroutines: every published item is consumed.
func TestWakerNoLostWakeup(t *testing.T) {
	p := newPoller(t)
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p.Add(w.Fd(), 1, InterestRead)
	const producers, per = 8, 2000
	var mu sync.Mutex
	queue := 0
	var wg sync.WaitGroup
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				mu.Lock()
				queue++
				mu.Unlock()
				w.Wake()
			}
		}()
	}
	consumed := 0
	deadline := time.Now().Add(20 * time.Second)
	for consumed < producers*per && time.Now().Before(deadline) {
		n, err := p.Wait(1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			continue
		}
		w.Drain()
		mu.Lock()
		consumed += queue
		queue = 0
		mu.Unlock()
	}
	wg.Wait()
	if consumed != producers*per {
		t.Fatalf("consumed %d of %d items: a wake-up was lost", consumed, producers*per)
	}
}

func TestAcceptWritevRead(t *testing.T) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	var rsa unix.RawSockaddrAny
	l, _, err := PutAddr(&rsa, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil || l != unix.SizeofSockaddrInet4 {
		t.Fatal(err, l)
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(lfd, 16)
	laddr := LocalAddr(lfd).(*net.TCPAddr)
	if !laddr.IP.Equal(net.IPv4(127, 0, 0, 1)) || laddr.Port == 0 {
		t.Fatalf("LocalAddr = %v", laddr)
	}
	if _, err := Accept(lfd, &rsa, unix.SOCK_NONBLOCK); err != unix.EAGAIN {
		t.Fatalf("empty accept queue: want EAGAIN, got %v", err)
	}
	cc, err := net.Dial("tcp", laddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	var fd int
	for i := 0; ; i++ {
		fd, err = Accept(lfd, &rsa, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == nil {
			break
		}
		if err != unix.EAGAIN || i > 500 {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	defer unix.Close(fd)
	if got := Addr(&rsa).String(); got != cc.LocalAddr().String() {
		t.Fatalf("accept address %s, want %s", got, cc.LocalAddr())
	}
	if got := PeerAddr(fd).String(); got != cc.LocalAddr().String() {
		t.Fatalf("PeerAddr %s, want %s", got, cc.LocalAddr())
	}
	iov := make([]unix.Iovec, 4)
	bufs := [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}
	n, err := Writev(fd, iov, bufs)
	if n != 6 || err != nil {
		t.Fatalf("Writev = %d, %v", n, err)
	}
	if iov[0].Base != nil {
		t.Fatal("Writev left pointers in the iovec array")
	}
	got := make([]byte, 6)
	cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ioReadFull(cc, got); err != nil || string(got) != "abcdef" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	if n, err := Write(fd, []byte("xyz")); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	ioReadFull(cc, got[:3])
	if !bytes.Equal(got[:3], []byte("xyz")) {
		t.Fatalf("peer read %q", got[:3])
	}
	// The zero-allocation promise of the hot helpers.
	allocs := testing.AllocsPerRun(100, func() {
		Writev(fd, iov, bufs[:1])
		Accept(lfd, &rsa, unix.SOCK_NONBLOCK)
	})
	if allocs != 0 {
		t.Fatalf("Writev+Accept allocate %v per call", allocs)
	}
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestWritevManyBuffersAndShortWrite(t *testing.T) {
	fd, cc := tcpPair(t)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	chunk := bytes.Repeat([]byte{7}, 64<<10)
	bufs := make([][]byte, 2*MaxIovecs) // more than IOV_MAX buffers
	for i := range bufs {
		bufs[i] = chunk
	}
	iov := make([]unix.Iovec, 2*MaxIovecs)
	total := 0
	for {
		n, err := Writev(fd, iov, bufs)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if total > 64<<20 {
			t.Fatal("socket never filled")
		}
	}
	if total == 0 || total >= MaxIovecs*len(chunk) {
		t.Fatalf("wrote %d bytes before EAGAIN", total)
	}
	_ = cc
}

func TestSocketErrorRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // nobody listens there now
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	p := newPoller(t)
	p.Add(fd, 9, InterestReadWrite)
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}})
	if err != nil && err != unix.EINPROGRESS {
		if err != unix.ECONNREFUSED {
			t.Fatal(err)
		}
		return
	}
	ev := waitFor(t, p, 9)
	if ev&(EventErr|EventWrite) == 0 {
		t.Fatalf("want error/write event, got %#x", ev)
	}
	if err := SocketError(fd); err != unix.ECONNREFUSED {
		t.Fatalf("SocketError = %v, want ECONNREFUSED", err)
	}
}

func TestAddrRoundTrip(t *testing.T) {
	for _, a := range []net.Addr{
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1").To4(), Port: 80},
		&net.TCPAddr{IP: net.ParseIP("::1"), Port: 65535},
		&net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"},
	} {
		var rsa unix.RawSockaddrAny
		if _, _, err := PutAddr(&rsa, a); err != nil {
			t.Fatal(err)
		}
		if got := Addr(&rsa); got.String() != a.String() {
			t.Fatalf("round trip %v -> %v", a, got)
		}
	}
	var rsa unix.RawSockaddrAny
	if _, _, err := PutAddr(&rsa, &net.UDPAddr{}); !errors.Is(err, ErrAddrFamily) {
		t.Fatalf("UDPAddr: want ErrAddrFamily, got %v", err)
	}
	long := &net.UnixAddr{Name: string(bytes.Repeat([]byte("a"), 200)), Net: "unix"}
	if _, _, err := PutAddr(&rsa, long); err != unix.ENAMETOOLONG {
		t.Fatalf("long unix path: want ENAMETOOLONG, got %v", err)
	}
}

// TestWaitEINTR interrupts a thread blocked in Wait with a signal the Go
// runtime handles (SIGURG): Wait must return no events and no error.
func TestWaitEINTR(t *testing.T) {
	p := newPoller(t)
	type result struct {
		n   int
		err error
	}
	tids := make(chan int, 1)
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		n, err := p.Wait(-1) // nothing will ever be ready
		res <- result{n, err}
	}()
	tid := <-tids
	for i := 0; i < 500; i++ {
		unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
		select {
		case r := <-res:
			if r.n != 0 || r.err != nil {
				t.Fatalf("interrupted Wait = %d, %v; want 0, nil", r.n, r.err)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("Wait(-1) never returned after signals")
}
