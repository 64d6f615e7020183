// Package netpoll is ringo's epoll binding.
package netpoll
