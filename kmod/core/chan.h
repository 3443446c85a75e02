/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channel region geometry and the identity the module writes at UP: one
 * definition for the module, the library, the simulator and the tests.
 */
#ifndef VANITY_CORE_CHAN_H
#define VANITY_CORE_CHAN_H

#include "shim.h"

/* Bytes from one slot to the next: sequence word, pad, payload. */
static inline u32 vanity_chan_stride(u32 slot_size)
{
	return VANITY_CHAN_SEQ_SIZE + ((slot_size + 7) & ~7U);
}

/* Region bytes: header then slots * stride, page-rounded. */
u64 vanity_chan_region_bytes(u32 slot_size, u32 slots);

/*
 * Write the identity line into a zeroed region header; positions start at
 * @start (0 at UP; tests start near the 32-bit wrap). Every slot's sequence
 * word is set to the previous lap's so that no slot reads as published.
 */
void vanity_chan_init(void *region, u32 slot_size, u32 slots, u32 start);

/* 0 when @region holds a layout this code understands with this geometry. */
int vanity_chan_check(const void *region, u64 size);

/*
 * A channel's sleeps and wakeups as status reports them, one definition
 * for both backends: what its ends counted in the header @h (each sleep of
 * a blocking call, each ring of the peer's doorbell), plus the NOTIFY ops
 * that rang it through a ring (@notifies, counted by the backend). The
 * header's numbers are the shards' own, shown as they are.
 */
static inline void vanity_chan_bell_counts(const struct vanity_chan_hdr *h,
					   u64 notifies, u64 *sleeps,
					   u64 *wakeups)
{
	*sleeps = h->prod.sleeps + h->cons.sleeps;
	*wakeups = h->prod.wakeups + h->cons.wakeups + notifies;
}

#endif
