// SPDX-License-Identifier: GPL-2.0
/*
 * The ring's asynchronous ops, WAIT and TIMEOUT: an SQE that cannot
 * complete at once is armed (wait queue entries on its channels, an
 * hrtimer for its deadline), its CQE slot reserved, and the ring goes on
 * with the next SQE. Whatever fires first (a doorbell that finds a channel
 * ready, the deadline, a forced DOWN) claims the op with one cmpxchg and
 * queues its completion, which disarms it and posts the CQE in process
 * context. Detach cancels what is still armed: nothing outlives the ring.
 */
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "ring.h"
#include "system.h"
#include "region.h"
#include "doorbell.h"
#include "deadline.h"
#include "bell.h"

enum { ASYNC_ARMED, ASYNC_CLAIMED };

struct async_wait {
	struct wait_queue_entry wq;
	wait_queue_head_t *head;
	struct vanity_chan_hdr *hdr;
	struct page *page;		/* our reference: outlives a DOWN */
	struct vanity_async *a;
	u32 *flag;			/* our end's *_waiting word */
	atomic_t *armed;		/* our end's count of armed waits */
	u32 slots;
	bool consumer;
	int bit;
};

struct vanity_async {
	struct list_head node;		/* ring->pending, under ring->lock */
	struct vanity_ring *r;
	struct vanity_system *sys;
	u64 user_data;
	u32 shard;			/* index, for the trace event */
	atomic_t state;			/* ASYNC_*: the first claim wins */
	int res;
	struct hrtimer timer;
	bool timed;			/* @timer was started */
	struct work_struct work;
	unsigned int n;			/* WAIT: channels armed */
	struct async_wait w[];
};

static struct workqueue_struct *vanity_async_wq;

static bool chan_ready(const struct async_wait *w)
{
	u32 head = READ_ONCE(w->hdr->head), tail = READ_ONCE(w->hdr->tail);

	return vanity_bell_ready(head, tail, w->slots, w->consumer);
}

/* A ready channel's bit, or -1. */
static int first_ready(const struct vanity_async *a)
{
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (chan_ready(&a->w[i]))
			return a->w[i].bit;
	return -1;
}

static void claim(struct vanity_async *a, int res)
{
	if (atomic_cmpxchg(&a->state, ASYNC_ARMED, ASYNC_CLAIMED) !=
	    ASYNC_ARMED)
		return;
	a->res = res;
	queue_work(vanity_async_wq, &a->work);
}

/* Disarm: no callback runs after this returns. Process context. */
static void disarm(struct vanity_async *a)
{
	unsigned int i;

	if (a->timed)
		hrtimer_cancel(&a->timer);
	for (i = 0; i < a->n; i++) {
		struct async_wait *w = &a->w[i];

		remove_wait_queue(w->head, &w->wq);
		/* The last armed wait of this end takes the ring's bit down. */
		if (atomic_dec_and_test(w->armed))
			vanity_bell_lower(w->flag, VANITY_WAITING_RING);
		put_page(w->page);
	}
	a->n = 0;
}

static void async_work(struct work_struct *work)
{
	struct vanity_async *a = container_of(work, struct vanity_async, work);
	struct vanity_ring *r = a->r;

	/*
	 * The lock first: a doorbell can claim an op while vanity_async_wait
	 * (under the lock) still arms and looks at it; nothing of it may be
	 * torn down before that is done.
	 */
	vanity_ring_lock(r);
	disarm(a);
	list_del(&a->node);
	r->cq_reserved--;
	vanity_ring_post_locked(r, a->shard, a->user_data, a->res);
	vanity_ring_unlock(r);
	vanity_ring_wake_cq(r);
	kfree(a);
}

/* A doorbell rang on one of our channels: runs under its queue's lock. */
static int async_wake(struct wait_queue_entry *wq, unsigned int mode,
		      int sync, void *key)
{
	struct async_wait *w = container_of(wq, struct async_wait, wq);

	if (READ_ONCE(w->a->sys->dead))
		claim(w->a, -ENODEV);
	else if (chan_ready(w))
		claim(w->a, w->bit);
	return 0;
}

static enum hrtimer_restart async_deadline(struct hrtimer *t)
{
	struct vanity_async *a = container_of(t, struct vanity_async, timer);
	int bit = first_ready(a);

	/* A WAIT whose channel turned ready as time ran out still says so. */
	claim(a, bit >= 0 ? bit : -ETIME);
	return HRTIMER_NORESTART;
}

static struct vanity_async *async_alloc(struct vanity_ring *r,
					struct vanity_system *sys,
					struct vanity_shard *s,
					const struct vanity_sqe *sqe,
					unsigned int nwait)
{
	struct vanity_async *a;

	a = kzalloc(struct_size(a, w, nwait), GFP_KERNEL_ACCOUNT);
	if (!a)
		return NULL;
	a->r = r;
	a->sys = sys;
	a->user_data = sqe->user_data;
	a->shard = s->index;
	atomic_set(&a->state, ASYNC_ARMED);
	INIT_WORK(&a->work, async_work);
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	a->timer.function = async_deadline;
	return a;
}

/*
 * An op that did not complete at once goes on the ring's pending list
 * with its CQE slot reserved; a deadline starts its timer. Under r->lock,
 * which also keeps a completion already claimed from posting before the
 * op is on the list.
 */
static int async_queue(struct vanity_async *a, ktime_t deadline, bool timed)
{
	lockdep_assert_held(&a->r->lock);
	list_add_tail(&a->node, &a->r->pending);
	a->r->cq_reserved++;
	if (timed) {
		a->timed = true;
		hrtimer_start(&a->timer, deadline, HRTIMER_MODE_ABS);
	}
	return VANITY_QUEUED;
}

/*
 * Finish an op at submission with @res, unless a doorbell claimed it
 * meanwhile: then its completion is queued and the op must be pending.
 */
static int async_finish_now(struct vanity_async *a, int res)
{
	if (atomic_cmpxchg(&a->state, ASYNC_ARMED, ASYNC_CLAIMED) !=
	    ASYNC_ARMED)
		return async_queue(a, 0, false);
	disarm(a);
	kfree(a);
	return res;
}

/*
 * WAIT: level-triggered over the channels of @mask. Raise the shard's
 * waiting flag in each header (so its peers' fast paths ring), make that
 * and the peers' stores mutually visible with a barrier on the peers'
 * CPUs, then look: a ready channel completes now; otherwise the op stays
 * armed on the channels' doorbells and its deadline. Result: the offset
 * in @mask of a ready channel, -ETIME, or -ENODEV after a forced DOWN.
 */
int vanity_async_wait(struct vanity_ring *r, struct vanity_system *sys,
		      struct vanity_shard *s, const struct vanity_sqe *sqe)
{
	unsigned int n = hweight64(sqe->mask), i;
	ktime_t deadline = 0;
	struct vanity_async *a;
	int bit, ret;

	lockdep_assert_held(&r->lock);
	a = async_alloc(r, sys, s, sqe, n);
	if (!a)
		return -ENOMEM;
	if (sqe->timeout_ns > 0)
		deadline = vanity_deadline_after(ktime_get(), sqe->timeout_ns);
	for (bit = 0; bit < 64; bit++) {
		struct vanity_channel *c;
		struct async_wait *w;

		if (!((sqe->mask >> bit) & 1))
			continue;
		c = &sys->channels[sqe->channel + bit];
		w = &a->w[a->n];
		down_read(&c->region->lock);
		if (c->region->revoked) {
			up_read(&c->region->lock);
			ret = -ENODEV;
			goto out;
		}
		w->page = c->region->pages[0];
		get_page(w->page);
		up_read(&c->region->lock);
		w->hdr = page_address(w->page);
		w->a = a;
		w->bit = bit;
		w->slots = c->desc->slots;
		w->consumer = c->desc->to == s->index;
		w->head = w->consumer ? &c->wq_data : &c->wq_space;
		w->flag = vanity_bell_flag(w->hdr, w->consumer);
		w->armed = &c->ring_waits[w->consumer];
		init_waitqueue_func_entry(&w->wq, async_wake);
		add_wait_queue(w->head, &w->wq);
		atomic_inc(w->armed);
		vanity_bell_raise(w->flag, VANITY_WAITING_RING);
		a->n++;
	}
	/* Our flags visible before the peers run their barrier. */
	smp_mb();
	for (i = 0; i < a->n; i++) {
		const struct vanity_image_channel *d =
			sys->channels[sqe->channel + a->w[i].bit].desc;

		vanity_doorbell_barrier(&sys->shards[a->w[i].consumer ?
						     d->from : d->to]);
	}
	ret = READ_ONCE(sys->dead) ? -ENODEV : first_ready(a);
	if (ret == -1 && sqe->timeout_ns)
		return async_queue(a, deadline, sqe->timeout_ns > 0 &&
				   deadline != VANITY_NEVER);
	if (ret == -1)
		ret = -ETIME;		/* a poll: nothing is ready */
out:
	return async_finish_now(a, ret);
}

/* TIMEOUT: completes with -ETIME after @timeout_ns (0: at once). */
int vanity_async_timeout(struct vanity_ring *r, struct vanity_system *sys,
			 struct vanity_shard *s, const struct vanity_sqe *sqe)
{
	struct vanity_async *a;
	ktime_t deadline;

	if (!sqe->timeout_ns)
		return -ETIME;
	a = async_alloc(r, sys, s, sqe, 0);
	if (!a)
		return -ENOMEM;
	deadline = vanity_deadline_after(ktime_get(), sqe->timeout_ns);
	/* A deadline past the clock's end: armed until detach, no timer. */
	return async_queue(a, deadline, deadline != VANITY_NEVER);
}

/*
 * Cancel every armed op of @r, posting nothing (the ring is being
 * detached or destroyed); ops already claimed finish first. Process
 * context; takes r->lock, so never called under it.
 */
void vanity_async_cancel_all(struct vanity_ring *r)
{
	struct vanity_async *a;
	bool won;

	for (;;) {
		vanity_ring_lock(r);
		a = list_first_entry_or_null(&r->pending, struct vanity_async,
					     node);
		won = a && atomic_cmpxchg(&a->state, ASYNC_ARMED,
					  ASYNC_CLAIMED) == ASYNC_ARMED;
		if (won) {
			list_del(&a->node);
			r->cq_reserved--;
		}
		vanity_ring_unlock(r);
		if (!a)
			return;
		if (!won) {
			/* Claimed: its completion runs (and frees it) first. */
			flush_workqueue(vanity_async_wq);
			continue;
		}
		disarm(a);
		kfree(a);
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
