#define _GNU_SOURCE
// Minimal epoll HTTP/1.1 responder (level-triggered, nonblocking, read then
// write). Like uhttp.c it parses nothing: each CRLFCRLF read is a request,
// answered with a fixed 200 "Hello, World!"; all answers to one read leave in
// one write.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSZ (16 * 1024)
#define OUTSZ (64 * 1024)
struct conn { int fd, in, off, len; char ibuf[INSZ], obuf[OUTSZ]; };

static char resp[256];
static int resplen;
static time_t respsec;

static void set_date(void) {
	time_t now = time(NULL);
	if (now == respsec) return;
	respsec = now;
	struct tm tm; char d[64];
	gmtime_r(&now, &tm);
	strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	resplen = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/plain\r\n"
		"Content-Length: 13\r\n\r\nHello, World!", d);
}

// answer counts the complete heads in c->ibuf[0:n] (as many as obuf holds
// answers for), keeps the rest at its start and fills obuf with one response
// per head; -1 when a head outgrows the buffer.
static int answer(struct conn *c, int n) {
	int used = 0, reqs = 0;
	c->off = c->len = 0;
	for (;;) {
		char *p = memmem(c->ibuf + used, n - used, "\r\n\r\n", 4);
		if (!p || c->len + resplen > OUTSZ) break;
		used = p - c->ibuf + 4;
		memcpy(c->obuf + c->len, resp, resplen);
		c->len += resplen;
		reqs++;
	}
	memmove(c->ibuf, c->ibuf + used, n - used);
	c->in = n - used;
	return c->in == INSZ ? -1 : reqs;
}

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 8080, one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 4096)) { perror("listen"); return 1; }
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	set_date();
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		set_date();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct conn *nc = malloc(sizeof *nc); nc->fd = fd; nc->in = nc->off = nc->len = 0;
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = nc };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			if (c->off == c->len) { // no output pending: read
				int r = read(c->fd, c->ibuf + c->in, INSZ - c->in);
				if (r == 0 || (r < 0 && errno != EAGAIN)) goto dead;
				if (r < 0) continue;
				if (answer(c, c->in + r) < 0) goto dead;
			}
			while (c->off < c->len) {
				int w = write(c->fd, c->obuf + c->off, c->len - c->off);
				if (w < 0 && errno != EAGAIN) goto dead;
				if (w <= 0) break;
				c->off += w;
				if (c->off == c->len && answer(c, c->in) < 0) goto dead; // heads left by a full obuf
			}
			struct epoll_event e = { .events = c->off < c->len ? EPOLLOUT : EPOLLIN, .data.ptr = c };
			if ((c->off < c->len) != (evs[i].events & EPOLLOUT ? 1 : 0))
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
			continue;
		dead:
			close(c->fd); free(c);
		}
	}
}
