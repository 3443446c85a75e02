/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * mmap offsets: the one decoding of VANITY_MMAP(kind, index), and which
 * kinds a shard may map today.
 */
#ifndef VANITY_CORE_MMAP_H
#define VANITY_CORE_MMAP_H

#include "shim.h"

/*
 * Split @off into *@kind and *@index: 0 for a kind served today (an
 * index still to be checked against the system, but private and ring take
 * index 0 only), -EOPNOTSUPP for a reserved kind, -EINVAL for anything
 * else (low bits set, an unknown kind, the sign bit).
 */
static inline int vanity_mmap_decode(u64 off, u32 *kind, u32 *index)
{
	u64 k = off >> VANITY_MMAP_KIND_SHIFT;

	*kind = (u32)k;
	*index = (u32)(off >> VANITY_MMAP_INDEX_SHIFT) & VANITY_MMAP_INDEX_MAX;
	if (off & 0xffffffffULL)
		return -EINVAL;
	switch (k) {
	case VANITY_MMAP_K_PRIVATE:
	case VANITY_MMAP_K_RING:
		return *index ? -EINVAL : 0;
	case VANITY_MMAP_K_CHANNEL:
	case VANITY_MMAP_K_BAR:
		return 0;
	case VANITY_MMAP_K_SHARD_PAGE:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

#endif /* VANITY_CORE_MMAP_H */
