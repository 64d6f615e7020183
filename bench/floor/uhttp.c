// Minimal io_uring HTTP/1.1 responder: the floor the HTTP rows are measured
// against. One thread, one ring, multishot accept, a buffer per connection,
// one recv then one send. It parses nothing: each CRLFCRLF in the input is a
// request, answered with a fixed 200 "Hello, World!" (the Date is refreshed
// at most once a second); all answers to one recv leave in one send.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };
#define INSZ (16 * 1024)
#define OUTSZ (64 * 1024)

struct conn {
	int fd, in;              // in: bytes of an unfinished head kept in ibuf
	int off, len;            // output being sent: obuf[off:len]
	char ibuf[INSZ], obuf[OUTSZ];
};

static struct io_uring ring;
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

static struct io_uring_sqe *sqe_get(void) {
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); }
	return s;
}
static void *tag(void *p, int op) { return (void *)((unsigned long)p | op); }

static void arm_recv(struct conn *c) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_recv(s, c->fd, c->ibuf + c->in, INSZ - c->in, 0);
	io_uring_sqe_set_data(s, tag(c, OP_RECV));
}
static void arm_send(struct conn *c) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_send(s, c->fd, c->obuf + c->off, c->len - c->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data(s, tag(c, OP_SEND));
}
static void arm_accept(int lfd) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_multishot_accept(s, lfd, NULL, NULL, 0);
	io_uring_sqe_set_data(s, (void *)(unsigned long)OP_ACCEPT);
}

// answer counts the complete heads in c->ibuf[0:n], keeps the unfinished
// rest at its start and fills obuf with one response per head. It returns
// the number of heads, or -1 when a head outgrows the buffer.
static int answer(struct conn *c, int n) {
	int used = 0, reqs = 0;
	c->len = 0;
	for (;;) {
		char *p = memmem(c->ibuf + used, n - used, "\r\n\r\n", 4);
		if (!p || c->len + resplen > OUTSZ) break; // the rest is answered after this send
		used = p - c->ibuf + 4;
		memcpy(c->obuf + c->len, resp, resplen);
		c->len += resplen;
		reqs++;
	}
	memmove(c->ibuf, c->ibuf + used, n - used);
	c->in = n - used;
	if (c->in == INSZ) return -1;
	return reqs;
}

static void drop(struct conn *c) { close(c->fd); free(c); }

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 4096)) { perror("listen"); return 1; }
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, .cq_entries = 16384 };
	p.flags |= IORING_SETUP_CQSIZE;
	if (io_uring_queue_init_params(4096, &ring, &p)) { perror("ring"); return 1; }
	set_date();
	arm_accept(lfd);
	for (;;) {
		io_uring_submit_and_wait(&ring, 1);
		set_date();
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
					nc->fd = res; nc->in = 0; arm_recv(nc);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(lfd);
			} else if (op == OP_RECV) {
				if (res <= 0) { drop(c); continue; }
				int reqs = answer(c, c->in + res);
				if (reqs < 0) { drop(c); continue; }
				c->off = 0;
				if (reqs > 0) arm_send(c); else arm_recv(c);
			} else {
				if (res < 0) { drop(c); continue; }
				c->off += res;
				if (c->off < c->len) { arm_send(c); continue; }
				int reqs = answer(c, c->in); // heads left over by a full obuf
				c->off = 0;
				if (reqs > 0) arm_send(c); else arm_recv(c);
			}
		}
		io_uring_cq_advance(&ring, n);
	}
}
