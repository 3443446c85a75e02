/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of the "vanity" generic netlink family over libnl: UP, DOWN and
 * GET, with the kernel's extack message kept for the caller to print, and
 * the events group's notifications.
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
	uint64_t sleeps, wakeups;	/* vanity_chan_bell_counts() */
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

/*
 * Events. A handle that has joined the events group serves events only:
 * notifications are not replies, so do UP, DOWN and GET on another.
 */
struct vanity_event {
	uint8_t cmd;		/* VANITY_CMD_SYSTEM_*_NTF; 0: some were lost */
	char name[VANITY_NAME_MAX];
	uint32_t nshards, nchannels;	/* SYSTEM_UP_NTF */
	bool forced;			/* SYSTEM_DOWN_NTF */
};

/*
 * Join the events group (and nlctrl's, to hear of the module's unload):
 * 0, or -ENOENT when this module has no events group, or -errno.
 */
int vanity_nl_subscribe(struct vanity_nl *nl);
/*
 * Hand each event to @fn, in the order they happened, until @fn returns
 * non-zero (returned), @timeout_ms passes (0; -1 waits for ever) or the
 * module is unloaded (-ENODEV). Events this socket could not be given
 * (its queue overran, or the kernel had no memory to build them) are
 * told by one event of cmd 0, which may come before events that happened
 * earlier but were still queued: GET again to learn the state. Commands
 * newer than this client arrive with their cmd and name only.
 */
int vanity_nl_events(struct vanity_nl *nl, int timeout_ms,
		     int (*fn)(const struct vanity_event *ev, void *arg),
		     void *arg);

/* The kernel's extack message for the last failure, or "". */
const char *vanity_nl_msg(const struct vanity_nl *nl);

#endif
