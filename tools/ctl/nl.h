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

/* Per device: the private region and at most every channel. */
#define VANITY_STATUS_WINDOWS_MAX	(VANITY_MAX_CHANNELS + 1)
/* Vectors whose counts are kept (the module's IRQ_WAIT mask width). */
#define VANITY_STATUS_VECTORS_MAX	64

struct vanity_status_bar {
	uint32_t index;
	uint32_t flags;			/* VANITY_BAR_F_* */
	uint64_t size;
};

struct vanity_status_window {
	uint64_t iova, size;
	uint32_t kind;			/* VANITY_MMAP_K_PRIVATE or _CHANNEL */
	uint32_t index;			/* channel index */
	bool mapped;
};

struct vanity_status_device {
	uint32_t index;
	char name[VANITY_NAME_MAX];
	char pci[16];			/* dddd:bb:dd.f */
	uint32_t owner;			/* shard index */
	char host_driver[32];		/* "": none */
	bool bus_master;
	unsigned int nbars, nwindows;
	struct vanity_status_bar bars[VANITY_DEVICE_BARS];
	struct vanity_status_window windows[VANITY_STATUS_WINDOWS_MAX];
	bool msix;			/* else MSI; meaningful when nvec */
	unsigned int nvec;		/* 0: no interrupts */
	uint64_t irq_counts[VANITY_STATUS_VECTORS_MAX];
};

struct vanity_status {
	char name[VANITY_NAME_MAX];
	unsigned int nshards, nchannels;
	struct vanity_status_shard shards[VANITY_MAX_SHARDS];
	struct vanity_status_channel channels[VANITY_MAX_CHANNELS];
	unsigned int ndevices;		/* 0 from the hosted simulator */
	struct vanity_status_device devices[VANITY_MAX_DEVICES];
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
