//go:build linux

package ring

import (
	"bytes"
	"runtime"
	"testing"
)

// SEND_ZC posts its result with F_MORE, then a notification CQE once the
// kernel is done with the buffer.
func TestSendZC(t *testing.T) {
	requireCap(t, CapSendZC)
	r := newRing(t, Config{Entries: 2})
	c, s := tcpPair(t)
	buf := heapBuf(4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	q := sqe(t, r)
	q.PrepSendZC(c, buf, 0, 0)
	q.SetUserData(1)
	first := reap(t, r, 1)[0]
	if first.UserData != 1 || first.Res != 4096 || !first.More() || first.Notif() {
		t.Fatalf("send_zc result %+v", first)
	}
	if got := readAll(t, s, 4096); !bytes.Equal(got, buf) {
		t.Fatal("peer got different bytes")
	}
	notif := reap(t, r, 1)[0]
	if notif.UserData != 1 || !notif.Notif() || notif.More() {
		t.Fatalf("notification %+v", notif)
	}
	runtime.KeepAlive(buf) // owned by the kernel until the notification
}
