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
#include <linux/sched/clock.h>
#include <linux/indirect_call_wrapper.h>

#include "ring.h"
#include "system.h"
#include "region.h"
#include "chan.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

#define SQPOLL_IDLE_US_DEFAULT 1000
#define IDLE_CHECK 32		/* empty polls per look at the clock */

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

/*
 * The issue half of the op table; validation lives in core/opdef.c.
 * @may_block: the op can sleep, so completions before it are published
 * first (otherwise a batch publishes its CQEs once, at its end).
 */
static const struct vanity_issue_def {
	int (*issue)(const struct vanity_sqe *sqe, struct issue_ctx *ic);
	bool may_block;
} vanity_issue[VANITY_OP_LAST] = {
	[VANITY_OP_NOP] = { op_nop },
	[VANITY_OP_NOTIFY] = { op_notify },
	[VANITY_OP_WAIT] = { op_wait, true },
	[VANITY_OP_YIELD] = { op_yield, true },
	[VANITY_OP_TIMEOUT] = { op_timeout, true },
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

/* Publish what was consumed and completed: CQEs first, then SQ slots. */
static void ring_publish(struct vanity_ring *r, u32 sq_head, u32 cq_tail)
{
	/* Release: the CQEs before the tail that posts them. */
	smp_store_release(r->cq_tail, cq_tail);
	/* Release: our reads of the SQEs before their slots are reused. */
	smp_store_release(r->sq_head, sq_head);
}

/* Free CQEs, re-reading the shard's head (which it may have corrupted). */
static u32 cq_room(struct vanity_ring *r, u32 cq_tail)
{
	u32 used = cq_tail - READ_ONCE(*r->cq_head);

	return used >= r->off.cq_entries ? 0 : r->off.cq_entries - used;
}

/* A private copy of an SQE: eight loads, nothing read twice. */
static void sqe_copy(struct vanity_sqe *dst, const struct vanity_sqe *src)
{
	const u64 *s = (const u64 *)src;
	u64 *d = (u64 *)dst;
	unsigned int i;

	for (i = 0; i < sizeof(*dst) / sizeof(u64); i++)
		d[i] = READ_ONCE(s[i]);
}

/* Consume up to @max SQEs; returns how many, or -EBUSY if the CQ is full. */
static int ring_submit(struct vanity_ring *r, struct issue_ctx *ic, u32 max)
{
	u32 sq_mask = r->off.sq_entries - 1, cq_mask = r->off.cq_entries - 1;
	/* Acquire: the shard's SQE stores before the tail that covers them. */
	u32 head = *r->sq_head, tail = smp_load_acquire(r->sq_tail);
	u32 avail = tail - head, done = 0, cqt = *r->cq_tail, room;
	struct vanity_cqe *cqes = r->cqes;
	const struct vanity_issue_def *def;
	struct vanity_sqe sqe;
	int res;

	/* A tail past a full ring is the shard's corruption, not ours. */
	if (avail > r->off.sq_entries)
		avail = r->off.sq_entries;
	if (avail > max)
		avail = max;
	room = cq_room(r, cqt);
	while (done < avail) {
		if (!room)
			room = cq_room(r, cqt);
		if (!room) {
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
		/* One read of shared memory; everything after uses the copy. */
		sqe_copy(&sqe, &r->sqes[head & sq_mask]);
		trace_vanity_sqe_issue(ic->shard->index, sqe.opcode,
				       sqe.user_data);
		res = vanity_sqe_validate(&sqe, &r->ctx);
		if (!res) {
			def = &vanity_issue[sqe.opcode];
			WRITE_ONCE(r->ops[sqe.opcode], r->ops[sqe.opcode] + 1);
			/* What completed so far is seen before we may sleep. */
			if (def->may_block)
				ring_publish(r, head, cqt);
			/* Direct calls for the ops hot loops issue. */
			res = INDIRECT_CALL_2(def->issue, op_nop, op_notify,
					      &sqe, ic);
		}
		cqes[cqt & cq_mask].user_data = sqe.user_data;
		cqes[cqt & cq_mask].res = res;
		cqes[cqt & cq_mask].flags = 0;
		trace_vanity_cqe(ic->shard->index, sqe.user_data, res);
		cqt++;
		head++;
		room--;
		done++;
	}
	if (done) {
		r->cq_full = false;
		ring_publish(r, head, cqt);
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
	/*
	 * Idle time on local_clock(), read once per IDLE_CHECK empty polls:
	 * ktime_get() on every poll can cost more than the poll (here an
	 * HPET read, an MMIO access), and jiffies are too coarse for an
	 * sq_idle of microseconds.
	 */
	u64 idle_ns = (u64)r->idle_us * NSEC_PER_USEC, last = 0, now;
	unsigned int empty = 0;
	int n;

	while (!kthread_should_stop()) {
		n = 0;
		/* Look before locking: an empty SQ costs two loads. */
		if (READ_ONCE(*r->sq_tail) != READ_ONCE(*r->sq_head)) {
			mutex_lock(&r->lock);
			n = ring_submit(r, &ic, r->off.sq_entries);
			mutex_unlock(&r->lock);
		}
		if (n > 0) {
			/* The idle window opens at the next look at the clock. */
			empty = 0;
			last = 0;
			cond_resched();
			continue;
		}
		/*
		 * n < 0: the CQ is full; nothing to do until the shard reaps.
		 * Spin on the loads alone, as io_uring's poller does: no
		 * cpu_relax(), whose PAUSE under QEMU TCG leaves the vCPU's
		 * execution loop and costs more than a whole poll.
		 */
		if (++empty % IDLE_CHECK) {
			cond_resched();
			continue;
		}
		now = local_clock();
		if (!last)
			last = now;
		if (now - last < idle_ns) {
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
		empty = 0;
		last = 0;
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

static void poller_kick(struct vanity_ring *r)
{
	WRITE_ONCE(r->poller_kick, true);
	wake_up(&r->poller_wq);
}

int vanity_ring_flush(struct vanity_system *sys, struct vanity_shard *s)
{
	struct vanity_ring *r = s->ring;
	struct issue_ctx ic = { .sys = sys, .shard = s };
	int ret;

	if (READ_ONCE(sys->dead))
		return -ENODEV;
	if (r->poller) {
		if (READ_ONCE(*r->sq_flags) & VANITY_SQ_NEED_WAKEUP)
			poller_kick(r);
		return 0;
	}
	mutex_lock(&r->lock);
	ret = ring_submit(r, &ic, r->off.sq_entries);
	mutex_unlock(&r->lock);
	return ret;
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
		     READ_ONCE(*r->sq_flags) & VANITY_SQ_NEED_WAKEUP))
			poller_kick(r);
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
