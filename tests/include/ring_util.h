/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers for a shard's submission ring, shared by the module's
 * selftests, the simulator's unit tests and the ring test shard: a clock
 * and a spin, a PRNG, CQEs ready, pop one, spin (no system call,
 * bounded) until some are ready.
 */
#ifndef VANITY_TESTS_RING_UTIL_H
#define VANITY_TESTS_RING_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <vanity.h>

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
	return ld(r->cq_tail) - *r->cq_head;
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

#endif /* VANITY_TESTS_RING_UTIL_H */
