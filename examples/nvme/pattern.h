/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A verifiable 4 KiB block: what the storage client writes and checks,
 * and what a test reading the device directly checks too. Header only and
 * self-contained (no libvanity).
 *
 *   0   magic     STOR_PAT_MAGIC
 *   8   block     the block number it was written for
 *   16  gen       generation, >= 1: the how-manieth write of that block
 *   24  csum      FNV-1a 64 over the 508 payload words below
 *   32  payload   xorshift64 stream seeded from (block, gen)
 *
 * Words are native-endian (the writer and the checker share a machine).
 */
#ifndef STOR_PATTERN_H
#define STOR_PATTERN_H

#include <stdint.h>
#include <string.h>

#define STOR_PAT_BLOCK	4096u
#define STOR_PAT_MAGIC	0x314b4c4252545356ULL	/* "VSTRBLK1" */
#define STOR_PAT_HDR	32u
#define STOR_PAT_WORDS	((STOR_PAT_BLOCK - STOR_PAT_HDR) / 8)

enum stor_pat_result {
	STOR_PAT_OK = 0,	/* a valid block for this number; gen set */
	STOR_PAT_ZERO = 1,	/* all 4096 bytes zero: never written */
	STOR_PAT_BAD = 2,	/* anything else */
};

struct stor_pat_hdr {
	uint64_t magic;
	uint64_t block;
	uint64_t gen;
	uint64_t csum;
};

_Static_assert(sizeof(struct stor_pat_hdr) == STOR_PAT_HDR, "pattern header");

/* The payload stream's start: splitmix64 of (block, gen), never 0. */
static inline uint64_t stor_pattern_seed(uint64_t block, uint64_t gen)
{
	uint64_t z = block * 0x9e3779b97f4a7c15ULL ^
		     (gen + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 0x2545f4914f6cdd1dULL;
}

static inline uint64_t stor_pattern_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define STOR_FNV_OFFSET	0xcbf29ce484222325ULL
#define STOR_FNV_PRIME	0x100000001b3ULL

/* Write the pattern of (@block, @gen) into the 4096 bytes at @buf. */
static inline void stor_pattern_fill(void *buf, uint64_t block, uint64_t gen)
{
	uint8_t *p = (uint8_t *)buf + STOR_PAT_HDR;
	uint64_t x = stor_pattern_seed(block, gen), h = STOR_FNV_OFFSET, w;
	struct stor_pat_hdr hdr;
	unsigned int i;

	for (i = 0; i < STOR_PAT_WORDS; i++) {
		w = stor_pattern_next(&x);
		h = (h ^ w) * STOR_FNV_PRIME;
		memcpy(p + 8 * i, &w, 8);
	}
	hdr.magic = STOR_PAT_MAGIC;
	hdr.block = block;
	hdr.gen = gen;
	hdr.csum = h;
	memcpy(buf, &hdr, sizeof(hdr));
}

static inline int stor_pattern_is_zero(const void *buf)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t acc = 0, w;
	unsigned int i;

	for (i = 0; i < STOR_PAT_BLOCK; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	return !acc;
}

/*
 * Check the 4096 bytes at @buf against block @block: STOR_PAT_OK (the
 * header names this block with a generation >= 1, the checksum is right
 * and the payload is the stream of that generation; *@gen_out set, if
 * not NULL), STOR_PAT_ZERO, or STOR_PAT_BAD.
 */
static inline int stor_pattern_check(const void *buf, uint64_t block,
				     uint64_t *gen_out)
{
	const uint8_t *p = (const uint8_t *)buf + STOR_PAT_HDR;
	uint64_t x, h = STOR_FNV_OFFSET, w, diff = 0;
	struct stor_pat_hdr hdr;
	unsigned int i;

	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != STOR_PAT_MAGIC)
		return stor_pattern_is_zero(buf) ? STOR_PAT_ZERO : STOR_PAT_BAD;
	if (hdr.block != block || hdr.gen < 1)
		return STOR_PAT_BAD;
	x = stor_pattern_seed(block, hdr.gen);
	for (i = 0; i < STOR_PAT_WORDS; i++) {
		memcpy(&w, p + 8 * i, 8);
		h = (h ^ w) * STOR_FNV_PRIME;
		diff |= w ^ stor_pattern_next(&x);
	}
	if (h != hdr.csum || diff)
		return STOR_PAT_BAD;
	if (gen_out)
		*gen_out = hdr.gen;
	return STOR_PAT_OK;
}

#endif /* STOR_PATTERN_H */
