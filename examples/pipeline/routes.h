/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pipeline's synthetic route table, from a fixed seed: mkroutes writes
 * it as a prefix file, route builds it in memory when given no file.
 */
#ifndef PIPELINE_ROUTES_H
#define PIPELINE_ROUTES_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lpm.h"

#define ROUTES_COUNT	16384			/* random prefixes, besides the default */
#define ROUTES_NEXTHOPS	16
#define ROUTES_SEED	0x2545f4914f6cdd1dULL	/* xorshift64 state: never 0 */

/* xorshift64: the same sequence on every architecture. */
static inline uint64_t routes__rng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The next random prefix: length 8..32, host bits clear, next hop 1..@k. */
static inline struct lpm_prefix routes_next(uint64_t *state, unsigned long k)
{
	struct lpm_prefix p;
	unsigned int len = 8 + (unsigned int)(routes__rng(state) % 25);
	uint32_t a = (uint32_t)routes__rng(state);

	if (len < 32)
		a &= ~(0xffffffffu >> len);
	p.addr = a;
	p.len = (uint8_t)len;
	p.nh = (uint16_t)(1 + routes__rng(state) % k);
	return p;
}

/*
 * The table mkroutes writes with no options: 0.0.0.0/0 to next hop 1,
 * then ROUTES_COUNT random prefixes, in a malloc'd array; or -ENOMEM.
 */
static inline int routes_default(struct lpm_prefix **out, size_t *n)
{
	struct lpm_prefix *p = malloc((ROUTES_COUNT + 1) * sizeof(*p));
	uint64_t state = ROUTES_SEED;
	size_t i;

	if (!p)
		return -ENOMEM;
	p[0].addr = 0;
	p[0].len = 0;
	p[0].nh = 1;
	for (i = 1; i <= ROUTES_COUNT; i++)
		p[i] = routes_next(&state, ROUTES_NEXTHOPS);
	*out = p;
	*n = ROUTES_COUNT + 1;
	return 0;
}

#endif
