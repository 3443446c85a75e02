/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Submission ring geometry and the op table's validation half: what an
 * SQE must look like before any backend (module or simulator) issues it.
 */
#ifndef VANITY_CORE_OPDEF_H
#define VANITY_CORE_OPDEF_H

#include "shim.h"

/* SQ entries of a shard: the image's value or the default. */
static inline u32 vanity_ring_entries(u32 image_value)
{
	return image_value ? image_value : VANITY_RING_ENTRIES_DEFAULT;
}

/* Fill @o for @sq_entries (a power of two); returns the mapping's bytes. */
u64 vanity_ring_layout(u32 sq_entries, struct vanity_ring_offsets *o);

/* What validation may know of the submitting shard. */
struct vanity_op_ctx {
	u32 nchannels;				/* in the system */
	u32 ndevices;				/* passed devices in the system */
	u64 endpoint[VANITY_MAX_CHANNELS / 64];	/* channels it is an end of */
	u64 devices;				/* devices it owns, by bit */
};

/* One op's validation: 0, -EINVAL (malformed) or -EACCES (no rights). */
struct vanity_opdef {
	const char *name;
	int (*validate)(const struct vanity_sqe *sqe,
			const struct vanity_op_ctx *ctx);
};

/*
 * Indexed by opcode and unsized, as io_uring's opdef table: that its size
 * is VANITY_OP_LAST is asserted at build time, that no entry in between
 * is empty by vanity_opdefs_check() (at module init, at the simulator's
 * start and in a unit test).
 */
extern const struct vanity_opdef vanity_opdefs[];

/* 0 when every opcode has a name and a validator, else -EINVAL. */
int vanity_opdefs_check(void);

/*
 * The probe's answer, the same on every backend because both issue every
 * op of the table: fill @p's out fields (the caller keeps size and flags).
 */
void vanity_probe_fill(struct vanity_probe *p);

/* The validators the hot ops use, named so dispatch can call them directly. */
int vanity_validate_no_args(const struct vanity_sqe *sqe,
			    const struct vanity_op_ctx *ctx);
int vanity_validate_notify(const struct vanity_sqe *sqe,
			   const struct vanity_op_ctx *ctx);

/*
 * Validate a private copy of an SQE: the opcode, the fields every op
 * shares (flags, reserved words), then the op's own checks. Inline: it
 * runs once per SQE in the backends' hot loops.
 */
static inline int vanity_sqe_validate(const struct vanity_sqe *sqe,
				      const struct vanity_op_ctx *ctx)
{
	u64 resv = 0;
	unsigned int i;

	if (sqe->opcode >= VANITY_OP_LAST)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(sqe->resv); i++)
		resv |= sqe->resv[i];
	if (sqe->flags || resv)
		return -EINVAL;
	/* The table, with direct calls for the hot ops under retpolines. */
	return INDIRECT_CALL_2(vanity_opdefs[sqe->opcode].validate,
			       vanity_validate_no_args, vanity_validate_notify,
			       sqe, ctx);
}

/*
 * SQEs a shard's @tail publishes past @head in a ring of @entries: 0 when
 * the tail is up to a ring behind the head (SQEs taken by their stamps
 * before the tail moved), else at most a ring's worth (a wilder tail is
 * the shard's corruption).
 */
static inline u32 vanity_sq_tail_avail(u32 tail, u32 head, u32 entries)
{
	u32 avail = tail - head;

	if (avail <= entries)
		return avail;
	return -avail <= entries ? 0 : entries;
}

/*
 * Whether the SQE at ring index @index is published by its stamp (see the
 * UAPI). Acquire: its other words were stored before the stamp.
 */
static inline bool vanity_sqe_stamped(const struct vanity_sqe *sqe, u32 index)
{
	return VANITY_LOAD_ACQUIRE(&sqe->stamp) == VANITY_STAMP(index);
}

/* Word 0 of an SQE: opcode, flags, stamp, channel. The stamp's bits: */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define VANITY_SQE_W0_STAMP 0x00000000ffff0000ULL
#else
#define VANITY_SQE_W0_STAMP 0x0000ffff00000000ULL
#endif

/*
 * The test the backends make first, on an SQE in shared memory, reading
 * each of its eight words once: is it a NOP with every other field zero
 * (its stamp aside)? VANITY_OP_NOP is 0, so that is every word zero but
 * user_data (word 3, returned in @ud) and the stamp. Such an SQE is valid
 * by construction and completes with 0, with no table, no copy and no
 * call; anything else goes the whole way, through a private copy and
 * vanity_sqe_validate.
 */
#define VANITY_SQE_WORDS 8

static inline bool vanity_sqe_plain_nop(const u64 *sqe, u64 *ud)
{
	u64 rest = (VANITY_READ_ONCE(sqe[0]) & ~VANITY_SQE_W0_STAMP) |
		   VANITY_READ_ONCE(sqe[1]) | VANITY_READ_ONCE(sqe[2]) |
		   VANITY_READ_ONCE(sqe[4]) | VANITY_READ_ONCE(sqe[5]) |
		   VANITY_READ_ONCE(sqe[6]) | VANITY_READ_ONCE(sqe[7]);

	*ud = VANITY_READ_ONCE(sqe[3]);
	return !rest;
}

/* A CQE's second word (res, flags, then the stamp of ring index @index). */
static inline u64 vanity_cqe_word1(s32 res, u16 flags, u32 index)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (u64)(u32)res | (u64)flags << 32 |
	       (u64)VANITY_STAMP(index) << 48;
#else
	return (u64)(u32)res << 32 | (u64)flags << 16 | VANITY_STAMP(index);
#endif
}

/*
 * Post a CQE at ring index @index (@cqe: its two words): user_data, then
 * the word with the stamp, with release order, so a shard that sees the
 * stamp sees the rest.
 */
static inline void vanity_cqe_post(u64 *cqe, u32 index, u64 ud, s32 res)
{
	cqe[0] = ud;
	VANITY_STORE_RELEASE(&cqe[1], vanity_cqe_word1(res, 0, index));
}

#endif
