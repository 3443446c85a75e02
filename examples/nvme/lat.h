/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A latency histogram in nanoseconds, fixed size (no allocation): values
 * under 64 ns exactly, then 32 log-linear sub-buckets per power of two
 * up to 2^42 ns (73 minutes; anything longer lands in the last bucket),
 * so a percentile is at most 1/32 (3.1%) above the true value. Header
 * only; zero a struct lat_hist (or lat_init it) before use.
 */
#ifndef STOR_LAT_H
#define STOR_LAT_H

#include <stdint.h>
#include <string.h>

#define LAT_SUB_BITS	5
#define LAT_SUB		(1u << LAT_SUB_BITS)		/* 32 */
#define LAT_LINEAR	(2 * LAT_SUB)			/* 0..63 exact */
#define LAT_MAX_EXP	42				/* 2^42 ns ~ 73 min */
#define LAT_BUCKETS	(LAT_LINEAR + (LAT_MAX_EXP - LAT_SUB_BITS - 1) * LAT_SUB)

struct lat_hist {
	uint64_t n;
	uint64_t max;
	uint64_t b[LAT_BUCKETS];
};

static inline void lat_init(struct lat_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static inline unsigned int lat_bucket(uint64_t ns)
{
	unsigned int e;

	if (ns < LAT_LINEAR)
		return (unsigned int)ns;
	e = 63u - (unsigned int)__builtin_clzll(ns);	/* >= LAT_SUB_BITS + 1 */
	if (e >= LAT_MAX_EXP)
		return LAT_BUCKETS - 1;
	return LAT_LINEAR + (e - LAT_SUB_BITS - 1) * LAT_SUB +
	       (unsigned int)((ns >> (e - LAT_SUB_BITS)) & (LAT_SUB - 1));
}

/* The highest value bucket @b holds. */
static inline uint64_t lat_bucket_top(unsigned int b)
{
	unsigned int e, sub;

	if (b < LAT_LINEAR)
		return b;
	e = (b - LAT_LINEAR) / LAT_SUB + LAT_SUB_BITS + 1;
	sub = (b - LAT_LINEAR) % LAT_SUB;
	return ((uint64_t)(LAT_SUB + sub) << (e - LAT_SUB_BITS)) +
	       ((1ULL << (e - LAT_SUB_BITS)) - 1);
}

static inline void lat_add(struct lat_hist *h, uint64_t ns)
{
	h->b[lat_bucket(ns)]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

static inline uint64_t lat_count(const struct lat_hist *h)
{
	return h->n;
}

static inline uint64_t lat_max(const struct lat_hist *h)
{
	return h->max;
}

/*
 * The @q-quantile (0..1; 0.99 is p99) by nearest rank, as the top of its
 * bucket but never above the largest value seen; 0 when empty.
 */
static inline uint64_t lat_pct(const struct lat_hist *h, double q)
{
	uint64_t want, acc = 0, t;
	double r;
	unsigned int b;

	if (!h->n)
		return 0;
	r = q * (double)h->n;
	want = r <= 1 ? 1 : (uint64_t)r;
	if ((double)want < r)
		want++;				/* ceil */
	if (want > h->n)
		want = h->n;
	for (b = 0; b < LAT_BUCKETS; b++) {
		acc += h->b[b];
		if (acc >= want)
			break;
	}
	if (b >= LAT_BUCKETS - 1)
		return h->max;
	t = lat_bucket_top(b);
	return t < h->max ? t : h->max;
}

/* Add @src's samples into @dst. */
static inline void lat_merge(struct lat_hist *dst, const struct lat_hist *src)
{
	unsigned int b;

	for (b = 0; b < LAT_BUCKETS; b++)
		dst->b[b] += src->b[b];
	dst->n += src->n;
	if (src->max > dst->max)
		dst->max = src->max;
}

#endif /* STOR_LAT_H */
