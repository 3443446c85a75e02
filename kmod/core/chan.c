// SPDX-License-Identifier: GPL-2.0
/*
 * Channel regions: geometry, initialisation of a fresh region and the
 * check a library runs before trusting a region's layout.
 */
#include "chan.h"

u64 vanity_chan_region_bytes(u32 slot_size, u32 slots)
{
	u64 bytes = VANITY_CHANNEL_HDR_SIZE +
		    (u64)vanity_chan_stride(slot_size) * slots;

	return (bytes + VANITY_PAGE_SIZE - 1) & ~(u64)(VANITY_PAGE_SIZE - 1);
}

void vanity_chan_init(void *region, u32 slot_size, u32 slots, u32 start)
{
	struct vanity_chan_hdr *h = region;
	u32 stride = vanity_chan_stride(slot_size);
	u8 *data = (u8 *)region + VANITY_CHANNEL_HDR_SIZE;
	u32 i;

	h->magic = VANITY_CHAN_MAGIC;
	h->layout = VANITY_CHAN_LAYOUT;
	h->hdr_size = VANITY_CHANNEL_HDR_SIZE;
	h->slot_size = slot_size;
	h->slots = slots;
	h->stride = stride;
	h->data_off = VANITY_CHANNEL_HDR_SIZE;
	h->head = start;
	h->tail = start;
	/*
	 * Position p is published when its slot's seq is p + 1. Mark each slot
	 * with the position one lap before @start that maps to it, so that a
	 * fresh slot never matches, even when positions wrap 2^32 in this lap.
	 */
	for (i = 0; i < slots; i++) {
		u32 p = start + i - slots;	/* the earlier lap, modulo 2^32 */
		u32 *seq = (u32 *)(data + (u64)(p & (slots - 1)) * stride);

		*seq = p + 1;
	}
}

static bool pow2_in(u32 v, u32 min, u32 max)
{
	return v >= min && v <= max && !(v & (v - 1));
}

int vanity_chan_check(const void *region, u64 size)
{
	const struct vanity_chan_hdr *h = region;

	/*
	 * Both ends can write the header: bound every field by the ABI limits
	 * before any arithmetic on it (a huge slot_size wraps the stride).
	 * Callers pass a private copy so nothing changes after this check.
	 */
	if (size < VANITY_CHANNEL_HDR_SIZE || h->magic != VANITY_CHAN_MAGIC)
		return -EPROTO;
	if (h->layout != VANITY_CHAN_LAYOUT)
		return -EPROTONOSUPPORT;
	if (h->data_off != VANITY_CHANNEL_HDR_SIZE ||
	    h->hdr_size != VANITY_CHANNEL_HDR_SIZE ||
	    !pow2_in(h->slots, VANITY_SLOTS_MIN, VANITY_SLOTS_MAX) ||
	    !pow2_in(h->slot_size, VANITY_SLOT_SIZE_MIN, VANITY_SLOT_SIZE_MAX) ||
	    h->stride != vanity_chan_stride(h->slot_size) ||
	    vanity_chan_region_bytes(h->slot_size, h->slots) > size)
		return -EPROTO;
	return 0;
}
