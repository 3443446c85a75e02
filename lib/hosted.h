/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The hosted backend's wire protocol: a shard talks to the simulator (the
 * supervisor in `vanityctl run`) over a SOCK_SEQPACKET unix socket named
 * by $VANITY_SOCKET; regions come back as memfds (SCM_RIGHTS).
 */
#ifndef VANITY_HOSTED_H
#define VANITY_HOSTED_H

#include <stdint.h>
#include <linux/vanity.h>

#define VANITY_SOCKET_ENV "VANITY_SOCKET"

enum { VH_ATTACH = 1, VH_CHANNEL = 2 };

struct vh_req {
	uint32_t op;			/* VH_* */
	uint32_t flags;			/* none defined: must be 0 */
	char name[VANITY_NAME_MAX];	/* shard (ATTACH) or channel name */
};

/* ATTACH: one fd (private memory) when size > 0; CHANNEL: one fd. */
struct vh_rep {
	int32_t err;			/* 0 or -errno, as the module's */
	uint32_t index;			/* shard or channel index */
	uint64_t size;			/* bytes to map */
	uint32_t nchannels;		/* ATTACH */
	uint32_t role;			/* CHANNEL: VANITY_ROLE_* */
	uint32_t from, to;		/* CHANNEL */
	uint32_t slot_size, slots;	/* CHANNEL */
	uint64_t cpus[VANITY_CPU_WORDS];	/* ATTACH */
};

/* Futex doorbell on a shared region (module-less WAIT/WAKE). */
extern const struct vanity_bell_ops vanity__futex_bell;

#endif
