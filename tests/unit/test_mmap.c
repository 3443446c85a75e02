// SPDX-License-Identifier: GPL-2.0
/*
 * The mmap offset scheme's one decoding (kmod/core/mmap.h): every kind,
 * the reserved ones, and the offsets no scheme produces.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "mmap.h"

static int dec(u64 off, u32 *kind, u32 *index)
{
	return vanity_mmap_decode(off, kind, index);
}

Test(mmap, served_kinds_decode_to_their_kind_and_index)
{
	u32 k, i;

	cr_assert_eq(dec(VANITY_MMAP_PRIVATE, &k, &i), 0);
	cr_assert(k == VANITY_MMAP_K_PRIVATE && i == 0);
	cr_assert_eq(dec(VANITY_MMAP_RING, &k, &i), 0);
	cr_assert(k == VANITY_MMAP_K_RING && i == 0);
	cr_assert_eq(dec(VANITY_MMAP_CHANNEL(0), &k, &i), 0);
	cr_assert(k == VANITY_MMAP_K_CHANNEL && i == 0);
	cr_assert_eq(dec(VANITY_MMAP_CHANNEL(255), &k, &i), 0);
	cr_assert(k == VANITY_MMAP_K_CHANNEL && i == 255);
	cr_assert_eq(dec(VANITY_MMAP_CHANNEL(VANITY_MMAP_INDEX_MAX), &k, &i), 0);
	cr_assert_eq(i, VANITY_MMAP_INDEX_MAX);
}

Test(mmap, bars_are_served_and_shard_pages_reserved)
{
	u32 k, i;

	cr_assert_eq(dec(VANITY_MMAP(VANITY_MMAP_K_BAR, 7), &k, &i), 0);
	cr_assert(k == VANITY_MMAP_K_BAR && i == 7);
	cr_assert_eq(dec(VANITY_MMAP(VANITY_MMAP_K_SHARD_PAGE, 0), &k, &i),
		     -EOPNOTSUPP);
}

Test(mmap, everything_else_is_einval)
{
	u32 k, i, kind;

	cr_assert_eq(dec(VANITY_MMAP_PRIVATE + 4096, &k, &i), -EINVAL);
	cr_assert_eq(dec(VANITY_MMAP_CHANNEL(1) | 1, &k, &i), -EINVAL);
	cr_assert_eq(dec(VANITY_MMAP_RING + 0x80000000ULL, &k, &i), -EINVAL);
	cr_assert_eq(dec(VANITY_MMAP(VANITY_MMAP_K_PRIVATE, 1), &k, &i), -EINVAL);
	cr_assert_eq(dec(VANITY_MMAP(VANITY_MMAP_K_RING, 2), &k, &i), -EINVAL);
	for (kind = VANITY_MMAP_K_LAST; kind < 0x100; kind++)
		cr_assert_eq(dec((u64)kind << VANITY_MMAP_KIND_SHIFT, &k, &i),
			     -EINVAL, "kind %u", kind);
	cr_assert_eq(dec(~0ULL, &k, &i), -EINVAL);
	cr_assert_eq(dec(1ULL << 63, &k, &i), -EINVAL);
}
