// SPDX-License-Identifier: GPL-2.0
/*
 * The plain Linux port: a pipe(2) per queue carrying fixed-size frame
 * records (a frame and its length word), written a burst per write() and
 * read as many as fit per read(); both ends non-blocking, and an idle stage
 * sleeps in poll(2) until the kernel wakes it. The pipe holds 64 KiB, about
 * as many frames as a Vanity channel's 1024 slots hold (the table says how
 * many).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bp.h"

#define PIPE_BYTES	65536
#define PIPE_POLL_MS	100
#define RBUF_BYTES	65536

struct pipe_port {
	struct bp_port pub;
	int rfd, wfd;
	unsigned int rec;		/* bytes per record */
	/* producer: the burst being written */
	uint8_t *wbuf;
	/* consumer: bytes read, [rstart, rend) not yet released */
	uint8_t *rbuf;
	size_t rcap, rstart, rend;
};

static int pipe_open_port(struct bp_port **out, unsigned int slot_size,
			  unsigned int slots, const volatile int *abort)
{
	struct pipe_port *p;
	int fds[2];

	(void)slots;
	*out = NULL;
	if (!slot_size || slot_size % 8 || slot_size > RBUF_BYTES / BP_MAX_BURST)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->rec = slot_size;
	p->rcap = RBUF_BYTES / p->rec * p->rec;
	p->wbuf = aligned_alloc(64, (size_t)BP_MAX_BURST * p->rec);
	p->rbuf = aligned_alloc(64, RBUF_BYTES);
	if (!p->wbuf || !p->rbuf || pipe2(fds, O_NONBLOCK | O_CLOEXEC)) {
		int err = p->wbuf && p->rbuf ? -errno : -ENOMEM;

		free(p->wbuf);
		free(p->rbuf);
		free(p);
		return err;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	fcntl(p->wfd, F_SETPIPE_SZ, PIPE_BYTES);
	p->pub.ops = &bp_pipe_ops;
	p->pub.slot_size = p->rec;
	p->pub.abort = abort;
	*out = &p->pub;
	return 0;
}

static void pipe_close_port(struct bp_port *bp)
{
	struct pipe_port *p = (struct pipe_port *)bp;

	close(p->rfd);
	close(p->wfd);
	free(p->wbuf);
	free(p->rbuf);
	free(p);
}

static unsigned int pipe_reserve(struct bp_port *bp, unsigned int n,
				 void **slots)
{
	struct pipe_port *p = (struct pipe_port *)bp;
	unsigned int i;

	if (n > BP_MAX_BURST)
		n = BP_MAX_BURST;
	for (i = 0; i < n; i++)
		slots[i] = p->wbuf + (size_t)i * p->rec;
	return n;
}

/* One write per burst (under PIPE_BUF: all or nothing); waits for room. */
static void pipe_commit(struct bp_port *bp, unsigned int n)
{
	struct pipe_port *p = (struct pipe_port *)bp;
	size_t len = (size_t)n * p->rec, off = 0;

	while (off < len && !*bp->abort) {
		ssize_t w = write(p->wfd, p->wbuf + off, len - off);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = p->wfd, .events = POLLOUT };

			poll(&pf, 1, PIPE_POLL_MS);
		} else if (w < 0 && errno != EINTR) {
			return;
		}
	}
}

static unsigned int pipe_peek(struct bp_port *bp, unsigned int n,
			      const void **slots)
{
	struct pipe_port *p = (struct pipe_port *)bp;
	size_t have = (p->rend - p->rstart) / p->rec;
	unsigned int i;

	if (!have) {
		/* Keep a partial record, then read as much as fits. */
		size_t part = p->rend - p->rstart;
		ssize_t r;

		memmove(p->rbuf, p->rbuf + p->rstart, part);
		p->rstart = 0;
		p->rend = part;
		r = read(p->rfd, p->rbuf + p->rend, p->rcap - p->rend);
		if (r > 0)
			p->rend += (size_t)r;
		have = (p->rend - p->rstart) / p->rec;
	}
	if (n > have)
		n = (unsigned int)have;
	for (i = 0; i < n; i++)
		slots[i] = p->rbuf + p->rstart + (size_t)i * p->rec;
	return n;
}

static void pipe_release(struct bp_port *bp, unsigned int n)
{
	struct pipe_port *p = (struct pipe_port *)bp;

	p->rstart += (size_t)n * p->rec;
}

static int pipe_wait(struct bp_port *bp, int space)
{
	struct pipe_port *p = (struct pipe_port *)bp;
	struct pollfd pf = {
		.fd = space ? p->wfd : p->rfd,
		.events = space ? POLLOUT : POLLIN,
	};

	if (*bp->abort)
		return -1;
	poll(&pf, 1, PIPE_POLL_MS);
	return 0;
}

static const char *pipe_describe(void)
{
	return "pipe(2) per queue, 64 KiB, one write() per burst, read() as "
	       "much as fits; idle: poll(2)";
}

const struct bp_port_ops bp_pipe_ops = {
	.name = "linux",
	.open = pipe_open_port,
	.close = pipe_close_port,
	.reserve = pipe_reserve,
	.commit = pipe_commit,
	.peek = pipe_peek,
	.release = pipe_release,
	.wait = pipe_wait,
	.describe = pipe_describe,
};
