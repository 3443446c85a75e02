// SPDX-License-Identifier: GPL-2.0
/*
 * A channel header is shared with the peer shard, so vanity_chan_check
 * bounds every geometry field before any arithmetic on it: a huge
 * slot_size must not wrap the stride into a tiny, "valid" region, and
 * out-of-range sizes or slot counts are refused whatever the image said.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <vanity.h>

#include "chan.h"

static int bind_with(uint32_t slot_size, uint32_t stride, uint32_t slots,
		     size_t bytes)
{
	struct vanity_channel ch;
	struct vanity_chan_hdr *h;
	void *r = aligned_alloc(VANITY_PAGE_SIZE, bytes);
	int ret;

	cr_assert_not_null(r);
	memset(r, 0, VANITY_CHANNEL_HDR_SIZE);
	vanity_channel_format(r, 8, 2, 0);
	h = r;
	h->slot_size = slot_size;
	h->stride = stride;
	h->slots = slots;
	memset(&ch, 0, sizeof(ch));
	ret = vanity_channel_bind(&ch, r, bytes, VANITY_ROLE_TO, NULL, NULL);
	free(r);
	return ret;
}

Test(chan_hostile, bind_refuses_a_slot_size_whose_stride_wraps)
{
	uint32_t s;

	for (s = 0xfffffff9; s; s++) {
		cr_assert_eq(vanity_chan_stride(s), 8,
			     "the premise: stride(%#x) wraps to 8", s);
		cr_expect_eq(bind_with(s, 8, 2, 8192), -EPROTO,
			     "slot_size %#x with stride 8 accepted: each "
			     "message copies ~4 GiB", s);
	}
}

Test(chan_hostile, bind_refuses_slot_sizes_outside_the_abi)
{
	cr_expect_eq(bind_with(0, vanity_chan_stride(0), 2, 8192), -EPROTO,
		     "slot_size 0 accepted");
	cr_expect_eq(bind_with(4, vanity_chan_stride(4), 2, 8192), -EPROTO,
		     "slot_size below VANITY_SLOT_SIZE_MIN accepted");
	cr_expect_eq(bind_with(2 * VANITY_SLOT_SIZE_MAX,
			       vanity_chan_stride(2 * VANITY_SLOT_SIZE_MAX),
			       2, vanity_chan_region_bytes(
				       2 * VANITY_SLOT_SIZE_MAX, 2)),
		     -EPROTO, "slot_size above VANITY_SLOT_SIZE_MAX accepted");
}

Test(chan_hostile, bind_refuses_more_slots_than_the_abi)
{
	uint32_t n = 2 * VANITY_SLOTS_MAX;

	cr_expect_eq(bind_with(8, 16, n, vanity_chan_region_bytes(8, n)),
		     -EPROTO, "%u slots accepted", n);
}
