/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of the "vanity" generic netlink family over libnl: UP, DOWN and
 * GET, with the kernel's extack message kept for the caller to print.
 */
#ifndef VANITY_CTL_NL_H
#define VANITY_CTL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vanity.h>

struct vanity_nl;

struct vanity_status_shard {
	uint32_t index;
	char name[VANITY_NAME_MAX];
	uint64_t cpus[VANITY_CPU_WORDS];
	uint64_t memory;
	uint32_t uid;
	uint32_t pid;			/* 0: not attached */
	char program[VANITY_PROGRAM_MAX];
	uint32_t ring_entries;
	bool sqpoll;
	uint64_t submitted, completed, overflows, poller_wakeups;
	uint64_t ops[VANITY_OP_LAST];
};

struct vanity_status_channel {
	uint32_t index;
	char name[VANITY_NAME_MAX];
	uint32_t from, to;
	uint32_t slot_size, slots;
	uint64_t size;
	uint32_t head, tail;		/* positions: used = head - tail */
	uint64_t sent, received;	/* shard-side counters */
	uint64_t sleeps, wakeups;	/* doorbell ioctls */
};

struct vanity_status {
	char name[VANITY_NAME_MAX];
	unsigned int nshards, nchannels;
	struct vanity_status_shard shards[VANITY_MAX_SHARDS];
	struct vanity_status_channel channels[VANITY_MAX_CHANNELS];
};

/* Connect and resolve the family: -ENODEV when the module is not loaded. */
int vanity_nl_open(struct vanity_nl **out);
void vanity_nl_close(struct vanity_nl *nl);

/* Each returns 0 or -errno; on error vanity_nl_msg() has the reason. */
int vanity_nl_up(struct vanity_nl *nl, const void *img, size_t len);
int vanity_nl_down(struct vanity_nl *nl, bool force);
/* -ENOENT when no system is up. */
int vanity_nl_get(struct vanity_nl *nl, struct vanity_status *st);

/* The kernel's extack message for the last failure, or "". */
const char *vanity_nl_msg(const struct vanity_nl *nl);

#endif
