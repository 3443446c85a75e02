/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers for a shard's submission ring, shared by the ring selftests
 * (both backends), the simulator's unit tests and the ring test shard: a
 * clock and a spin, a PRNG, CQEs ready, pop one, spin (no system call,
 * bounded) until some are ready or posted, an SQE by value, one SQE's
 * round trip, stamping what is not yet published.
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

#endif /* VANITY_TESTS_RING_UTIL_H */
