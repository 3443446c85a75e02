// SPDX-License-Identifier: GPL-2.0
/*
 * Submission rings in the module, a platform of the core's ring engine
 * (core/ring_engine.h), which decides everything an SQE does. Here: the
 * ring's pages, the lock the engine runs under, the platform's mechanisms
 * (clock, doorbells, barriers, tracepoints), ENTER and fsync in the
 * caller's context, and the SQPOLL thread on a housekeeping CPU that
 * spins on the engine's "anything pending" and sleeps when the engine
 * says it may.
 */
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sched/clock.h>
#include <linux/indirect_call_wrapper.h>

#include "ring.h"
#include "system.h"
#include "region.h"
#include "chan.h"
#include "enter.h"
#include "doorbell.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

#define POLLER_SPINS 1024	/* empty polls per breath and look at the clock */

/* ------------------------------------------------------------ platform */

static s64 plat_now(struct vanity_engine *e)
{
	return ktime_get_ns();
}

static bool plat_dead(struct vanity_engine *e)
{
	return READ_ONCE(vanity_ring_of(e)->sys->dead);
}

static struct vanity_engine_chan *plat_chan(struct vanity_engine *e, u32 ch)
{
	return &vanity_ring_of(e)->sys->channels[ch].eng;
}

static void plat_ring(struct vanity_engine *e, u32 ch, bool peer_consumer)
{
	struct vanity_channel *c = &vanity_ring_of(e)->sys->channels[ch];

	wake_up_interruptible(peer_consumer ? &c->wq_data : &c->wq_space);
}

static bool plat_peer_barrier(struct vanity_engine *e, u32 peer)
{
	vanity_doorbell_barrier(&vanity_ring_of(e)->sys->shards[peer]);
	return true;
}

void vanity_ring_wake_cq(struct vanity_engine *e)
{
	struct vanity_ring *r = vanity_ring_of(e);

	if (wq_has_sleeper(&r->cq_wq))
		wake_up_interruptible(&r->cq_wq);
}

static __always_inline void plat_trace_sqe(struct vanity_engine *e, u8 op,
					   u64 user_data)
{
	trace_vanity_sqe_issue(e->shard, op, user_data);
}

static __always_inline void plat_trace_cqe(struct vanity_engine *e,
					   u64 user_data, int res)
{
	trace_vanity_cqe(e->shard, user_data, res);
}

const struct vanity_ring_platform vanity_ring_platform = {
	.now = plat_now,
	.dead = plat_dead,
	.chan = plat_chan,
	.ring = plat_ring,
	.alloc = vanity_async_alloc,
	.free = vanity_async_free,
	.watch = vanity_async_watch,
	.unwatch = vanity_async_unwatch,
	.peer_barrier = plat_peer_barrier,
	.timer_start = vanity_async_timer_start,
	.timer_cancel = vanity_async_timer_cancel,
	.wake_cq = vanity_ring_wake_cq,
	.irq_vectors = vanity_async_irq_vectors,
	.irq_watch = vanity_async_irq_watch,
	.irq_unwatch = vanity_async_irq_unwatch,
	.irq_kick = vanity_async_irq_kick,
	.trace_sqe = plat_trace_sqe,
	.trace_cqe = plat_trace_cqe,
};

int vanity_ring_ops_check(void)
{
	return vanity_engine_ops_check();
}

/*
 * Any SQE but a plain NOP, out of line so the NOP loop keeps its
 * registers; the platform's calls in it are direct.
 */
static noinline int ring_issue(struct vanity_engine *e, const u64 *src,
			       bool poller, u64 *ud)
{
	return vanity_engine_issue(e, &vanity_ring_platform, src, poller, ud);
}

/* ---------------------------------------------------------------- ring */

int vanity_ring_create(struct vanity_shard *s, u32 entries)
{
	struct vanity_system *sys = s->sys;
	struct vanity_ring *r;
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
	r->sys = sys;
	r->shard = s;
	vanity_engine_init(&r->eng, r->va, &r->off, sys->image, s->index,
			   &r->ctr);
	mutex_init(&r->lock);
	atomic_set(&r->lock_wanted, 0);
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

/* ENTER and fsync: consume up to @max, wake ENTER's waiters. */
static noinline int ring_submit(struct vanity_ring *r, u32 max)
{
	int n = vanity_engine_submit(&r->eng, &vanity_ring_platform, max,
				     false, ring_issue);

	if (n > 0)
		vanity_ring_wake_cq(&r->eng);
	return n;
}

/* Submit under the lock; the batch's YIELDs run once, after it. */
static int ring_submit_yield(struct vanity_ring *r, u32 max)
{
	u32 yields;
	int n;

	vanity_ring_lock(r);
	n = ring_submit(r, max);
	yields = vanity_engine_take_yields(&r->eng);
	vanity_ring_unlock(r);
	/*
	 * Cooperative shards sharing a CPU are plain tasks on it: yield() is
	 * exactly "run the next one".
	 */
	if (yields)
		yield();
	return n;
}

/*
 * Idle past sq_idle: the engine decides whether to sleep until ENTER
 * wakes us (or we are stopped), nap while the CQ is full, or go on.
 */
static void poller_sleep(struct vanity_ring *r)
{
	enum vanity_idle idle;
	bool slept = false;

	WRITE_ONCE(r->poller_kick, false);
	mutex_lock(&r->lock);
	idle = vanity_engine_idle_begin(&r->eng, r->eng.cq_full);
	mutex_unlock(&r->lock);
	if (idle == VANITY_IDLE_SLEEP) {
		wait_event_interruptible(r->poller_wq,
					 READ_ONCE(r->poller_kick) ||
					 kthread_should_stop());
		slept = true;
	} else if (idle == VANITY_IDLE_NAP) {
		wait_event_interruptible_timeout(r->poller_wq,
			READ_ONCE(r->poller_kick) || kthread_should_stop(),
			nsecs_to_jiffies(VANITY_CQ_FULL_NAP_NS) ?: 1);
		slept = true;
	}
	vanity_engine_idle_end(&r->eng, slept);
}

static int poller_fn(void *data)
{
	struct vanity_shard *s = data;
	struct vanity_ring *r = s->ring;
	struct vanity_engine *e = &r->eng;
	/*
	 * Idle time on local_clock(), read once per POLLER_SPINS empty polls:
	 * ktime_get() on every poll can cost more than the poll (here an
	 * HPET read, an MMIO access), and jiffies are too coarse for an
	 * sq_idle of microseconds.
	 */
	u64 idle_ns = vanity_sqpoll_idle_ns(r->idle_us), last = 0, now;
	unsigned int spins;

	/*
	 * The ring's lock is held while polling: the round trip of an SQE
	 * is spin, consume, publish, spin. It is let go between batches
	 * when a completion of an async op wants it or the scheduler does,
	 * and at each breath after POLLER_SPINS empty polls.
	 */
	mutex_lock(&r->lock);
	while (!kthread_should_stop()) {
		/*
		 * Spin on the next SQE's stamp and the shard's tail (the
		 * head is ours): no cpu_relax(), whose PAUSE under QEMU TCG
		 * leaves the vCPU's execution loop and costs more than a
		 * whole poll.
		 */
		for (spins = 0; spins < POLLER_SPINS; spins++)
			if (vanity_engine_sq_pending(e))
				break;
		if (spins < POLLER_SPINS &&
		    vanity_engine_submit(e, &vanity_ring_platform,
					 e->sq_entries, true, ring_issue) > 0) {
			vanity_ring_wake_cq(e);
			/* The idle window opens at the next look at the clock. */
			last = 0;
			if (!atomic_read(&r->lock_wanted) && !need_resched())
				continue;
			mutex_unlock(&r->lock);
			cond_resched();
			mutex_lock(&r->lock);
			continue;
		}
		/* Nothing to do (or the CQ is full until the shard reaps). */
		mutex_unlock(&r->lock);
		cond_resched();
		now = local_clock();
		if (!last)
			last = now;
		if (now - last >= idle_ns) {
			poller_sleep(r);
			last = 0;
		}
		mutex_lock(&r->lock);
	}
	mutex_unlock(&r->lock);
	return 0;
}

int vanity_ring_attach(struct vanity_shard *s, bool sqpoll, u32 idle_us)
{
	struct vanity_ring *r = s->ring;
	struct task_struct *t;

	vanity_engine_reset(&r->eng);
	if (!sqpoll)
		return 0;
	r->idle_us = idle_us;
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

	if (!r)
		return;
	if (r->poller) {
		kthread_stop(r->poller);
		put_task_struct(r->poller);
		r->poller = NULL;
	}
	/* Nothing armed outlives the attachment that submitted it. */
	vanity_async_cancel_all(r);
}

void vanity_ring_wake_dead(struct vanity_shard *s)
{
	wake_up_all(&s->ring->cq_wq);
}

static void poller_kick(struct vanity_ring *r)
{
	WRITE_ONCE(r->poller_kick, true);
	wake_up(&r->poller_wq);
}

int vanity_ring_flush(struct vanity_system *sys, struct vanity_shard *s)
{
	struct vanity_ring *r = s->ring;

	if (READ_ONCE(sys->dead))
		return -ENODEV;
	if (r->poller) {
		if (READ_ONCE(*r->eng.sq_flags) & VANITY_SQ_NEED_WAKEUP)
			poller_kick(r);
		return 0;
	}
	return ring_submit_yield(r, r->eng.sq_entries);
}

long vanity_ring_enter(struct vanity_system *sys, struct vanity_shard *s,
		       const struct vanity_enter *e)
{
	struct vanity_ring *r = s->ring;
	struct vanity_enter_plan p;
	long ret = 0;
	int w = 0;

	if (vanity_enter_plan(e, r->eng.cq_entries, r->poller,
			      READ_ONCE(*r->eng.sq_flags), &p))
		return -EINVAL;
	if (READ_ONCE(sys->dead))
		return -ENODEV;
	if (p.kick)
		poller_kick(r);
	if (p.submit) {
		ret = ring_submit_yield(r, p.submit);
		if (ret < 0)
			return ret;
	}
	if (p.getevents) {
		w = wait_event_interruptible(r->cq_wq,
			vanity_engine_cq_unseen(&r->eng) >= p.min_complete ||
			READ_ONCE(sys->dead));
		if (w == -ERESTARTSYS)
			w = -EINTR;
		/* Woken by DOWN, not by CQEs: the system is gone. */
		else if (vanity_engine_cq_unseen(&r->eng) < p.min_complete)
			w = -ENODEV;
	}
	return vanity_enter_result(ret, w);
}
