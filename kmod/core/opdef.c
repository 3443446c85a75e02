// SPDX-License-Identifier: GPL-2.0
/*
 * The ring's layout (indices on lines of their own, then SQEs and CQEs)
 * and the op table's validators. Nothing else switches on opcodes.
 */
#include "opdef.h"

/* Each index on its own 128-byte block: no adjacent-line prefetch coupling. */
#define IDX_BLOCK 128

u64 vanity_ring_layout(u32 sq_entries, struct vanity_ring_offsets *o)
{
	u64 size;

	memset(o, 0, sizeof(*o));
	o->sq_head = 0 * IDX_BLOCK;
	o->sq_tail = 1 * IDX_BLOCK;
	o->sq_flags = 2 * IDX_BLOCK;
	o->cq_head = 3 * IDX_BLOCK;
	o->cq_tail = 4 * IDX_BLOCK;
	o->cq_overflow = 5 * IDX_BLOCK;
	o->sq_entries = sq_entries;
	o->cq_entries = 2 * sq_entries;
	o->sqes = 8 * IDX_BLOCK;
	o->cqes = o->sqes + sq_entries * (u32)sizeof(struct vanity_sqe);
	size = o->cqes + (u64)o->cq_entries * sizeof(struct vanity_cqe);
	size = (size + VANITY_PAGE_SIZE - 1) & ~(u64)(VANITY_PAGE_SIZE - 1);
	o->size = size;
	/* Both backends stamp, and both take stamped SQEs. */
	o->features = VANITY_RING_F_STAMPS;
	return size;
}

static bool owns(const struct vanity_op_ctx *ctx, u64 ch)
{
	return ch < ctx->nchannels &&
	       (ctx->endpoint[ch / 64] >> (ch % 64)) & 1;
}

int vanity_validate_no_args(const struct vanity_sqe *sqe,
			    const struct vanity_op_ctx *ctx)
{
	(void)ctx;
	return sqe->channel || sqe->mask || sqe->timeout_ns ? -EINVAL : 0;
}

int vanity_validate_notify(const struct vanity_sqe *sqe,
			   const struct vanity_op_ctx *ctx)
{
	if (sqe->mask || sqe->timeout_ns)
		return -EINVAL;
	if (sqe->channel >= ctx->nchannels)
		return -EINVAL;
	return owns(ctx, sqe->channel) ? 0 : -EACCES;
}

static int wait_validate(const struct vanity_sqe *sqe,
			 const struct vanity_op_ctx *ctx)
{
	unsigned int i;

	if (!sqe->mask || sqe->channel >= ctx->nchannels)
		return -EINVAL;
	for (i = 0; i < 64; i++) {
		u64 ch = (u64)sqe->channel + i;

		if (!((sqe->mask >> i) & 1))
			continue;
		if (ch >= ctx->nchannels)
			return -EINVAL;
		if (!owns(ctx, ch))
			return -EACCES;
	}
	return 0;
}

static int timeout_validate(const struct vanity_sqe *sqe,
			    const struct vanity_op_ctx *ctx)
{
	(void)ctx;
	if (sqe->channel || sqe->mask || sqe->timeout_ns < 0)
		return -EINVAL;
	return 0;
}

/*
 * IRQ_WAIT: a device of the system the shard owns, some vector. Whether
 * the vectors exist is the engine's to check once the device's are known.
 */
static int irq_wait_validate(const struct vanity_sqe *sqe,
			     const struct vanity_op_ctx *ctx)
{
	if (!sqe->mask || sqe->channel >= ctx->ndevices)
		return -EINVAL;
	return (ctx->devices >> sqe->channel) & 1 ? 0 : -EACCES;
}

const struct vanity_opdef vanity_opdefs[] = {
	[VANITY_OP_NOP] = { .name = "nop", .validate = vanity_validate_no_args },
	[VANITY_OP_NOTIFY] = { .name = "notify", .validate = vanity_validate_notify },
	[VANITY_OP_WAIT] = { .name = "wait", .validate = wait_validate },
	[VANITY_OP_YIELD] = { .name = "yield", .validate = vanity_validate_no_args },
	[VANITY_OP_TIMEOUT] = { .name = "timeout", .validate = timeout_validate },
	[VANITY_OP_IRQ_WAIT] = { .name = "irq_wait", .validate = irq_wait_validate },
};

/* An opcode added to the UAPI without its entry here fails the build. */
_Static_assert(ARRAY_SIZE(vanity_opdefs) == VANITY_OP_LAST,
	       "vanity_opdefs: one entry per opcode");

int vanity_opdefs_check(void)
{
	unsigned int i;

	for (i = 0; i < VANITY_OP_LAST; i++)
		if (!vanity_opdefs[i].name || !vanity_opdefs[i].validate)
			return -EINVAL;
	return 0;
}

void vanity_probe_fill(struct vanity_probe *p)
{
	unsigned int i;

	p->last_op = VANITY_OP_LAST - 1;
	p->ops_len = VANITY_OP_LAST;
	for (i = 0; i < VANITY_PROBE_OPS_MAX; i++) {
		p->ops[i].op = i;
		p->ops[i].resv0 = 0;
		p->ops[i].flags = i < VANITY_OP_LAST ? VANITY_PROBE_OP_SUPPORTED : 0;
		p->ops[i].resv = 0;
	}
}
