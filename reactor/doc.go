// Package reactor runs per-core event loops serving TCP over io_uring or epoll.
package reactor
