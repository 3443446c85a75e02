/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A channel end's doorbell rules, once for every side that sleeps on one
 * or rings it: the module's WAIT ioctl and ring WAITs, the simulator's,
 * and libvanity's blocking calls. Which word an end's peer moves for it,
 * which flag the end raises to be rung, whose bit of that flag is whose,
 * and when the end is ready.
 */
#ifndef VANITY_CORE_BELL_H
#define VANITY_CORE_BELL_H

#include "shim.h"

/*
 * Bits of an end's *_waiting flag. The peer's fast path rings when any is
 * set. Each has one owner, so one sleeper lowering its own never takes
 * down another's (a blocking call and an armed ring WAIT on the same end).
 */
#define VANITY_WAITING_LIB	(1U << 0)	/* libvanity's blocking calls */
#define VANITY_WAITING_RING	(1U << 1)	/* the ring's armed WAITs */

/*
 * A sleeper that could not make its flag and the peer's stores mutually
 * visible (no barrier on the peer's CPUs) sleeps at most this long at a
 * time, so a ring it raced with is found on its next look.
 */
#define VANITY_BELL_NAP_NS	1000000

/* The word the peer moves for an end: head (data) for the consumer, tail else. */
static inline u32 *vanity_bell_word(struct vanity_chan_hdr *h, bool consumer)
{
	return consumer ? &h->head : &h->tail;
}

/* The end's own *_waiting flag. */
static inline u32 *vanity_bell_flag(struct vanity_chan_hdr *h, bool consumer)
{
	return consumer ? &h->cons_waiting : &h->prod_waiting;
}

/* Ready for the end: a message to read (consumer) or a slot to write. */
static inline bool vanity_bell_ready(u32 head, u32 tail, u32 slots,
				     bool consumer)
{
	return consumer ? head != tail : head - tail < slots;
}

/* Raise or lower the caller's bits of a flag others share (slow paths). */
static inline void vanity_bell_raise(u32 *flag, u32 bits)
{
	VANITY_ATOMIC_OR32(flag, bits);
}

static inline void vanity_bell_lower(u32 *flag, u32 bits)
{
	VANITY_ATOMIC_ANDNOT32(flag, bits);
}

#endif /* VANITY_CORE_BELL_H */
