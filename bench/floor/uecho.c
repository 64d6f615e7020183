// Minimal io_uring TCP echo server: the floor a runtime is measured against.
// One thread, one ring, multishot accept, per-connection buffer, recv then send.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };
#define BUFSZ (64 * 1024)

struct conn { int fd; int off, len; char buf[BUFSZ]; };

static struct io_uring ring;

static struct io_uring_sqe *sqe_get(void) {
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); }
	return s;
}
static void *tag(void *p, int op) { return (void *)((unsigned long)p | op); }

static void arm_recv(struct conn *c) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_recv(s, c->fd, c->buf, BUFSZ, 0);
	io_uring_sqe_set_data(s, tag(c, OP_RECV));
}
static void arm_send(struct conn *c) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_send(s, c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data(s, tag(c, OP_SEND));
}
static void arm_accept(int lfd) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_multishot_accept(s, lfd, NULL, NULL, 0);
	io_uring_sqe_set_data(s, (void *)(unsigned long)OP_ACCEPT);
}

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 9000;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 4096)) { perror("listen"); return 1; }
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, .cq_entries = 16384 };
	p.flags |= IORING_SETUP_CQSIZE;
	if (io_uring_queue_init_params(4096, &ring, &p)) { perror("ring"); return 1; }
	arm_accept(lfd);
	for (;;) {
		io_uring_submit_and_wait(&ring, 1);
		struct io_uring_cqe *cqe; unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			unsigned long d = (unsigned long)io_uring_cqe_get_data(cqe);
			int op = d & 7, res = cqe->res;
			struct conn *c = (struct conn *)(d & ~7UL);
			if (op == OP_ACCEPT) {
				if (res >= 0) {
					setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct conn *nc = aligned_alloc(8, sizeof *nc);
					nc->fd = res; arm_recv(nc);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(lfd);
			} else if (op == OP_RECV) {
				if (res <= 0) { close(c->fd); free(c); continue; }
				c->off = 0; c->len = res; arm_send(c);
			} else {
				if (res < 0) { close(c->fd); free(c); continue; }
				c->off += res;
				if (c->off < c->len) arm_send(c); else arm_recv(c);
			}
		}
		io_uring_cq_advance(&ring, n);
	}
}
