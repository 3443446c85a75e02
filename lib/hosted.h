/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The hosted backend's wire protocol: a shard talks to the simulator (the
 * supervisor in `vanityctl run`) over a SOCK_SEQPACKET unix socket named
 * by $VANITY_SOCKET; regions come back as memfds (SCM_RIGHTS). Also the
 * hosted ring's control page, the simulator's stand-in for the ENTER
 * ioctl.
 */
#ifndef VANITY_HOSTED_H
#define VANITY_HOSTED_H

#include <stdint.h>
#include <linux/vanity.h>

#define VANITY_SOCKET_ENV "VANITY_SOCKET"

enum { VH_ATTACH = 1, VH_CHANNEL = 2, VH_PROBE = 3 };

struct vh_req {
	uint32_t op;			/* VH_* */
	uint32_t flags;			/* ATTACH: VANITY_ATTACH_*; else 0 */
	char name[VANITY_NAME_MAX];	/* shard (ATTACH) or channel name */
	/* Older clients stop here; the server reads the rest as zero. */
	uint32_t sq_idle_us;		/* ATTACH with SQPOLL: 0 = default */
	uint32_t resv;			/* must be 0 */
};

#define VH_REQ_SIZE_V0	40		/* without sq_idle_us and resv */

/*
 * ATTACH: the ring's memfd, then the private memory's when size > 0.
 * CHANNEL: one fd, none when role is VANITY_ROLE_NONE.
 * PROBE (VANITY_IOC_PROBE's answer, no fd): index is last_op, nchannels
 * ops_len, size the bitmap of supported opcodes (bit op).
 */
struct vh_rep {
	int32_t err;			/* 0 or -errno, as the module's */
	uint32_t index;			/* shard or channel index */
	uint64_t size;			/* bytes to map */
	uint32_t nchannels;		/* ATTACH */
	uint32_t role;			/* CHANNEL: VANITY_ROLE_* */
	uint32_t from, to;		/* CHANNEL */
	uint32_t slot_size, slots;	/* CHANNEL */
	uint64_t cpus[VANITY_CPU_WORDS];	/* ATTACH */
	struct vanity_ring_offsets ring;	/* ATTACH: as the module's */
};

/*
 * The hosted ring. Its memfd holds the module's layout (same
 * vanity_ring_layout, same offsets) in ring.size bytes, then one page of
 * its own: this control block, which does what the ENTER ioctl does in
 * the module without a socket round trip. Each side owns the words it
 * writes; every word is a futex. The simulator trusts none of the
 * shard's words: a wrong value costs the shard its own ring, nothing else.
 *
 * ENTER that submits: the shard stores req_to_submit, store-releases
 * req_seq + 1, fences and wakes req_seq if poller_sleeping; the poller
 * consumes like the module's ENTER would (issuing in order; WAIT and
 * TIMEOUT that cannot complete at once are armed, their CQE slots
 * reserved, and complete later out of order), stores done_res and
 * store-releases done_seq = req_seq, fences and wakes done_seq if
 * done_waiting. No op blocks the poller, so a request is answered
 * promptly and is never cancelled: req_cancel is unused (kept so the
 * layout does not move). GETEVENTS: the shard sleeps on cq_tail with
 * cq_waiting raised; the poller wakes it after posting, whether at
 * submission or when an armed op completes. SQPOLL: the poller sleeps on
 * kick with NEED_WAKEUP set; ENTER with SQ_WAKEUP bumps kick and wakes it.
 */
#define VH_CTL_SIZE	4096

struct vh_ring_ctl {
	/* 0: shard-written, ENTER requests */
	uint32_t req_seq;
	uint32_t req_to_submit;
	uint32_t req_cancel;		/* unused */
	uint32_t kick;			/* SQPOLL: bumped to wake the poller */
	uint32_t resv0[28];
	/* 128: shard-written, its sleeps */
	uint32_t done_waiting;		/* sleeping on done_seq */
	uint32_t cq_waiting;		/* sleeping on the ring's cq_tail */
	uint32_t resv1[30];
	/* 256: simulator-written, answers */
	uint32_t done_seq;
	int32_t done_res;		/* consumed, or -EBUSY */
	uint32_t done_yield;		/* the batch had a YIELD: run it */
	uint32_t resv2[29];
	/* 384: simulator-written, state */
	uint32_t poller_sleeping;	/* ENTER mode: asleep on req_seq */
	uint32_t dead;			/* no longer served: -ENODEV */
	uint32_t resv3[30];
};

_Static_assert(sizeof(struct vh_ring_ctl) <= VH_CTL_SIZE, "vh_ring_ctl");

/* Futex doorbell on a shared region (module-less WAIT/WAKE). */
extern const struct vanity_bell_ops vanity__futex_bell;

/* A PROBE reply into @out: 0, or -EPROTO for words out of range. */
int vanity__hosted_probe_decode(const struct vh_rep *rep,
				struct vanity_probe *out);

struct vanity;
struct vanity_ring;

/* lib/hosted.c: attach through the simulator with VANITY_ATTACH_* flags. */
int vanity__hosted_attach_flags(struct vanity *v, const char *name,
				uint32_t flags, uint32_t sq_idle_us);

/* lib/hosted_ring.c: map the ring memfd @fd described by @o (closes @fd). */
int vanity__hosted_map_ring(struct vanity_ring *r, int fd,
			    const struct vanity_ring_offsets *o, int sock,
			    uint32_t flags);
/* ENTER on a hosted ring, with the module's semantics and errors. */
int vanity__hosted_enter(struct vanity_ring *r, uint32_t to_submit,
			 uint32_t min_complete, uint32_t flags);

#endif
