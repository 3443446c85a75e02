/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The route stage's longest-prefix match: a DIR-24-8 table and its loading
 * from a prefix file. Header only, like pkt.h: included by route and by the
 * threaded builds of tests/bench/pipeline, so both run the same table.
 *
 * tbl24 has one 16-bit entry per /24: a next hop (1..LPM_MAX_NH, 0 for no
 * route) or, with LPM_EXT set, the index of a group of 256 entries in tbl8
 * for the prefixes longer than 24 bits under that /24.
 */
#ifndef PIPELINE_LPM_H
#define PIPELINE_LPM_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LPM_EXT		0x8000u
#define LPM_MAX_NH	0x7fffu
#define LPM_MAX_TBL8	0x7fffu

struct lpm {
	uint16_t *tbl24;		/* 2^24: next hop, or LPM_EXT | group */
	uint16_t *tbl8;			/* groups of 256 next hops */
	uint32_t ngroups, cap;
	uint32_t nroutes;
};

struct lpm_prefix {
	uint32_t addr;			/* host order, host bits cleared */
	uint8_t len;
	uint16_t nh;
};

static inline int lpm__prefix_cmp(const void *a, const void *b)
{
	const struct lpm_prefix *x = a, *y = b;

	return (int)x->len - (int)y->len;
}

/* A new tbl8 group filled with @fill: its index, or -errno. */
static inline int lpm__group(struct lpm *l, uint16_t fill)
{
	uint32_t g, i;

	if (l->ngroups == LPM_MAX_TBL8)
		return -ENOSPC;
	if (l->ngroups == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 256;
		uint16_t *t;

		if (cap > LPM_MAX_TBL8)
			cap = LPM_MAX_TBL8;
		t = realloc(l->tbl8, (size_t)cap * 256 * sizeof(*t));
		if (!t)
			return -ENOMEM;
		l->tbl8 = t;
		l->cap = cap;
	}
	g = l->ngroups++;
	for (i = 0; i < 256; i++)
		l->tbl8[g * 256 + i] = fill;
	return (int)g;
}

/* Prefixes must come shortest first: a longer one overwrites. */
static inline int lpm_add(struct lpm *l, uint32_t addr, unsigned int len,
			  uint16_t nh)
{
	uint32_t i, first, n;

	if (len <= 24) {
		first = len ? (addr >> 8) & ~((1u << (24 - len)) - 1) : 0;
		n = 1u << (24 - len);
		for (i = first; i < first + n; i++) {
			uint16_t e = l->tbl24[i];

			if (e & LPM_EXT) {
				uint32_t g = e & ~LPM_EXT, k;

				for (k = 0; k < 256; k++)
					l->tbl8[g * 256 + k] = nh;
			} else {
				l->tbl24[i] = nh;
			}
		}
	} else {
		uint32_t idx = addr >> 8, g;
		uint16_t e = l->tbl24[idx];

		if (e & LPM_EXT) {
			g = e & ~LPM_EXT;
		} else {
			int r = lpm__group(l, e);

			if (r < 0)
				return r;
			g = (uint32_t)r;
			l->tbl24[idx] = (uint16_t)(LPM_EXT | g);
		}
		first = addr & 0xff & ~((1u << (32 - len)) - 1);
		n = 1u << (32 - len);
		for (i = first; i < first + n; i++)
			l->tbl8[g * 256 + i] = nh;
	}
	l->nroutes++;
	return 0;
}

/* Next hop of @addr (host order), 0 when nothing matches. */
static inline uint16_t lpm_lookup(const struct lpm *l, uint32_t addr)
{
	uint16_t e = l->tbl24[addr >> 8];

	if (e & LPM_EXT)
		e = l->tbl8[(uint32_t)(e & ~LPM_EXT) * 256 + (addr & 0xff)];
	return e;
}

/*
 * Read a prefix file, one "a.b.c.d/len nexthop" per line ('#' and empty
 * lines skipped; next hops 1..LPM_MAX_NH): 0 with a malloc'd array in
 * *@out, -EINVAL with *@lineno at the first bad line, or -errno (*@lineno
 * then 0).
 */
static inline int lpm_read(const char *path, struct lpm_prefix **out,
			   size_t *nout, int *lineno)
{
	struct lpm_prefix *p = NULL;
	size_t np = 0, cap = 0;
	unsigned int a, b, c, d, len, nh;
	char line[256];
	int ln = 0, ret;
	FILE *f = fopen(path, "r");

	*out = NULL;
	*nout = 0;
	*lineno = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%u.%u.%u.%u/%u %u", &a, &b, &c, &d, &len, &nh) != 6 ||
		    a > 255 || b > 255 || c > 255 || d > 255 || len > 32 ||
		    !nh || nh > LPM_MAX_NH) {
			*lineno = ln;
			ret = -EINVAL;
			goto err;
		}
		if (np == cap) {
			struct lpm_prefix *t;

			if (cap > SIZE_MAX / 2 / sizeof(*p)) {
				ret = -ENOMEM;
				goto err;
			}
			cap = cap ? cap * 2 : 4096;
			t = realloc(p, cap * sizeof(*p));
			if (!t) {
				ret = -ENOMEM;
				goto err;
			}
			p = t;
		}
		p[np].addr = a << 24 | b << 16 | c << 8 | d;
		if (len < 32)
			p[np].addr &= ~(0xffffffffu >> len);
		p[np].len = (uint8_t)len;
		p[np].nh = (uint16_t)nh;
		np++;
	}
	fclose(f);
	*out = p;
	*nout = np;
	return 0;
err:
	fclose(f);
	free(p);
	return ret;
}

/* Fill an empty @l with @n prefixes (sorted in place, shortest first). */
static inline int lpm_build(struct lpm *l, struct lpm_prefix *p, size_t n)
{
	size_t i;
	int ret;

	l->tbl24 = calloc(1u << 24, sizeof(*l->tbl24));
	if (!l->tbl24)
		return -ENOMEM;
	qsort(p, n, sizeof(*p), lpm__prefix_cmp);
	for (i = 0; i < n; i++) {
		ret = lpm_add(l, p[i].addr, p[i].len, p[i].nh);
		if (ret)
			return ret;
	}
	return 0;
}

static inline void lpm_free(struct lpm *l)
{
	free(l->tbl24);
	free(l->tbl8);
	memset(l, 0, sizeof(*l));
}

#endif
