// SPDX-License-Identifier: GPL-2.0
/*
 * A test shard program exercising the submission ring on either backend,
 * for the integration test under `vanityctl run`. Each check prints
 * "ringer: <check> ok" or "ringer: <check> FAIL ..." and a failure exits
 * non-zero. Modes:
 *   nop                batches of NOPs through ENTER, in order, then a
 *                      full CQ (-EBUSY) and its recovery
 *   sqpoll             NOPs with no ENTER, the NEED_WAKEUP edge, and
 *                      100,000 NOPs with random pauses across it
 *   wait / wake        two shards: a ring WAIT woken by the peer's send,
 *                      and a NOTIFY op waking a doorbell sleeper.
 *                      Channels "w2k" (waiter -> waker), "k2w" (back).
 * Every loop is bounded in time (20 s) and count; nothing asserts on speed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vanity.h>

#include "../include/ring_util.h"

#define BOUND_S 20.0

static int failed;

#define CHECK(cond, what, fmt, ...) do {				\
		if (!(cond)) {						\
			printf("ringer: %s FAIL " fmt "\n", (what),	\
			       ##__VA_ARGS__);				\
			failed = 1;					\
			return -1;					\
		}							\
	} while (0)


static const char *err_name(int res)
{
	switch (res) {
	case 0: return "0";
	case -ETIME: return "ETIME";
	case -EINTR: return "EINTR";
	case -EINVAL: return "EINVAL";
	case -EACCES: return "EACCES";
	default: return "other";
	}
}

/* ------------------------------------------------------------ nop */

static int nop_batches(struct vanity_ring *r)
{
	static const unsigned int sizes[] = { 1, 8, 32, 128 };
	unsigned int s, round, i, total = 0;
	struct vanity_cqe c = { 0 };

	for (s = 0; s < 4; s++) {
		if (sizes[s] > r->sq_entries)
			continue;
		for (round = 0; round < 50; round++) {
			uint64_t base = ((uint64_t)sizes[s] << 40) | ((uint64_t)round << 20);

			for (i = 0; i < sizes[s]; i++)
				vanity_prep_nop(vanity_get_sqe(r), base + i);
			CHECK(vanity_submit_and_wait(r, sizes[s]) == (int)sizes[s],
			      "nop batch", "size %u round %u", sizes[s], round);
			CHECK(cq_ready(r) == sizes[s], "nop batch", "%u CQEs", cq_ready(r));
			for (i = 0; i < sizes[s]; i++) {
				CHECK(!pop(r, &c) && c.user_data == base + i && !c.res,
				      "nop batch", "cqe %u: user_data %#llx res %d", i,
				      (unsigned long long)c.user_data, c.res);
			}
			total += sizes[s];
		}
	}
	printf("ringer: nop batches ok %u\n", total);
	return 0;
}

/* Fill the SQ and CQ until ENTER says -EBUSY, reap, submit again. */
static int nop_overflow(struct vanity_ring *r)
{
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k, ov;
	uint64_t next = 0, want = 0;
	struct vanity_cqe c = { 0 };
	int ret = 0;

	ov = *r->cq_overflow;
	for (k = 0; k <= cqn / sqn; k++) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(vanity_get_sqe(r), next++);
		ret = vanity_submit(r);
		if (k < cqn / sqn)
			CHECK(ret == (int)sqn, "cq full", "submit %u: %d", k, ret);
	}
	CHECK(ret == -EBUSY, "cq full", "last submit %d, not -EBUSY", ret);
	CHECK(cq_ready(r) == cqn, "cq full", "%u CQEs", cq_ready(r));
	CHECK(*r->cq_overflow > ov, "cq full", "overflow count %u", *r->cq_overflow);
	while (!pop(r, &c)) {
		CHECK(c.user_data == want++ && !c.res, "cq full", "cqe %llu",
		      (unsigned long long)c.user_data);
	}
	/* The SQEs that met -EBUSY go now, none lost, none twice. */
	CHECK(vanity_submit(r) == (int)sqn, "cq full", "resubmit");
	CHECK(spin_cqes(r, sqn, BOUND_S), "cq full", "no CQEs after resubmit");
	while (!pop(r, &c)) {
		CHECK(c.user_data == want++ && !c.res, "cq full", "cqe %llu",
		      (unsigned long long)c.user_data);
	}
	CHECK(want == next, "cq full", "%llu of %llu", (unsigned long long)want,
	      (unsigned long long)next);
	printf("ringer: cq full ebusy and recovery ok\n");
	return 0;
}

static int mode_nop(struct vanity *v)
{
	struct vanity_ring *r = vanity_ring(v);

	CHECK(r, "ring", "vanity_ring is NULL");
	printf("ringer: entries %u cq %u\n", r->sq_entries, r->cq_mask + 1);
	if (nop_batches(r) || nop_overflow(r))
		return -1;
	return 0;
}

/* ---------------------------------------------------------- sqpoll */

static int mode_sqpoll(struct vanity *v)
{
	const uint64_t tag = 0x5a11ULL << 48;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, sub = 0, done = 0, x;
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_cqe c = { 0 };
	struct vanity_sqe *sqe;
	unsigned int i, round, b;
	double end, stall;
	uint32_t head;

	CHECK(r, "ring", "vanity_ring is NULL");
	/* Plain stores: the poller consumes without any ENTER. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 32; i++)
			vanity_prep_nop(vanity_get_sqe(r), round * 100 + i);
		CHECK(vanity_submit(r) == 32, "sqpoll nops", "submit");
		CHECK(spin_cqes(r, 32, BOUND_S), "sqpoll nops", "round %u: %u of 32", round,
		      cq_ready(r));
		for (i = 0; i < 32; i++)
			CHECK(!pop(r, &c) && c.user_data == round * 100 + i && !c.res,
			      "sqpoll nops", "cqe %u", i);
	}
	printf("ringer: sqpoll nops ok\n");

	/* Idle past sq_idle: NEED_WAKEUP; a bare tail store stays unconsumed. */
	for (end = now() + BOUND_S;; usleep(1000)) {
		CHECK(now() < end, "sqpoll need_wakeup", "never raised");
		if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) &
		    VANITY_SQ_NEED_WAKEUP)
			break;
	}
	usleep(50000);
	head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	vanity_prep_nop(vanity_get_sqe(r), 7001);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	usleep(200000);
	CHECK(__atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) == head,
	      "sqpoll need_wakeup", "consumed while flagged asleep");
	/* A submit sees the flag and wakes the poller: both complete. */
	vanity_prep_nop(vanity_get_sqe(r), 7002);
	CHECK(vanity_submit(r) == 1, "sqpoll need_wakeup", "submit");
	CHECK(spin_cqes(r, 2, BOUND_S), "sqpoll need_wakeup", "the wakeup was lost");
	CHECK(!pop(r, &c) && c.user_data == 7001, "sqpoll need_wakeup", "first");
	CHECK(!pop(r, &c) && c.user_data == 7002, "sqpoll need_wakeup", "second");
	printf("ringer: sqpoll need_wakeup edge ok\n");

	/* Random batches and pauses across the idle edge; each once, in order. */
	end = now() + BOUND_S;
	for (round = 0; sub < 100000 && (round++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 16;
		for (i = 0; i < b && (sqe = vanity_get_sqe(r)); i++)
			vanity_prep_nop(sqe, tag | sub++);
		if (i)
			CHECK(vanity_submit(r) == (int)i, "sqpoll stress", "submit");
		if ((x >> 32) % 100 < 3)
			usleep(1000 + (x >> 48) % 2000);	/* past sq_idle */
		for (stall = 0;;) {
			while (!pop(r, &c)) {
				CHECK(c.user_data == (tag | done) && !c.res,
				      "sqpoll stress", "after %llu", (unsigned long long)done);
				done++;
			}
			if (sub - done < r->sq_entries)
				break;
			if (!stall)
				stall = now() + BOUND_S;
			CHECK(now() < stall, "sqpoll stress", "stuck at %llu of %llu",
			      (unsigned long long)done, (unsigned long long)sub);
			vanity_cpu_relax();
		}
	}
	for (stall = now() + BOUND_S; done < sub;) {
		if (!pop(r, &c)) {
			CHECK(c.user_data == (tag | done) && !c.res, "sqpoll stress",
			      "drain at %llu", (unsigned long long)done);
			done++;
		} else {
			CHECK(now() < stall, "sqpoll stress", "lost: %llu of %llu",
			      (unsigned long long)done, (unsigned long long)sub);
			vanity_cpu_relax();
		}
	}
	printf("ringer: sqpoll stress ok %llu\n", (unsigned long long)sub);
	return 0;
}

/* ------------------------------------------------------ wait / wake */

/* A one-slot message: 8 bytes of phase number. */
static int send_phase(struct vanity_channel *ch, uint64_t phase)
{
	uint64_t msg[8] = { phase };

	return vanity_send_wait(ch, msg, (int64_t)(BOUND_S * 1e9));
}

static int recv_phase(struct vanity_channel *ch, uint64_t *phase)
{
	uint64_t msg[8];
	int ret = vanity_recv_wait(ch, msg, (int64_t)(BOUND_S * 1e9));

	*phase = msg[0];
	return ret;
}

static int mode_wait(struct vanity *v)
{
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_channel *out, *in;
	struct vanity_sqe s;
	uint64_t phase;
	uint32_t head;
	int res;

	CHECK(r, "ring", "vanity_ring is NULL");
	CHECK(!vanity_channel_get(v, "w2k", &out) &&
	      !vanity_channel_get(v, "k2w", &in), "wait", "channels");
	/* k2w is empty: not ready, a zero timeout ends at once. */
	vanity_prep_wait(&s, in->index, 1, 0, 1);
	res = ring_res_of(r, &s);
	CHECK(res == -ETIME, "wait etime", "%d (%s)", res, err_name(res));
	/* Of w2k (room: ready for us) and k2w, w2k's bit. */
	vanity_prep_wait(&s, 0, (1ULL << out->index) | (1ULL << in->index), -1, 2);
	res = ring_res_of(r, &s);
	CHECK(res == (int)out->index, "wait level", "%d", res);
	/* A channel past the system's is refused in the CQE. */
	vanity_prep_wait(&s, 1000, 1, 0, 3);
	res = ring_res_of(r, &s);
	CHECK(res == -EINVAL, "wait refused", "%d (%s)", res, err_name(res));
	printf("ringer: wait etime, level and refusal ok\n");

	/* Tell the waker, then sleep in the ring until its message arrives. */
	CHECK(!send_phase(out, 1), "wait woken by send", "phase 1");
	vanity_prep_wait(&s, in->index, 1, (int64_t)(BOUND_S * 1e9), 4);
	res = ring_res_of(r, &s);
	CHECK(res == 0, "wait woken by send", "%d (%s)", res, err_name(res));
	CHECK(!recv_phase(in, &phase) && phase == 100, "wait woken by send",
	      "message %llu", (unsigned long long)phase);
	printf("ringer: wait woken by send ok\n");

	/* Sleep in the doorbell itself: only the waker's NOTIFY ends it. */
	CHECK(!send_phase(out, 2), "notify wakes doorbell", "phase 2");
	head = __atomic_load_n(&in->hdr->head, __ATOMIC_ACQUIRE);
	res = in->bell->wait(in, head, (int64_t)(BOUND_S * 1e9));
	CHECK(res == 0, "notify wakes doorbell", "%d (%s)", res,
	      res == -ETIME ? "ETIME" : err_name(res));
	CHECK(!send_phase(out, 3), "notify wakes doorbell", "phase 3");
	printf("ringer: notify wakes doorbell ok\n");
	return 0;
}

static int mode_wake(struct vanity *v)
{
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_channel *out, *in;
	struct vanity_sqe s;
	uint64_t phase, msg[8];
	unsigned int notifies = 0;
	double end;
	int res;

	CHECK(r, "ring", "vanity_ring is NULL");
	CHECK(!vanity_channel_get(v, "k2w", &out) &&
	      !vanity_channel_get(v, "w2k", &in), "wake", "channels");
	CHECK(!recv_phase(in, &phase) && phase == 1, "wake", "phase %llu",
	      (unsigned long long)phase);
	/* Until the waiter's ring WAIT has raised its flag on k2w. */
	for (end = now() + BOUND_S;
	     !__atomic_load_n(&out->hdr->cons_waiting, __ATOMIC_ACQUIRE);
	     usleep(1000))
		CHECK(now() < end, "wake", "the waiter never waited");
	usleep(50000);
	CHECK(!send_phase(out, 100), "wake", "send");
	printf("ringer: sent to a ring waiter ok\n");

	/* Ring k2w's doorbell by NOTIFY until the waiter says it woke. */
	CHECK(!recv_phase(in, &phase) && phase == 2, "notify", "phase %llu",
	      (unsigned long long)phase);
	for (end = now() + BOUND_S; vanity_recv(in, msg); usleep(20000)) {
		CHECK(now() < end, "notify", "the waiter never woke");
		vanity_prep_notify(&s, out->index, 0x7000 + notifies);
		res = ring_res_of(r, &s);
		CHECK(res == 0, "notify", "%d (%s)", res, err_name(res));
		notifies++;
	}
	CHECK(msg[0] == 3, "notify", "phase %llu", (unsigned long long)msg[0]);
	printf("ringer: notify ok (%u rung)\n", notifies);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	bool sqpoll = !strcmp(mode, "sqpoll");
	struct vanity *v;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = vanity_attach_flags(NULL, sqpoll ? VANITY_ATTACH_SQPOLL : 0,
				  sqpoll ? 1000 : 0, &v);
	if (ret) {
		printf("ringer: attach FAIL %s\n", strerror(-ret));
		return 2;
	}
	if (!strcmp(mode, "nop"))
		ret = mode_nop(v);
	else if (sqpoll)
		ret = mode_sqpoll(v);
	else if (!strcmp(mode, "wait"))
		ret = mode_wait(v);
	else if (!strcmp(mode, "wake"))
		ret = mode_wake(v);
	else
		printf("ringer: unknown mode '%s' FAIL\n", mode), ret = -1;
	vanity_detach(v);
	return ret || failed ? 1 : 0;
}
