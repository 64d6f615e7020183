// Package ring is ringo's io_uring binding on golang.org/x/sys/unix.
package ring
