//go:build linux

package reactor

// Close on io_uring. A plain close(2) with a recv in flight neither
// completes the recv nor sends FIN (the request holds the file), so the ops
// in flight are cancelled first (ASYNC_CANCEL by user data); each keeps its
// memory until its final CQE, and the last one releases the conn (close(2),
// then FIN if no unread input remains).

func (b *uringBackend) shutdown(c *Conn) {
	if c.inflight == 0 {
		b.l.release(c)
		return
	}
	if c.recvArmed && !c.recvCancel {
		b.cancel(c, opRecv)
		c.recvCancel = true
	}
	if c.sendBusy {
		b.cancel(c, opSend)
	}
	if c.connArmed {
		b.cancel(c, opConnect)
	}
}
