//go:build linux

package ring

// HasBuffer reports whether the kernel picked a provided buffer for this
// completion (IORING_CQE_F_BUFFER); BufID then names it.
func (c *CQE) HasBuffer() bool { return c.Flags&CQEFBuffer != 0 }

// BufID is the provided buffer id carried in the upper 16 bits of Flags.
// Meaningful only when HasBuffer.
func (c *CQE) BufID() uint16 { return uint16(c.Flags >> CQEBufferShift) }

// More reports whether the multishot request that posted this CQE stays
// armed and will post more (IORING_CQE_F_MORE). Without it the request is
// over and must be re-armed.
func (c *CQE) More() bool { return c.Flags&CQEFMore != 0 }

// Notif reports whether this is a SEND_ZC notification (IORING_CQE_F_NOTIF):
// the kernel no longer uses the send buffer.
func (c *CQE) Notif() bool { return c.Flags&CQEFNotif != 0 }

// BufMore reports, for an incrementally consumed buffer ring, that the
// kernel keeps using this buffer id for later data (IORING_CQE_F_BUF_MORE):
// do not recycle it yet.
func (c *CQE) BufMore() bool { return c.Flags&CQEFBufMore != 0 }
