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

/* What the ops know of a channel: set up at start, read-only after. */
struct vanity_sim_chan {
	struct vanity_chan_hdr *hdr;	/* the simulator's own mapping */
	uint32_t slots;
	uint32_t from, to;		/* shard indices */
	uint64_t notifies;		/* NOTIFY ops that rang it (atomic) */
	/*
	 * Armed ring WAITs holding each end's waiting flag, [0] producer,
	 * [1] consumer: the last one disarmed takes the flag down.
	 */
	uint32_t ring_waits[2];
};

/* A shard's ring counters, kept across attachments as the module's are. */
struct vanity_sim_ring_ctr {
	uint64_t submitted, completed, overflows, poller_wakeups;
	uint64_t ops[VANITY_OP_LAST];
};

struct vanity_sim_ring;

/*
 * Create shard @shard's ring of @entries SQEs (a power of two) and start
 * its poller, thread "vsq/@name" (the module's is "vanity-sq/@name").
 * @flags are VANITY_ATTACH_* (SQPOLL with @idle_us, 0: the module's
 * default). On success *@fd is the memfd to hand to the shard (the
 * caller closes it) and *@off its layout. 0 or -errno.
 */
/* 0 when every opcode has its validator and its issue (the start checks). */
int vanity_sim_ring_ops_check(void);

int vanity_sim_ring_start(struct vanity_sim_ring **out, int *fd,
			  struct vanity_ring_offsets *off, unsigned int shard,
			  const char *name, uint32_t entries, uint32_t flags,
			  uint32_t idle_us, struct vanity_sim_chan *chans,
			  unsigned int nchans, struct vanity_sim_ring_ctr *ctr);

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
