/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers for a shard's submission ring, shared by the module's
 * selftests, the simulator's unit tests and the ring test shard: a clock
 * and a spin, a PRNG, CQEs ready, pop one, spin (no system call,
 * bounded) until some are ready, an SQE by value, one SQE's round trip,
 * and the checks of stamps both backends must pass.
 */
#ifndef VANITY_TESTS_RING_UTIL_H
#define VANITY_TESTS_RING_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <vanity.h>
#include "bell.h"

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void spin_us(double us)
{
	double end = now() + us / 1e6;

	while (now() < end)
		vanity_cpu_relax();
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* CQEs posted and not yet seen. */
static inline uint32_t cq_ready(const struct vanity_ring *r)
{
	return vanity_cq_ready(r);
}

/* Pop the oldest CQE into @out: 0, or -EAGAIN when none. */
static inline int pop(struct vanity_ring *r, struct vanity_cqe *out)
{
	struct vanity_cqe *c;
	int ret = vanity_peek_cqe(r, &c);

	if (ret)
		return ret;
	*out = *c;
	vanity_cqe_seen(r);
	return 0;
}

/* Spin (no system call) until @n CQEs are unseen: false after @secs. */
static inline bool spin_cqes(const struct vanity_ring *r, uint32_t n,
			     double secs)
{
	double end = now() + secs;
	unsigned int i = 0;

	while (cq_ready(r) < n) {
		if (++i % 1024 == 0 && now() > end)
			return false;
		vanity_cpu_relax();
	}
	return true;
}

/*
 * The next SQE, where the caller has reaped enough to expect room: NULL
 * only if there is none. Under SQPOLL the poller publishes sq_head once
 * per batch, after the batch's CQEs are visible by their stamps, so room
 * a reaped CQE promises can lag it by a batch: spin for it (bounded).
 */
static inline struct vanity_sqe *get_sqe_expecting_room(struct vanity_ring *r)
{
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	double end;

	if (sqe || !r->sqpoll)
		return sqe;
	for (end = now() + 10; !sqe && now() < end;) {
		spin_us(1);
		sqe = vanity_get_sqe(r);
	}
	return sqe;
}

/* An SQE with these fields, by value (copied into the SQ by ring_res_of). */
static inline struct vanity_sqe sqe_of(uint8_t op, uint32_t channel,
				       uint64_t mask, int64_t timeout_ns,
				       uint64_t ud)
{
	struct vanity_sqe s;

	vanity_prep(&s, op, channel, mask, timeout_ns, ud);
	return s;
}

/*
 * Queue a copy of @s, submit it and wait for its CQE (no other CQE may be
 * pending): its result, -1000 + -errno when a step failed, -2000 when the
 * CQE was another's.
 */
static inline int ring_res_of(struct vanity_ring *r,
			      const struct vanity_sqe *s)
{
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	struct vanity_cqe c;
	int ret;

	if (!sqe)
		return -1000 - ENOSPC;
	*sqe = *s;
	ret = vanity_submit_and_wait(r, 1);
	if (ret != 1)
		return -1000 + (ret < 0 ? ret : -EIO);
	if (pop(r, &c))
		return -1000 - EAGAIN;
	return c.user_data == s->user_data ? c.res : -2000;
}

/* ---------------------------------------------------------- stamps */

/* Stamp the SQEs handed out and not yet published; sq_tail stays. */
static inline void stamp_unpublished(struct vanity_ring *r)
{
	for (uint32_t i = *r->sq_tail; i != r->sqe_tail; i++)
		__atomic_store_n(&r->sqes[i & r->sq_mask].stamp,
				 VANITY_STAMP(i), __ATOMIC_RELEASE);
}

/* Spin until the oldest unseen CQE is posted, by its stamp: false after @secs. */
static inline bool spin_peek(struct vanity_ring *r, double secs)
{
	double end = now() + secs;
	struct vanity_cqe *c;
	unsigned int i = 0;

	while (vanity_peek_cqe(r, &c)) {
		if (++i % 1024 == 0 && now() > end)
			return false;
		vanity_cpu_relax();
	}
	return true;
}

/*
 * Under SQPOLL, the poller awake: an SQE published by its stamp alone is
 * taken and answered, and the tail covering it later runs nothing again.
 * NULL, or what went wrong.
 */
static inline const char *check_stamp_publishes(struct vanity_ring *r)
{
	uint32_t t0 = *r->sq_tail;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;

	sqe = vanity_get_sqe(r);
	if (!sqe)
		return "no SQE";
	vanity_prep_nop(sqe, 0x5a01);
	stamp_unpublished(r);
	if (!spin_peek(r, 20))
		return "an SQE published by its stamp was not taken";
	/* sq_head is published after the CQE. */
	for (double end = now() + 20; ld(r->sq_head) != t0 + 1 && now() < end;)
		vanity_cpu_relax();
	if (ld(r->sq_head) != t0 + 1 || *r->sq_tail != t0)
		return "sq_head did not move past it alone";
	if (pop(r, &c) || c.user_data != 0x5a01 || c.res)
		return "its CQE is wrong";
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	spin_us(100000);
	if (!pop(r, &c) || ld(r->sq_head) != t0 + 1)
		return "it ran again once the tail covered it";
	if (ring_res_of(r, &(struct vanity_sqe){ .user_data = 0x5a02 }))
		return "the next SQE did not complete";
	return NULL;
}

/*
 * Under SQPOLL, the poller awake: an SQE with no stamp, or with the stamp
 * of another index, is not taken until the tail covers it.
 */
static inline const char *check_unstamped_waits_for_the_tail(
	struct vanity_ring *r)
{
	uint32_t i = r->sqe_tail, h = ld(r->sq_head);
	const uint16_t wrong[] = {
		0,				/* none */
		VANITY_STAMP(i + 1),		/* the next SQE's */
		VANITY_STAMP(i - 1),		/* the last one's */
		VANITY_STAMP(i + r->sq_entries), /* a lap on */
		VANITY_STAMP(i) & 0x7fff,	/* no valid bit */
	};
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	struct vanity_cqe c;

	if (!sqe || i != h || *r->sq_tail != i)
		return "not a quiet ring";
	vanity_prep_nop(sqe, 0x5b01);
	for (unsigned int k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
		__atomic_store_n(&sqe->stamp, wrong[k], __ATOMIC_RELEASE);
		spin_us(50000);
		if (ld(r->sq_head) != h || !pop(r, &c))
			return "a wrongly stamped SQE was taken";
	}
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	if (!spin_cqes(r, 1, 20) || pop(r, &c) || c.user_data != 0x5b01)
		return "the tail did not publish it";
	return NULL;
}

/* ENTER takes what the tail publishes: a stamp alone publishes nothing. */
static inline const char *check_enter_ignores_stamps(struct vanity_ring *r)
{
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	struct vanity_cqe c;

	if (!sqe)
		return "no SQE";
	vanity_prep_nop(sqe, 0x5d01);
	stamp_unpublished(r);
	if (vanity__enter(r, r->sq_entries, 0, 0) != 0 || !pop(r, &c))
		return "ENTER took an SQE the tail does not publish";
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	if (vanity__enter(r, r->sq_entries, 0, 0) != 1 || pop(r, &c) ||
	    c.user_data != 0x5d01)
		return "ENTER did not take the SQE the tail publishes";
	return NULL;
}

/*
 * Deadlines past the clock's end saturate to none (kmod/core/deadline.h):
 * a TIMEOUT and a WAIT on @idle_ch (an end of ours nothing makes ready
 * meanwhile) of INT64_MAX ns stay armed, with no CQE, while a NOP behind
 * them completes; detach then cancels them. A wrapped deadline would be
 * in the past: -ETIME at once.
 */
static inline const char *check_never_deadlines(struct vanity_ring *r,
						uint32_t idle_ch)
{
	struct vanity_sqe *s;
	struct vanity_cqe c;

	if (!vanity_sq_room(r, 3))
		return "no room for three SQEs";
	s = vanity_get_sqe(r);
	vanity_prep_timeout(s, INT64_MAX, 0x7e01);
	s = vanity_get_sqe(r);
	vanity_prep_wait(s, idle_ch, 1, INT64_MAX, 0x7e02);
	s = vanity_get_sqe(r);
	vanity_prep_nop(s, 0x7e03);
	if (vanity_submit_and_wait(r, 1) < 0)
		return "submit failed";
	if (!spin_cqes(r, 1, 20))
		return "no CQE at all";
	if (pop(r, &c))
		return "no CQE to pop";
	if (c.user_data != 0x7e03 || c.res)
		return "the first CQE is not the NOP's: a deadline fired at once";
	spin_us(200000);
	if (cq_ready(r))
		return "a deadline past the clock's end fired";
	return NULL;
}

/*
 * An end's waiting flag has one bit per sleeper kind (kmod/core/bell.h): a
 * blocking call on @rx (channel @ch, our consumer end) that times out
 * lowers only its own bit, so an armed ring WAIT on the same end keeps
 * its bit up, the peer's send (@send) rings, and the WAIT completes.
 * With one flag for both, the timed-out call took the WAIT's down and
 * the peer's send rang nobody.
 */
static inline const char *check_waiting_bits_are_owned(
	struct vanity_ring *r, struct vanity_channel *rx, uint32_t ch,
	int (*send)(void *ctx), void *ctx)
{
	uint32_t *flag = &rx->hdr->cons_waiting;
	struct vanity_sqe *s;
	struct vanity_cqe c;
	char buf[64];

	s = vanity_get_sqe(r);
	if (!s)
		return "no SQE";
	vanity_prep_wait(s, ch, 1, -1, 0x7e11);
	if (vanity_submit(r) != 1)
		return "the WAIT was not submitted";
	spin_us(50000);
	if (cq_ready(r))
		return "the WAIT completed with nothing sent";
	if (!(ld(flag) & VANITY_WAITING_RING))
		return "the armed WAIT raised no flag";
	vanity_channel_set_spin(rx, 0);
	if (vanity_wait_data(rx, 1000000) != -ETIME)
		return "the blocking call did not time out";
	if (!(ld(flag) & VANITY_WAITING_RING))
		return "a blocking call took the armed WAIT's flag down";
	if (ld(flag) & VANITY_WAITING_LIB)
		return "the blocking call left its own bit up";
	if (send(ctx))
		return "the peer could not send";
	if (!spin_cqes(r, 1, 20))
		return "the armed WAIT missed the peer's ring";
	if (pop(r, &c) || c.user_data != 0x7e11 || c.res != 0)
		return "the WAIT's CQE is wrong";
	if (ld(flag))
		return "a flag bit stayed up after both sleepers left";
	if (vanity_recv(rx, buf))
		return "the message is not there";
	return NULL;
}

/*
 * Status's sleeps and wakeups of channel @ch, one definition on both
 * backends (vanity_chan_bell_counts): what the ends counted in the header
 * (@tx is our producer end of it) plus the NOTIFY ops that rang it. The
 * header is bumped here as a shard's library would count; @counts reads
 * status. Returns NULL or what is wrong.
 */
static inline const char *check_status_bell_counts(
	struct vanity_ring *r, struct vanity_channel *tx, uint32_t ch,
	int (*counts)(void *ctx, uint32_t ch, uint64_t *sleeps,
		      uint64_t *wakeups), void *ctx)
{
	uint64_t s0, w0, s1, w1;
	struct vanity_sqe s;

	if (counts(ctx, ch, &s0, &w0))
		return "no status";
	__atomic_fetch_add(&tx->hdr->prod.sleeps, 3, __ATOMIC_RELAXED);
	__atomic_fetch_add(&tx->hdr->prod.wakeups, 5, __ATOMIC_RELAXED);
	s = sqe_of(VANITY_OP_NOTIFY, ch, 0, 0, 0x7e21);
	if (ring_res_of(r, &s) != 0)
		return "the NOTIFY failed";
	if (counts(ctx, ch, &s1, &w1))
		return "no status after";
	if (s1 != s0 + 3)
		return "sleeps are not what the header counted";
	if (w1 != w0 + 5 + 1)
		return "wakeups are not the header's plus the NOTIFY";
	return NULL;
}

/* @n NOPs through @r, a batch at a time, each CQE checked and seen. */
static inline const char *run_nops(struct vanity_ring *r, uint32_t n)
{
	uint32_t batch = r->sq_entries < 64 ? r->sq_entries : 64, k, b;
	uint64_t ud = 0;
	struct vanity_cqe c;

	while (n) {
		b = n < batch ? n : batch;
		for (k = 0; k < b; k++) {
			struct vanity_sqe *sqe = vanity_get_sqe(r);

			if (!sqe)
				return "no SQE";
			vanity_prep_nop(sqe, ud + k);
		}
		if (vanity_submit_and_wait(r, b) != (int)b)
			return "a batch was not submitted";
		if (!spin_cqes(r, b, 20))
			return "a batch did not complete";
		for (k = 0; k < b; k++)
			if (pop(r, &c) || c.user_data != ud + k || c.res)
				return "a CQE is wrong";
		ud += b;
		n -= b;
	}
	return NULL;
}

/*
 * Three laps of the CQ: every CQE carries its index's stamp and no flag,
 * in order.
 */
static inline const char *check_cqe_stamps(struct vanity_ring *r)
{
	uint32_t cqn = r->cq_mask + 1, head = *r->cq_head, index, n, k;
	uint64_t ud = 0x5c000;
	struct vanity_cqe *c;

	for (n = 0; n < 3 * cqn; n += 32) {
		for (k = 0; k < 32; k++) {
			struct vanity_sqe *sqe = vanity_get_sqe(r);

			if (!sqe)
				return "no SQE";
			vanity_prep_nop(sqe, ud + k);
		}
		if (vanity_submit_and_wait(r, 32) != 32 || !spin_cqes(r, 32, 20))
			return "a batch did not complete";
		/* Half one at a time, half in one walk. */
		for (k = 0; k < 16; k++, head++) {
			if (vanity_peek_cqe(r, &c))
				return "a posted CQE has no stamp";
			if (c->stamp != VANITY_STAMP(head) || c->flags ||
			    c->user_data != ud + k || c->res)
				return "a CQE is wrong";
			vanity_cqe_seen(r);
		}
		vanity_for_each_cqe(r, index, c) {
			if (index != head || c->stamp != VANITY_STAMP(head) ||
			    c->flags || c->user_data != ud + k || c->res)
				return "a CQE of the walk is wrong";
			k++;
			head++;
		}
		if (k != 32)
			return "the walk did not end at the last CQE";
		vanity_cq_advance(r, 16);
		ud += 32;
	}
	return NULL;
}

#endif /* VANITY_TESTS_RING_UTIL_H */
