// SPDX-License-Identifier: GPL-2.0
/*
 * Submission rings. Each SQE is copied out of shared memory once, checked
 * by the portable op table, issued from the module's issue table and
 * answered with a CQE. ENTER consumes in the caller's context; SQPOLL
 * consumes from a thread on a housekeeping CPU that sleeps after idling
 * sq_idle, raising NEED_WAKEUP first so no submission is stranded.
 */
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/hrtimer.h>
#include <linux/smp.h>

#include "ring.h"
#include "system.h"
#include "region.h"
#include "chan.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

#define SQPOLL_IDLE_US_DEFAULT 1000

/* ---------------------------------------------------------------- issue */

struct issue_ctx {
	struct vanity_system *sys;
	struct vanity_shard *shard;
	bool poller;			/* issued by the SQPOLL thread */
};

static int op_nop(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	return 0;
}

static int op_notify(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	struct vanity_channel *c = &ic->sys->channels[sqe->channel];

	if (READ_ONCE(ic->sys->dead))
		return -ENODEV;
	atomic64_inc(&c->wakes);
	wake_up_interruptible(c->desc->from == ic->shard->index ?
			      &c->wq_data : &c->wq_space);
	return 0;
}

static void barrier_ipi(void *info)
{
	smp_mb();	/* the interrupted side's stores before its loads */
}

/* Whether channel @c is ready for @me: data to read or room to write. */
static bool chan_ready(const struct vanity_chan_hdr *h, bool consumer,
		       u32 slots)
{
	u32 head = READ_ONCE(h->head), tail = READ_ONCE(h->tail);

	return consumer ? head != tail : head - tail < slots;
}

/*
 * WAIT: level-triggered over the channels of @mask. We raise the
 * shard's waiting flag in each header (so its peers' fast paths ring),
 * make that and the peers' stores mutually visible, then sleep until a
 * channel is ready. Result: the offset in @mask of a ready channel.
 */
static int op_wait(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	struct vanity_system *sys = ic->sys;
	struct wait {
		struct wait_queue_entry wq;
		wait_queue_head_t *head;
		struct vanity_chan_hdr *hdr;
		struct page *page;
		bool consumer;
		u32 slots;
		int bit;
	} *w;
	unsigned int n = 0, i;
	ktime_t deadline = 0;
	int ret = -ETIME, bit;

	w = kcalloc(hweight64(sqe->mask), sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	for (bit = 0; bit < 64; bit++) {
		struct vanity_channel *c;

		if (!((sqe->mask >> bit) & 1))
			continue;
		c = &sys->channels[sqe->channel + bit];
		down_read(&c->region->lock);
		if (c->region->revoked) {
			up_read(&c->region->lock);
			ret = -ENODEV;
			goto out;
		}
		w[n].page = c->region->pages[0];
		get_page(w[n].page);
		up_read(&c->region->lock);
		w[n].hdr = page_address(w[n].page);
		w[n].consumer = c->desc->to == ic->shard->index;
		w[n].head = w[n].consumer ? &c->wq_data : &c->wq_space;
		w[n].slots = c->desc->slots;
		w[n].bit = bit;
		init_waitqueue_entry(&w[n].wq, current);
		add_wait_queue(w[n].head, &w[n].wq);
		n++;
	}
	/* One deadline: doorbells that change nothing must not extend it. */
	if (sqe->timeout_ns >= 0)
		deadline = ktime_add_ns(ktime_get(), sqe->timeout_ns);
	set_current_state(TASK_INTERRUPTIBLE);
	for (i = 0; i < n; i++)
		WRITE_ONCE(*(w[i].consumer ? &w[i].hdr->cons_waiting :
			     &w[i].hdr->prod_waiting), 1);
	/* Our flags visible before the peers run their barrier. */
	smp_mb();
	for (i = 0; i < n; i++) {
		struct vanity_channel *c = &sys->channels[sqe->channel + w[i].bit];
		struct vanity_shard *peer = &sys->shards[w[i].consumer ?
						c->desc->from : c->desc->to];

		on_each_cpu_mask(peer->cpus, barrier_ipi, NULL, true);
	}
	for (;;) {
		for (i = 0; i < n; i++)
			if (chan_ready(w[i].hdr, w[i].consumer, w[i].slots))
				break;
		if (i < n) {
			ret = w[i].bit;
			break;
		}
		if (READ_ONCE(sys->dead)) {
			ret = -ENODEV;
			break;
		}
		if (signal_pending(current) ||
		    (ic->poller && kthread_should_stop())) {
			ret = -EINTR;
			break;
		}
		if (sqe->timeout_ns < 0) {
			schedule();
		} else {
			if (!schedule_hrtimeout_range(&deadline,
						      current->timer_slack_ns,
						      HRTIMER_MODE_ABS)) {
				ret = -ETIME;
				for (i = 0; i < n; i++)
					if (chan_ready(w[i].hdr, w[i].consumer,
						       w[i].slots))
						ret = w[i].bit;
				break;
			}
		}
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
out:
	for (i = 0; i < n; i++) {
		WRITE_ONCE(*(w[i].consumer ? &w[i].hdr->cons_waiting :
			     &w[i].hdr->prod_waiting), 0);
		remove_wait_queue(w[i].head, &w[i].wq);
		put_page(w[i].page);
	}
	kfree(w);
	return ret;
}

static int op_yield(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	/*
	 * Cooperative shards sharing a CPU are plain tasks on it: yield() is
	 * exactly "run the next one". The poller is not the shard: no-op.
	 */
	if (!ic->poller)
		yield();
	return 0;
}

static int op_timeout(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	ktime_t t = ns_to_ktime(sqe->timeout_ns);

	set_current_state(TASK_INTERRUPTIBLE);
	if (schedule_hrtimeout_range(&t, current->timer_slack_ns,
				     HRTIMER_MODE_REL))
		return -EINTR;
	return -ETIME;
}

/* The issue half of the op table; validation lives in core/opdef.c. */
static int (*const vanity_issue[VANITY_OP_LAST])(const struct vanity_sqe *,
						  struct issue_ctx *) = {
	[VANITY_OP_NOP] = op_nop,
	[VANITY_OP_NOTIFY] = op_notify,
	[VANITY_OP_WAIT] = op_wait,
	[VANITY_OP_YIELD] = op_yield,
	[VANITY_OP_TIMEOUT] = op_timeout,
};

/* ---------------------------------------------------------------- ring */

static void ring_reset(struct vanity_ring *r)
{
	WRITE_ONCE(*r->sq_head, 0);
	WRITE_ONCE(*r->sq_tail, 0);
	WRITE_ONCE(*r->sq_flags, 0);
	WRITE_ONCE(*r->cq_head, 0);
	WRITE_ONCE(*r->cq_tail, 0);
	WRITE_ONCE(*r->cq_overflow, 0);
}

int vanity_ring_create(struct vanity_shard *s, u32 entries)
{
	struct vanity_system *sys = s->sys;
	struct vanity_ring *r;
	unsigned int i;
	u64 size;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	size = vanity_ring_layout(entries, &r->off);
	r->region = vanity_region_alloc(size, VANITY_MMAP_RING);
	if (IS_ERR(r->region)) {
		int ret = PTR_ERR(r->region);

		kfree(r);
		return ret;
	}
	r->va = vmap(r->region->pages, r->region->npages, VM_MAP, PAGE_KERNEL);
	if (!r->va) {
		vanity_region_retire(r->region);
		kfree(r);
		return -ENOMEM;
	}
	r->sq_head = r->va + r->off.sq_head;
	r->sq_tail = r->va + r->off.sq_tail;
	r->sq_flags = r->va + r->off.sq_flags;
	r->cq_head = r->va + r->off.cq_head;
	r->cq_tail = r->va + r->off.cq_tail;
	r->cq_overflow = r->va + r->off.cq_overflow;
	r->sqes = r->va + r->off.sqes;
	r->cqes = r->va + r->off.cqes;
	r->ctx.nchannels = sys->nchannels;
	for (i = 0; i < sys->nchannels; i++)
		if (sys->channels[i].desc->from == s->index ||
		    sys->channels[i].desc->to == s->index)
			r->ctx.endpoint[i / 64] |= 1ULL << (i % 64);
	mutex_init(&r->lock);
	init_waitqueue_head(&r->cq_wq);
	init_waitqueue_head(&r->poller_wq);
	s->ring = r;
	return 0;
}

void vanity_ring_destroy(struct vanity_shard *s)
{
	struct vanity_ring *r = s->ring;

	if (!r)
		return;
	vanity_ring_detach(s);
	vunmap(r->va);
	vanity_region_retire(r->region);
	kfree(r);
	s->ring = NULL;
}

/* Consume up to @max SQEs; returns how many, or -EBUSY if the CQ is full. */
static int ring_submit(struct vanity_ring *r, struct issue_ctx *ic, u32 max)
{
	u32 sq_mask = r->off.sq_entries - 1, cq_mask = r->off.cq_entries - 1;
	/* Acquire: the shard's SQE stores before the tail that covers them. */
	u32 head = *r->sq_head, tail = smp_load_acquire(r->sq_tail);
	u32 avail = tail - head, done = 0, cqt = *r->cq_tail;
	struct vanity_sqe sqe;
	int res;

	/* A tail past a full ring is the shard's corruption, not ours. */
	if (avail > r->off.sq_entries)
		avail = r->off.sq_entries;
	if (avail > max)
		avail = max;
	while (done < avail) {
		if (cqt - READ_ONCE(*r->cq_head) >= r->off.cq_entries) {
			/*
			 * Each refused ENTER counts; the poller counts each
			 * episode, not every poll that finds the CQ still full.
			 */
			if (!ic->poller || !r->cq_full) {
				WRITE_ONCE(r->overflows, r->overflows + 1);
				WRITE_ONCE(*r->cq_overflow, *r->cq_overflow + 1);
				r->cq_full = true;
			}
			break;
		}
		r->cq_full = false;
		/* One read of shared memory; everything after uses the copy. */
		memcpy(&sqe, &r->sqes[head & sq_mask], sizeof(sqe));
		trace_vanity_sqe_issue(ic->shard->index, sqe.opcode,
				       sqe.user_data);
		res = vanity_sqe_validate(&sqe, &r->ctx);
		if (!res) {
			WRITE_ONCE(r->ops[sqe.opcode], r->ops[sqe.opcode] + 1);
			res = vanity_issue[sqe.opcode](&sqe, ic);
		}
		r->cqes[cqt & cq_mask].user_data = sqe.user_data;
		r->cqes[cqt & cq_mask].res = res;
		r->cqes[cqt & cq_mask].flags = 0;
		/* Release: the CQE before the tail; the SQE read before head. */
		smp_store_release(r->cq_tail, ++cqt);
		trace_vanity_cqe(ic->shard->index, sqe.user_data, res);
		/* Release: our read of the SQE before the slot is reused. */
		smp_store_release(r->sq_head, ++head);
		done++;
	}
	if (done) {
		WRITE_ONCE(r->submitted, r->submitted + done);
		WRITE_ONCE(r->completed, r->completed + done);
		if (wq_has_sleeper(&r->cq_wq))
			wake_up_interruptible(&r->cq_wq);
	}
	return done || !avail ? done : -EBUSY;
}

static int poller_fn(void *data)
{
	struct vanity_shard *s = data;
	struct vanity_ring *r = s->ring;
	struct issue_ctx ic = { .sys = s->sys, .shard = s, .poller = true };
	u64 idle_ns = (u64)r->idle_us * NSEC_PER_USEC;
	ktime_t last = ktime_get();
	int n;

	while (!kthread_should_stop()) {
		mutex_lock(&r->lock);
		n = ring_submit(r, &ic, r->off.sq_entries);
		mutex_unlock(&r->lock);
		if (n > 0) {
			last = ktime_get();
			cond_resched();
			continue;
		}
		/* n < 0: the CQ is full; nothing to do until the shard reaps. */
		if (ktime_to_ns(ktime_sub(ktime_get(), last)) < idle_ns) {
			cpu_relax();
			cond_resched();
			continue;
		}
		/* Flag, fence, look again: pairs with the shard's fence. */
		WRITE_ONCE(r->poller_kick, false);
		WRITE_ONCE(*r->sq_flags, *r->sq_flags | VANITY_SQ_NEED_WAKEUP);
		/* Flag before the tail check; the shard fences tail before flag. */
		smp_mb();
		/* Acquire: pairs with the shard releasing its tail. */
		if (smp_load_acquire(r->sq_tail) == *r->sq_head) {
			wait_event_interruptible(r->poller_wq,
						 READ_ONCE(r->poller_kick) ||
						 kthread_should_stop());
			WRITE_ONCE(r->poller_wakeups, r->poller_wakeups + 1);
		}
		WRITE_ONCE(*r->sq_flags, *r->sq_flags & ~VANITY_SQ_NEED_WAKEUP);
		last = ktime_get();
	}
	return 0;
}

int vanity_ring_attach(struct vanity_shard *s, bool sqpoll, u32 idle_us)
{
	struct vanity_ring *r = s->ring;
	struct task_struct *t;

	ring_reset(r);
	if (!sqpoll)
		return 0;
	r->idle_us = idle_us ?: SQPOLL_IDLE_US_DEFAULT;
	r->poller_kick = false;
	t = kthread_create(poller_fn, s, "vanity-sq/%s", s->desc->name);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Never on an isolated CPU: those belong to the shards. */
	set_cpus_allowed_ptr(t, housekeeping_cpumask(HK_TYPE_DOMAIN));
	get_task_struct(t);
	r->poller = t;
	wake_up_process(t);
	return 0;
}

void vanity_ring_detach(struct vanity_shard *s)
{
	struct vanity_ring *r = s->ring;

	if (!r || !r->poller)
		return;
	kthread_stop(r->poller);
	put_task_struct(r->poller);
	r->poller = NULL;
}

static u32 cq_unseen(struct vanity_ring *r)
{
	/* Acquire: pairs with the release that posted each CQE. */
	return smp_load_acquire(r->cq_tail) - READ_ONCE(*r->cq_head);
}

long vanity_ring_enter(struct vanity_system *sys, struct vanity_shard *s,
		       const struct vanity_enter *e)
{
	struct vanity_ring *r = s->ring;
	struct issue_ctx ic = { .sys = sys, .shard = s };
	long ret = 0;

	if (e->flags & ~(VANITY_ENTER_GETEVENTS | VANITY_ENTER_SQ_WAKEUP) ||
	    e->resv[0] || e->resv[1] || e->min_complete > r->off.cq_entries)
		return -EINVAL;
	if (READ_ONCE(sys->dead))
		return -ENODEV;
	if (r->poller) {
		if (e->flags & VANITY_ENTER_SQ_WAKEUP ||
		    (e->flags & VANITY_ENTER_GETEVENTS &&
		     READ_ONCE(*r->sq_flags) & VANITY_SQ_NEED_WAKEUP)) {
			WRITE_ONCE(r->poller_kick, true);
			wake_up(&r->poller_wq);
		}
	} else if (e->to_submit) {
		mutex_lock(&r->lock);
		ret = ring_submit(r, &ic, e->to_submit);
		mutex_unlock(&r->lock);
		if (ret < 0)
			return ret;
	}
	if (e->flags & VANITY_ENTER_GETEVENTS) {
		int w = wait_event_interruptible(r->cq_wq,
			cq_unseen(r) >= e->min_complete || READ_ONCE(sys->dead));

		if (w && !ret)
			return w == -ERESTARTSYS ? -EINTR : w;
	}
	return ret;
}
