// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring IORING_OP_MSG_RING between two rings: the sender queues one
 * MSG_RING SQE per message (IOSQE_CQE_SKIP_SUCCESS, so its own CQ stays
 * quiet) and submits each burst with one io_uring_enter; the receiver
 * polls its CQ from userspace (no system call) and reaps in batches.
 *
 * Payload: a CQE carries 64 bits of user_data (plus the 32-bit len in
 * res). An 8 B message travels whole in user_data. A 64 B message cannot:
 * the sender writes it into a shared slot array first and user_data
 * carries its sequence number, which names the slot; the receiver copies
 * it out. Credits (the receiver's published count) bound the messages in
 * flight to BENCH_SLOTS, as the rings of the other peers do.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int ring_new(struct io_uring **out, unsigned int cq_entries)
{
	struct io_uring_params p;
	struct io_uring *r = bench_zalloc(sizeof(*r));

	*out = NULL;
	if (!r)
		return -1;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = cq_entries;
	if (io_uring_queue_init_params(64, r, &p)) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

static void ring_del(struct io_uring *r)
{
	if (r) {
		io_uring_queue_exit(r);
		free(r);
	}
}

/* Failed MSG_RING requests (the only CQEs the sender's ring gets). */
static uint64_t reap_errors(struct io_uring *r)
{
	struct io_uring_cqe *cqe;
	uint64_t bad = 0;

	while (!io_uring_peek_cqe(r, &cqe)) {
		bad += cqe->res < 0;
		io_uring_cqe_seen(r, cqe);
	}
	return bad;
}

/* ---------------------------------------------------------- throughput */
struct utp {
	struct tp_ctl ctl;
	struct tp_case tc;
	struct io_uring *tx, *rx;
	uint8_t *slots;			/* 64 B payloads */
	_Alignas(BENCH_LINE) uint64_t t1, errors, tx_errors;
};

static void utp_prod(void *p)
{
	struct utp *t = p;
	struct io_uring *tx = t->tx;
	const int rfd = t->rx->ring_fd;
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t sent = 0, acked = 0, msg[BENCH_MAX_SIZE / 8] = { 0 };
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	t->ctl.t0 = now_ns();
	while (sent < n) {
		unsigned int want = n - sent < b ? (unsigned int)(n - sent) : b;
		unsigned int i;

		if (sent + want - acked > BENCH_SLOTS) {
			acked = __atomic_load_n(&t->ctl.got, __ATOMIC_ACQUIRE);
			if (sent + want - acked > BENCH_SLOTS && !spin_ok(&s))
				break;
			continue;
		}
		for (i = 0; i < want; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(tx);
			uint64_t seq = sent + i;

			if (size > 8) {
				msg[0] = seq;
				memcpy(t->slots + (seq & (BENCH_SLOTS - 1)) *
					BENCH_MAX_SIZE, msg, BENCH_MAX_SIZE);
			}
			io_uring_prep_msg_ring(sqe, rfd, size, seq, 0);
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		}
		if (io_uring_submit(tx) != (int)want) {
			bench_abort = 1;
			break;
		}
		sent += want;
		if (io_uring_cq_ready(tx))
			t->tx_errors += reap_errors(tx);
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
}

static void utp_cons(void *p)
{
	struct utp *t = p;
	struct io_uring *rx = t->rx;
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t got = 0, errors = 0, msg[BENCH_MAX_SIZE / 8];
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	while (got < n) {
		struct io_uring_cqe *cqes[BENCH_MAX_BURST];
		unsigned int i, k;

		k = io_uring_peek_batch_cqe(rx, cqes, b);
		if (!k) {
			if (__atomic_load_n(&t->ctl.done, __ATOMIC_ACQUIRE) &&
			    got >= t->ctl.total)
				break;
			if (!spin_ok(&s))
				break;
			continue;
		}
		for (i = 0; i < k; i++) {
			uint64_t v = cqes[i]->user_data;

			if (size > 8) {
				memcpy(msg, t->slots + (v & (BENCH_SLOTS - 1)) *
				       BENCH_MAX_SIZE, BENCH_MAX_SIZE);
				v = msg[0];
			}
			errors += v != got + i || cqes[i]->res != (int)size;
		}
		io_uring_cq_advance(rx, k);
		got += k;
		__atomic_store_n(&t->ctl.got, got, __ATOMIC_RELEASE);
	}
out:
	t->t1 = now_ns();
	t->errors = errors;
	t->ctl.got = got;
}

int uring_tp(const struct tp_case *tc, struct tp_result *res)
{
	struct utp *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->failed = 1;
	if (!t)
		return -1;
	t->slots = bench_zalloc((size_t)BENCH_SLOTS * BENCH_MAX_SIZE);
	if (t->slots && !ring_new(&t->tx, 64) &&
	    !ring_new(&t->rx, 2 * BENCH_SLOTS)) {
		tp_ctl_init(&t->ctl, tc);
		t->tc = *tc;
		if (!run_pair(utp_prod, utp_cons, t)) {
			res->failed = 0;
			res->moved = t->ctl.got;
			res->ns = t->t1 - t->ctl.t0;
			res->errors = t->errors + t->tx_errors;
			res->capped = t->ctl.got < tc->n;
			ret = 0;
		}
	}
	ring_del(t->tx);
	ring_del(t->rx);
	free(t->slots);
	free(t);
	return ret;
}

/* ---------------------------------------------------------- round trip */
struct urt {
	struct gate gate;
	struct io_uring *r0, *r1;	/* r0 is the pinger's, r1 the ponger's */
	size_t n, warm, done;
	uint64_t *samples, deadline, errors;
};

/* Send @v to ring fd @to; wait for one CQE on @own and return its data. */
static int hop(struct io_uring *own, int to, uint64_t v, uint64_t *got,
	       struct spin *s)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	if (to >= 0) {
		sqe = io_uring_get_sqe(own);
		io_uring_prep_msg_ring(sqe, to, 8, v, 0);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		if (io_uring_submit(own) != 1)
			return -1;
	}
	if (!got)
		return 0;
	while (io_uring_peek_cqe(own, &cqe))
		if (!spin_ok(s))
			return -1;
	*got = cqe->res < 0 ? ~0ULL : cqe->user_data;
	io_uring_cqe_seen(own, cqe);
	return 0;
}

static void urt_ping(void *p)
{
	struct urt *t = p;
	const size_t warm = t->warm, total = t->warm + t->n;
	const int to = t->r1->ring_fd;
	uint64_t *samples = t->samples, errors = 0;
	size_t i, done = 0;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t r = 0, t0, t1;

		t0 = ticks();
		if (hop(t->r0, to, i, &r, &s))
			break;
		t1 = ticks();
		errors += r != i;
		if (i >= warm) {
			samples[i - warm] = t1 - t0;
			done = i + 1 - warm;
		}
	}
	t->done = done;
	t->errors = errors;
}

static void urt_pong(void *p)
{
	struct urt *t = p;
	const size_t total = t->warm + t->n;
	const int to = t->r0->ring_fd;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t m;

		if (hop(t->r1, -1, 0, &m, &s) || hop(t->r1, to, m, NULL, &s))
			return;
	}
}

int uring_rt(size_t n, uint64_t deadline, struct lat *out)
{
	struct urt *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->samples = calloc(n, sizeof(*t->samples));
	if (t->samples && !ring_new(&t->r0, 256) && !ring_new(&t->r1, 256)) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->n = n;
		t->warm = n / 10 + 100;
		t->deadline = deadline;
		if (!run_pair(urt_ping, urt_pong, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	ring_del(t->r0);
	ring_del(t->r1);
	free(t->samples);
	free(t);
	return ret;
}
