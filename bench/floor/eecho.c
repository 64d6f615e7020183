#define _GNU_SOURCE
// Minimal epoll TCP echo server (level-triggered, nonblocking, read then write).
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)
struct conn { int fd, off, len; char buf[BUFSZ]; };

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 9000, one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 4096)) { perror("listen"); return 1; }
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct conn *nc = malloc(sizeof *nc); nc->fd = fd; nc->off = nc->len = 0;
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = nc };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			if (c->off < c->len) { // pending output: EPOLLOUT fired
				int w = write(c->fd, c->buf + c->off, c->len - c->off);
				if (w < 0 && errno != EAGAIN) goto dead;
				if (w > 0) c->off += w;
				if (c->off < c->len) continue;
				struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
				continue;
			}
			int r = read(c->fd, c->buf, BUFSZ);
			if (r == 0 || (r < 0 && errno != EAGAIN)) goto dead;
			if (r < 0) continue;
			c->off = 0; c->len = r;
			int w = write(c->fd, c->buf, r);
			if (w < 0 && errno != EAGAIN) goto dead;
			if (w > 0) c->off = w;
			if (c->off < c->len) {
				struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
			}
			continue;
		dead:
			close(c->fd); free(c);
		}
	}
}
