//go:build unix

package main

import "golang.org/x/sys/unix"

// lingerZero sets SO_LINGER to 0 on fd, so that closing it resets the
// connection (RST) rather than ending it (FIN).
func lingerZero(fd int) {
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
}
