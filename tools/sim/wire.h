/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The simulator's wire protocol, spoken by libvanity's hosted backend
 * (lib/hosted.c, lib/hosted_ring.c) and served by tools/sim: a shard talks
 * to the simulator (the supervisor in `vanityctl run`) over a
 * SOCK_SEQPACKET unix socket named by $VANITY_SOCKET, one request and one
 * reply per message; regions come back as memfds (SCM_RIGHTS). Versioned
 * and size-checked as the UAPI is: each message says its size and the
 * protocol version; a receiver reads a shorter (older) message of the
 * same version as zero-extended, refuses a longer one whose tail it does
 * not know unless that tail is zero, and refuses another version. Sizes
 * and offsets are pinned below. Also the hosted ring's control page, the
 * simulator's stand-in for the ENTER ioctl.
 */
#ifndef VANITY_SIM_WIRE_H
#define VANITY_SIM_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/vanity.h>

#define VANITY_SOCKET_ENV "VANITY_SOCKET"

/* Version 1: the first with a size and a version (the unversioned one is 0). */
#define VH_VERSION	1

enum { VH_ATTACH = 1, VH_CHANNEL = 2, VH_PROBE = 3 };

struct vh_req {
	uint32_t size;			/* bytes of this request */
	uint16_t version;		/* VH_VERSION */
	uint16_t op;			/* VH_* */
	uint32_t flags;			/* ATTACH: VANITY_ATTACH_*; else 0 */
	uint32_t sq_idle_us;		/* ATTACH with SQPOLL: 0 = default */
	char name[VANITY_NAME_MAX];	/* shard (ATTACH) or channel name */
	uint32_t resv[2];		/* must be 0 */
};

/* The least a request may carry: everything up to its name. */
#define VH_REQ_SIZE_MIN	(offsetof(struct vh_req, name) + VANITY_NAME_MAX)

/*
 * ATTACH: the ring's memfd, then the private memory's when map_size > 0.
 * CHANNEL: one fd, none when role is VANITY_ROLE_NONE.
 * PROBE (VANITY_IOC_PROBE's answer, no fd): index is last_op, nchannels
 * ops_len, map_size the bitmap of supported opcodes (bit op).
 * A refusal (err < 0) may stop after err: a server that does not speak
 * the client's version answers with its own version and
 * -EPROTONOSUPPORT in the least reply it can.
 */
struct vh_rep {
	uint32_t size;			/* bytes of this reply */
	uint16_t version;		/* the server's VH_VERSION */
	uint16_t op;			/* the request's */
	int32_t err;			/* 0 or -errno, as the module's */
	uint32_t index;			/* shard or channel index */
	uint64_t map_size;		/* bytes to map */
	uint32_t nchannels;		/* ATTACH */
	uint32_t role;			/* CHANNEL: VANITY_ROLE_* */
	uint32_t from, to;		/* CHANNEL */
	uint32_t slot_size, slots;	/* CHANNEL */
	uint64_t cpus[VANITY_CPU_WORDS];	/* ATTACH */
	/*
	 * ATTACH: the ring's offsets, as the module's; ring_size is the
	 * server's sizeof(struct vanity_ring_offsets), which may grow (then
	 * so does the reply): a client reads what both know.
	 */
	uint32_t ring_size;
	uint32_t resv;
	struct vanity_ring_offsets ring;
};

/* The least reply: up to err (a refusal). */
#define VH_REP_SIZE_MIN	(offsetof(struct vh_rep, err) + sizeof(int32_t))

/*
 * Read a received message of @len bytes into @dst (@dsize: this side's
 * struct), as the kernel's copy_struct_from_user: a shorter one
 * zero-extended, a longer one only if the tail this side does not know is
 * zero (@strict; a reply's newer fields are simply not read). 0, -EINVAL
 * under @min bytes, -E2BIG for a non-zero unknown tail.
 */
static inline int vh_read(void *dst, size_t dsize, const void *src,
			  size_t len, size_t min, int strict)
{
	const uint8_t *tail = (const uint8_t *)src + dsize;
	size_t i;

	if (len < min)
		return -EINVAL;
	if (len > dsize && strict)
		for (i = 0; i < len - dsize; i++)
			if (tail[i])
				return -E2BIG;
	memset(dst, 0, dsize);
	memcpy(dst, src, len < dsize ? len : dsize);
	return 0;
}

/* The most a message may be: this side's and then some (a newer tail). */
#define VH_MSG_MAX	1024

/* The layout is the protocol: pinned for every architecture. */
_Static_assert(sizeof(struct vh_req) == 56, "vh_req");
_Static_assert(offsetof(struct vh_req, name) == 16, "vh_req name");
_Static_assert(sizeof(struct vh_rep) == 248, "vh_rep");
_Static_assert(offsetof(struct vh_rep, map_size) == 16, "vh_rep map_size");
_Static_assert(offsetof(struct vh_rep, cpus) == 48, "vh_rep cpus");
_Static_assert(offsetof(struct vh_rep, ring) == 184, "vh_rep ring");

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
	uint32_t done_yield;		/* the batch had a YIELD: run it once */
	uint32_t resv2[29];
	/* 384: simulator-written, state */
	uint32_t poller_sleeping;	/* ENTER mode: asleep on req_seq */
	uint32_t dead;			/* no longer served: -ENODEV */
	uint32_t resv3[30];
};

_Static_assert(sizeof(struct vh_ring_ctl) <= VH_CTL_SIZE, "vh_ring_ctl");
_Static_assert(offsetof(struct vh_ring_ctl, done_waiting) == 128, "ctl 128");
_Static_assert(offsetof(struct vh_ring_ctl, done_seq) == 256, "ctl 256");
_Static_assert(offsetof(struct vh_ring_ctl, poller_sleeping) == 384, "ctl 384");

#endif /* VANITY_SIM_WIRE_H */
