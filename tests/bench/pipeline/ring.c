// SPDX-License-Identifier: GPL-2.0
/*
 * The rte_ring port: DPDK rings of fixed-size elements, single producer and
 * single consumer, driven through DPDK's zero-copy peek API (the stage
 * writes a frame straight into the ring and reads it in place, as on a
 * Vanity channel). The only file built with DPDK's flags. No EAL: the ring
 * is laid out by rte_ring_init in plain memory, the same ring and the same
 * fast path as one from rte_ring_create. An idle stage spins for
 * BP_SPIN_NS, as the shard programs do, then yields its CPU: rte_ring has
 * no doorbell, and two stages share each CPU.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bp.h"

struct ring_port {
	struct bp_port pub;
	struct rte_ring *r;
	unsigned int esize;
	int enq_open, deq_open;		/* a zero-copy start not yet finished */
};

static int ring_open(struct bp_port **out, unsigned int slot_size,
		     unsigned int slots, const volatile int *abort)
{
	static int seq;
	struct ring_port *p;
	char name[RTE_RING_NAMESIZE];
	unsigned int esize = 8;
	ssize_t sz;
	int ret;

	*out = NULL;
	while (esize < slot_size)	/* a power of two, as a Vanity slot */
		esize *= 2;
	sz = rte_ring_get_memsize_elem(esize, slots);
	if (sz < 0)
		return (int)sz;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->r = aligned_alloc(128, ((size_t)sz + 127) & ~(size_t)127);
	if (!p->r) {
		free(p);
		return -ENOMEM;
	}
	memset(p->r, 0, (size_t)sz);
	snprintf(name, sizeof(name), "bp%d", __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	ret = rte_ring_init(p->r, name, slots, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ret) {
		free(p->r);
		free(p);
		return ret < 0 ? ret : -EINVAL;
	}
	p->esize = esize;
	p->pub.ops = &bp_ring_ops;
	p->pub.slot_size = esize;
	p->pub.abort = abort;
	*out = &p->pub;
	return 0;
}

static void ring_close(struct bp_port *bp)
{
	struct ring_port *p = (struct ring_port *)bp;

	free(p->r);
	free(p);
}

/* The @i-th element of a zero-copy window. */
static inline void *zc_slot(const struct rte_ring_zc_data *z, unsigned int i,
			    unsigned int esize)
{
	return i < z->n1 ? (uint8_t *)z->ptr1 + (size_t)i * esize :
			   (uint8_t *)z->ptr2 + (size_t)(i - z->n1) * esize;
}

static unsigned int ring_reserve(struct bp_port *bp, unsigned int n,
				 void **slots)
{
	struct ring_port *p = (struct ring_port *)bp;
	struct rte_ring_zc_data z;
	unsigned int k, i;

	if (p->enq_open)	/* the last reservation was not committed */
		rte_ring_enqueue_zc_elem_finish(p->r, 0);
	k = rte_ring_enqueue_zc_burst_elem_start(p->r, p->esize, n, &z, NULL);
	p->enq_open = k != 0;
	for (i = 0; i < k; i++)
		slots[i] = zc_slot(&z, i, p->esize);
	return k;
}

static void ring_commit(struct bp_port *bp, unsigned int n)
{
	struct ring_port *p = (struct ring_port *)bp;

	if (!p->enq_open)
		return;
	rte_ring_enqueue_zc_elem_finish(p->r, n);
	p->enq_open = 0;
}

static unsigned int ring_peek(struct bp_port *bp, unsigned int n,
			      const void **slots)
{
	struct ring_port *p = (struct ring_port *)bp;
	struct rte_ring_zc_data z;
	unsigned int k, i;

	if (p->deq_open)
		rte_ring_dequeue_zc_elem_finish(p->r, 0);
	k = rte_ring_dequeue_zc_burst_elem_start(p->r, p->esize, n, &z, NULL);
	p->deq_open = k != 0;
	for (i = 0; i < k; i++)
		slots[i] = zc_slot(&z, i, p->esize);
	return k;
}

static void ring_release(struct bp_port *bp, unsigned int n)
{
	struct ring_port *p = (struct ring_port *)bp;

	if (!p->deq_open)
		return;
	rte_ring_dequeue_zc_elem_finish(p->r, n);
	p->deq_open = 0;
}

static int ring_wait(struct bp_port *bp, int space)
{
	struct ring_port *p = (struct ring_port *)bp;
	uint64_t t0 = bp_now_ns();
	unsigned int i;

	for (i = 0;; i++) {
		if (*bp->abort)
			return -1;
		if (space ? rte_ring_free_count(p->r) : rte_ring_count(p->r))
			return 0;
		if ((i & 63) == 63 && bp_now_ns() - t0 > BP_SPIN_NS) {
			sched_yield();
			return 0;
		}
		rte_pause();
	}
}

static const char *ring_describe(void)
{
	return "DPDK rte_ring (SP/SC, zero-copy peek API, rte_ring_init in plain "
	       "memory, no EAL); idle: spin 10 us, then sched_yield";
}

const struct bp_port_ops bp_ring_ops = {
	.name = "rte_ring",
	.open = ring_open,
	.close = ring_close,
	.reserve = ring_reserve,
	.commit = ring_commit,
	.peek = ring_peek,
	.release = ring_release,
	.wait = ring_wait,
	.describe = ring_describe,
};
