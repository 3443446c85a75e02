// SPDX-License-Identifier: GPL-2.0
/*
 * The module's mechanisms for the ring's armed ops (WAIT, TIMEOUT and
 * IRQ_WAIT), whose rules are the core engine's (core/ring_engine.c): a
 * wait queue entry on each channel a WAIT holds, with a reference on the
 * channel's header page that outlives a DOWN, or on the queue of the
 * device an IRQ_WAIT waits for (in the system's devices, freed only after
 * the rings: system_free); an hrtimer for the deadline; and a workqueue that
 * completes a claimed op in process context, under the ring's lock. A
 * doorbell, the deadline or a forced DOWN asks the engine to decide the
 * op (vanity_armed_decide), which claims it once; an interrupt asks the
 * engine to decide and post it there and then (vanity_engine_irq_event),
 * and the workqueue only frees it.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "ring.h"
#include "system.h"
#include "region.h"
#include "device.h"

/* An end's wait queue entry and the page its header is on. */
struct async_wait {
	struct wait_queue_entry wq;
	wait_queue_head_t *head;
	struct page *page;		/* our reference: outlives a DOWN */
	struct async_op *op;
};

/* An armed op: the engine's part, then the module's. */
struct async_op {
	struct vanity_armed a;
	struct vanity_ring *r;
	struct hrtimer timer;
	struct work_struct work;
	struct wait_queue_entry irq_wq;	/* IRQ_WAIT: on the device's queue */
	wait_queue_head_t *irq_head;
	struct async_wait *waits;	/* n of them, after @ends */
	struct vanity_armed_end ends[];
};

static struct workqueue_struct *vanity_async_wq;

static struct async_op *op_of(struct vanity_armed *a)
{
	return container_of(a, struct async_op, a);
}

/* Post a claimed op's CQE: process context, under the ring's lock. */
static void async_work(struct work_struct *work)
{
	struct async_op *op = container_of(work, struct async_op, work);
	struct vanity_ring *r = op->r;

	vanity_ring_lock(r);
	/* Frees @op. */
	vanity_engine_complete(&r->eng, &vanity_ring_platform, &op->a);
	/*
	 * Under the lock: once it is dropped, detach may find nothing armed
	 * and the ring be freed before this work returns.
	 */
	vanity_ring_wake_cq(&r->eng);
	vanity_ring_unlock(r);
}

/* Whether @a's device went away under the system (IRQ_WAIT only). */
static bool irq_gone(struct async_op *op)
{
	return op->a.op == VANITY_OP_IRQ_WAIT &&
	       READ_ONCE(op->r->sys->devices[op->a.dev].gone);
}

/* Ask the engine at an event; the one that claims queues the CQE. */
static void async_event(struct async_op *op, bool expired)
{
	int d = vanity_armed_decide(&op->a, READ_ONCE(op->r->sys->dead) ||
				    irq_gone(op), expired);

	if (!d)
		queue_work(vanity_async_wq, &op->work);
	else if (d == VANITY_ARMED_GAVE_BACK)
		vanity_async_irq_kick(&op->r->eng, op->a.dev);
}

/* A doorbell rang one of our channels: under its queue's lock. */
static int async_wake(struct wait_queue_entry *wq, unsigned int mode,
		      int sync, void *key)
{
	async_event(container_of(wq, struct async_wait, wq)->op, false);
	return 0;
}

/* An interrupt of the device: the engine posts the CQE if it claims. */
static int async_irq_wake(struct wait_queue_entry *wq, unsigned int mode,
			  int sync, void *key)
{
	struct async_op *op = container_of(wq, struct async_op, irq_wq);
	struct vanity_ring *r = op->r;

	if (vanity_engine_irq_event(&r->eng, &vanity_ring_platform, &op->a,
				    READ_ONCE(r->sys->dead) || irq_gone(op)))
		queue_work(vanity_async_wq, &op->work);
	return 0;
}

static enum hrtimer_restart async_deadline(struct hrtimer *t)
{
	async_event(container_of(t, struct async_op, timer), true);
	return HRTIMER_NORESTART;
}

struct vanity_armed *vanity_async_alloc(struct vanity_engine *e,
					unsigned int nends)
{
	struct async_op *op;
	size_t size = struct_size(op, ends, nends);

	/* The module's waits after the engine's ends, in one allocation. */
	if (check_add_overflow(size, array_size(nends, sizeof(*op->waits)),
			       &size))
		return NULL;
	op = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!op)
		return NULL;
	op->r = vanity_ring_of(e);
	op->waits = (struct async_wait *)&op->ends[nends];
	op->a.w = op->ends;
	INIT_WORK(&op->work, async_work);
	hrtimer_init(&op->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	op->timer.function = async_deadline;
	return &op->a;
}

void vanity_async_free(struct vanity_engine *e, struct vanity_armed *a)
{
	kfree(op_of(a));
}

/* The channel's header page, referenced, unless DOWN revoked it. */
int vanity_async_watch(struct vanity_engine *e, struct vanity_armed *a,
		       unsigned int i)
{
	struct async_op *op = op_of(a);
	struct vanity_armed_end *end = &a->w[i];
	struct async_wait *w = &op->waits[i];
	struct vanity_channel *c = &op->r->sys->channels[end->chan];

	down_read(&c->region->lock);
	if (c->region->revoked) {
		up_read(&c->region->lock);
		return -ENODEV;
	}
	w->page = c->region->pages[0];
	get_page(w->page);
	up_read(&c->region->lock);
	end->hdr = page_address(w->page);
	w->op = op;
	w->head = end->consumer ? &c->wq_data : &c->wq_space;
	init_waitqueue_func_entry(&w->wq, async_wake);
	add_wait_queue(w->head, &w->wq);
	return 0;
}

void vanity_async_unwatch(struct vanity_engine *e, struct vanity_armed *a,
			  unsigned int i)
{
	struct async_wait *w = &op_of(a)->waits[i];

	remove_wait_queue(w->head, &w->wq);
	put_page(w->page);
}

/* The device's pending counts, if it is passed and has vectors. */
u32 *vanity_async_irq_vectors(struct vanity_engine *e, u32 dev, u32 *nvec)
{
	struct vanity_system *sys = vanity_ring_of(e)->sys;
	struct vanity_pdev *d;

	if (dev >= sys->ndevices)
		return NULL;
	d = &sys->devices[dev];
	if (READ_ONCE(d->gone))
		return NULL;
	/* Acquire: the vectors were all requested before nvec said so. */
	*nvec = smp_load_acquire(&d->irqs.nvec);
	return *nvec ? d->irqs.pending : NULL;
}

void vanity_async_irq_kick(struct vanity_engine *e, u32 dev)
{
	wake_up(&vanity_ring_of(e)->sys->devices[dev].irqs.wq);
}

int vanity_async_irq_watch(struct vanity_engine *e, struct vanity_armed *a)
{
	struct async_op *op = op_of(a);
	struct vanity_pdev *d = &op->r->sys->devices[a->dev];

	op->irq_head = &d->irqs.wq;
	init_waitqueue_func_entry(&op->irq_wq, async_irq_wake);
	add_wait_queue(op->irq_head, &op->irq_wq);
	return 0;
}

void vanity_async_irq_unwatch(struct vanity_engine *e, struct vanity_armed *a)
{
	struct async_op *op = op_of(a);

	remove_wait_queue(op->irq_head, &op->irq_wq);
}

void vanity_async_timer_start(struct vanity_engine *e, struct vanity_armed *a)
{
	hrtimer_start(&op_of(a)->timer, ns_to_ktime(a->deadline),
		      HRTIMER_MODE_ABS);
}

void vanity_async_timer_cancel(struct vanity_engine *e, struct vanity_armed *a)
{
	hrtimer_cancel(&op_of(a)->timer);
}

/*
 * Cancel every armed op of @r, posting nothing (the ring is being
 * detached or destroyed); ops already claimed finish first. Process
 * context; takes r->lock, so never called under it.
 */
void vanity_async_cancel_all(struct vanity_ring *r)
{
	struct vanity_armed *a;
	bool busy;

	for (;;) {
		vanity_ring_lock(r);
		a = vanity_engine_cancel_next(&r->eng, &vanity_ring_platform, &busy);
		vanity_ring_unlock(r);
		if (a) {
			vanity_engine_discard(&r->eng, &vanity_ring_platform, a);
			continue;
		}
		if (!busy)
			return;
		/* Claimed: its completion runs (and frees it) first. */
		flush_workqueue(vanity_async_wq);
	}
}

int vanity_async_init(void)
{
	vanity_async_wq = alloc_workqueue("vanity_async", WQ_UNBOUND, 0);
	return vanity_async_wq ? 0 : -ENOMEM;
}

void vanity_async_exit(void)
{
	destroy_workqueue(vanity_async_wq);
}
