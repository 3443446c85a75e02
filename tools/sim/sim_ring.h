/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulator's submission rings: one memfd per attachment laid out as
 * the module's, served by one poller thread per attached shard.
 */
#ifndef VANITY_CTL_SIM_RING_H
#define VANITY_CTL_SIM_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vanity.h>

#include "ring_engine.h"

/* What the ring sees of a channel: set up at start. */
struct vanity_sim_chan {
	struct vanity_chan_hdr *hdr;	/* the simulator's own mapping */
	struct vanity_engine_chan eng;	/* the engine's: notifies, armed WAITs */
};

struct vanity_sim_ring;

/* 0 when the core's op table is complete (the simulator's start checks). */
int vanity_sim_ring_ops_check(void);

/*
 * Create shard @shard's ring of @entries SQEs (a power of two) and start
 * its poller, thread "vsq/@name" (the module's is "vanity-sq/@name").
 * @flags are VANITY_ATTACH_* (SQPOLL with @idle_us, 0: the module's
 * default). @img is the system's checked image, @chans its channels
 * (both outlive the ring), @ctr the shard's counters. On success *@fd is
 * the memfd to hand to the shard (the caller closes it) and *@off its
 * layout. 0 or -errno.
 */
int vanity_sim_ring_start(struct vanity_sim_ring **out, int *fd,
			  struct vanity_ring_offsets *off, unsigned int shard,
			  const char *name, uint32_t entries, uint32_t flags,
			  uint32_t idle_us, const void *img,
			  struct vanity_sim_chan *chans,
			  struct vanity_ring_ctr *ctr);

/*
 * Stop the poller, cancel every armed WAIT and TIMEOUT (their flags come
 * down, no CQE is posted), tell the shard, unmap.
 */
void vanity_sim_ring_stop(struct vanity_sim_ring *r);

/* Whether a poller consumes the SQ without ENTER. */
bool vanity_sim_ring_sqpoll(const struct vanity_sim_ring *r);

/* Armed ops alive in all rings of this process (tests: leaks, cancel). */
uint64_t vanity_sim_ring_armed_live(void);

#endif
