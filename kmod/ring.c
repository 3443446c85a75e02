// SPDX-License-Identifier: GPL-2.0
/*
 * Submission rings. Each SQE is copied out of shared memory once, checked
 * by the portable op table, issued from the module's issue table and
 * answered with a CQE. ENTER consumes in the caller's context; SQPOLL
 * consumes from a thread on a housekeeping CPU that polls the next SQE's
 * stamp and the shard's tail, and sleeps after idling sq_idle, raising
 * NEED_WAKEUP first so no submission is stranded. Every CQE is stamped.
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

#define CREATE_TRACE_POINTS
#include "trace.h"

#define SQPOLL_IDLE_US_DEFAULT 1000
#define POLLER_SPINS 1024	/* empty polls per breath and look at the clock */

/* ---------------------------------------------------------------- issue */

struct issue_ctx {
	struct vanity_system *sys;
	struct vanity_shard *shard;
	bool poller;			/* issued by the SQPOLL thread */
};

/* Unreached: a valid NOP is a plain one, which ring_submit completes. */
static int op_nop(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	return 0;
}

static int op_notify(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	struct vanity_channel *c = &ic->sys->channels[sqe->channel];

	if (READ_ONCE(ic->sys->dead))
		return -ENODEV;
	atomic64_inc(&c->notifies);
	wake_up_interruptible(c->desc->from == ic->shard->index ?
			      &c->wq_data : &c->wq_space);
	return 0;
}

/* WAIT and TIMEOUT complete later: ring_async.c arms them. */
static int op_wait(const struct vanity_sqe *sqe, struct issue_ctx *ic)
{
	return vanity_async_wait(ic->shard->ring, ic->sys, ic->shard, sqe);
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
	return vanity_async_timeout(ic->shard->ring, ic->sys, ic->shard, sqe);
}

/*
 * The issue half of the op table; validation lives in core/opdef.c.
 * @may_block: the op can sleep, so completions before it are published
 * first (otherwise a batch publishes its CQEs once, at its end).
 */
static const struct vanity_issue_def {
	int (*issue)(const struct vanity_sqe *sqe, struct issue_ctx *ic);
	bool may_block;
} vanity_issue[] = {
	[VANITY_OP_NOP] = { op_nop },
	[VANITY_OP_NOTIFY] = { op_notify },
	[VANITY_OP_WAIT] = { op_wait },
	[VANITY_OP_YIELD] = { op_yield, true },
	[VANITY_OP_TIMEOUT] = { op_timeout },
};
static_assert(ARRAY_SIZE(vanity_issue) == VANITY_OP_LAST);

/*
 * Module init: the core's table and this one name every opcode, so the
 * ring issues any SQE that validates without checking for a hole.
 */
int vanity_ring_ops_check(void)
{
	unsigned int i;

	if (vanity_opdefs_check())
		return -EINVAL;
	for (i = 0; i < VANITY_OP_LAST; i++)
		if (!vanity_issue[i].issue)
			return -EINVAL;
	return 0;
}

/* ---------------------------------------------------------------- ring */

static void ring_reset(struct vanity_ring *r)
{
	r->cached_sq_head = 0;
	r->cached_cq_tail = 0;
	r->cached_cq_head = 0;
	WRITE_ONCE(*r->sq_head, 0);
	WRITE_ONCE(*r->sq_tail, 0);
	WRITE_ONCE(*r->sq_flags, 0);
	WRITE_ONCE(*r->cq_head, 0);
	WRITE_ONCE(*r->cq_tail, 0);
	WRITE_ONCE(*r->cq_overflow, 0);
	r->cq_overflow_priv = 0;
	/* No stamp of the last attachment may match one of this one's. */
	memset(r->sqes, 0, r->off.sq_entries * sizeof(*r->sqes));
	memset(r->cqes, 0, r->off.cq_entries * sizeof(*r->cqes));
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
	atomic_set(&r->lock_wanted, 0);
	INIT_LIST_HEAD(&r->pending);
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
	r->cached_sq_head = sq_head;
	WRITE_ONCE(r->cached_cq_tail, cq_tail);
	/* Release: the CQEs before the tail that posts them. */
	smp_store_release(r->cq_tail, cq_tail);
	/* Release: our reads of the SQEs before their slots are reused. */
	smp_store_release(r->sq_head, sq_head);
}

/*
 * Free CQEs after @cq_tail, less those reserved for armed async ops, on
 * the shard's head as last read; re-read it (it may have corrupted it:
 * that only costs it its own CQEs) when that leaves less than @want.
 * Under r->lock.
 */
static u32 cq_room(struct vanity_ring *r, u32 cq_tail, u32 want)
{
	u32 n = r->off.cq_entries, used, room = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass)
			r->cached_cq_head = READ_ONCE(*r->cq_head);
		used = cq_tail - r->cached_cq_head;
		room = used >= n || r->cq_reserved >= n - used ? 0 :
		       n - used - r->cq_reserved;
		if (room >= want)
			break;
	}
	return room;
}

void vanity_ring_post_locked(struct vanity_ring *r, u32 shard, u64 user_data,
			     int res)
{
	u32 t = r->cached_cq_tail;

	lockdep_assert_held(&r->lock);
	vanity_cqe_post((u64 *)&r->cqes[t & (r->off.cq_entries - 1)], t,
			user_data, res);
	WRITE_ONCE(r->cached_cq_tail, t + 1);
	/* Release: the CQE before the tail that posts it. */
	smp_store_release(r->cq_tail, t + 1);
	WRITE_ONCE(r->completed, r->completed + 1);
	trace_vanity_cqe(shard, user_data, res);
}

void vanity_ring_wake_cq(struct vanity_ring *r)
{
	if (wq_has_sleeper(&r->cq_wq))
		wake_up_interruptible(&r->cq_wq);
}

/*
 * Any SQE but a plain NOP: one private copy (nothing read twice), checked
 * by the portable op table, issued from the module's. Out of line, so the
 * NOP loop keeps its registers. Returns the result or VANITY_QUEUED, and
 * the user_data to echo.
 */
static noinline int ring_issue(struct vanity_ring *r, struct issue_ctx *ic,
			       const u64 *src, u32 head, u32 cqt, u64 *ud)
{
	const struct vanity_issue_def *def;
	union {
		struct vanity_sqe sqe;
		u64 w[VANITY_SQE_WORDS];
	} c;
	int res;

	c.w[0] = READ_ONCE(src[0]);
	c.w[1] = READ_ONCE(src[1]);
	c.w[2] = READ_ONCE(src[2]);
	c.w[3] = READ_ONCE(src[3]);
	c.w[4] = READ_ONCE(src[4]);
	c.w[5] = READ_ONCE(src[5]);
	c.w[6] = READ_ONCE(src[6]);
	c.w[7] = READ_ONCE(src[7]);
	*ud = c.sqe.user_data;
	trace_vanity_sqe_issue(ic->shard->index, c.sqe.opcode, c.sqe.user_data);
	res = vanity_sqe_validate(&c.sqe, &r->ctx);
	if (res)
		return res;
	def = &vanity_issue[c.sqe.opcode];
	WRITE_ONCE(r->ops[c.sqe.opcode], r->ops[c.sqe.opcode] + 1);
	/* What completed so far is seen before we may sleep. */
	if (def->may_block)
		ring_publish(r, head, cqt);
	/* A direct call for the op channel loops issue. */
	return INDIRECT_CALL_1(def->issue, op_notify, &c.sqe, ic);
}

/* SQEs the shard's tail publishes past @head (vanity_sq_tail_avail). */
static __always_inline u32 sq_tail_avail(struct vanity_ring *r, u32 head)
{
	/* Acquire: the shard's SQE stores before the tail that covers them. */
	return vanity_sq_tail_avail(smp_load_acquire(r->sq_tail), head,
				    r->off.sq_entries);
}

/* Anything to consume: the tail moved past our head, or its SQE's stamp. */
static __always_inline bool sq_pending(struct vanity_ring *r)
{
	u32 head = r->cached_sq_head;

	return READ_ONCE(r->sqes[head & (r->off.sq_entries - 1)].stamp) ==
	       VANITY_STAMP(head) || sq_tail_avail(r, head);
}

/*
 * Whether the SQE at @head (@src), past the @avail the tail covered so
 * far, is to be taken; @avail grows when the tail is read (at most once,
 * @tail_read). The poller takes a run's first SQE by its stamp before it
 * reads the tail: that line may still be on its way from the shard, and
 * the first CQE need not wait for it. After that one SQE, the tail says
 * how many more there are, with no stamp to check on each.
 */
static __always_inline bool sq_take(struct vanity_ring *r,
				    struct issue_ctx *ic, const u64 *src,
				    u32 head, u32 left, u32 *avail,
				    bool *tail_read, u32 done)
{
	if (!*tail_read && done) {
		*tail_read = true;
		*avail = done + min(sq_tail_avail(r, head), left);
		if (done < *avail)
			return true;
	}
	if (ic->poller &&
	    vanity_sqe_stamped((const struct vanity_sqe *)src, head))
		return true;
	if (*tail_read)
		return false;
	*tail_read = true;
	*avail = done + min(sq_tail_avail(r, head), left);
	return done < *avail;
}

/*
 * Consume up to @max SQEs: those the tail covers, then (the poller) any
 * whose stamp says they are published. Returns how many, or -EBUSY if the
 * CQ is full before any. A plain NOP (vanity_sqe_plain_nop) is eight
 * loads and a CQE's two stores; every other op goes through ring_issue.
 * ENTER's waiters are the caller's to wake (vanity_ring_wake_cq), once
 * the batch is published. Inlined into the poller's loop.
 */
static __always_inline int __ring_submit(struct vanity_ring *r,
					 struct issue_ctx *ic, u32 max)
{
	u32 sq_mask = r->off.sq_entries - 1, cq_mask = r->off.cq_entries - 1;
	u32 head = r->cached_sq_head, cqt = r->cached_cq_tail;
	/* ENTER and fsync take what the tail publishes; see sq_take. */
	bool tail_read = !ic->poller;
	u32 avail = tail_read ? min(sq_tail_avail(r, head), max) : 0;
	u32 done = 0, queued = 0, nops = 0, room, shard = ic->shard->index;
	const u64 *sqes = (const u64 *)r->sqes;
	u64 *cqes = (u64 *)r->cqes;
	bool full = false;
	u64 ud, slow_ud;
	const u64 *src;
	int res;

	/* A ring's worth at most, however a shard keeps stamping. */
	max = min(max, r->off.sq_entries);
	room = cq_room(r, cqt, avail ?: 1);
	while (done < max) {
		src = &sqes[(head & sq_mask) * VANITY_SQE_WORDS];
		if (done >= avail &&
		    !sq_take(r, ic, src, head, max - done, &avail, &tail_read,
			     done))
			break;
		if (!room)
			room = cq_room(r, cqt, avail > done ? avail - done : 1);
		if (!room) {
			/*
			 * Each refused ENTER counts; the poller counts each
			 * episode, not every poll that finds the CQ still full.
			 */
			if (!ic->poller || !r->cq_full) {
				WRITE_ONCE(r->overflows, r->overflows + 1);
				/* Our count: the shard may write the word. */
				WRITE_ONCE(*r->cq_overflow, ++r->cq_overflow_priv);
				r->cq_full = true;
			}
			full = true;
			break;
		}
		/* Each word read once; a plain NOP needs nothing more. */
		if (likely(vanity_sqe_plain_nop(src, &ud))) {
			trace_vanity_sqe_issue(shard, VANITY_OP_NOP, ud);
			nops++;
			res = 0;
		} else {
			/* Reads the SQE again, for its own private copy. */
			res = ring_issue(r, ic, src, head, cqt, &slow_ud);
			ud = slow_ud;
		}
		head++;
		room--;
		done++;
		if (res == VANITY_QUEUED) {	/* its CQE slot is reserved */
			queued++;
			continue;
		}
		vanity_cqe_post(&cqes[(cqt & cq_mask) * 2], cqt, ud, res);
		trace_vanity_cqe(shard, ud, res);
		cqt++;
	}
	if (done) {
		r->cq_full = false;
		ring_publish(r, head, cqt);
		WRITE_ONCE(r->ops[VANITY_OP_NOP], r->ops[VANITY_OP_NOP] + nops);
		WRITE_ONCE(r->submitted, r->submitted + done);
		WRITE_ONCE(r->completed, r->completed + done - queued);
	}
	return done || !full ? done : -EBUSY;
}

/* __ring_submit for ENTER and fsync, which wake ENTER's waiters at once. */
static noinline int ring_submit(struct vanity_ring *r, struct issue_ctx *ic,
				u32 max)
{
	int n = __ring_submit(r, ic, max);

	if (n > 0)
		vanity_ring_wake_cq(r);
	return n;
}

/* Idle past sq_idle: sleep until ENTER wakes us (or we are stopped). */
static void poller_sleep(struct vanity_ring *r)
{
	/* Flag, fence, look again: pairs with the shard's fence. */
	WRITE_ONCE(r->poller_kick, false);
	WRITE_ONCE(*r->sq_flags, *r->sq_flags | VANITY_SQ_NEED_WAKEUP);
	/* Flag before the SQ check; the shard fences tail before flag. */
	smp_mb();
	if (!sq_pending(r)) {
		wait_event_interruptible(r->poller_wq,
					 READ_ONCE(r->poller_kick) ||
					 kthread_should_stop());
		WRITE_ONCE(r->poller_wakeups, r->poller_wakeups + 1);
	}
	WRITE_ONCE(*r->sq_flags, *r->sq_flags & ~VANITY_SQ_NEED_WAKEUP);
}

static int poller_fn(void *data)
{
	struct vanity_shard *s = data;
	struct vanity_ring *r = s->ring;
	struct issue_ctx ic = { .sys = s->sys, .shard = s, .poller = true };
	/*
	 * Idle time on local_clock(), read once per POLLER_SPINS empty polls:
	 * ktime_get() on every poll can cost more than the poll (here an
	 * HPET read, an MMIO access), and jiffies are too coarse for an
	 * sq_idle of microseconds.
	 */
	u64 idle_ns = (u64)r->idle_us * NSEC_PER_USEC, last = 0, now;
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
			if (sq_pending(r))
				break;
		if (spins < POLLER_SPINS &&
		    __ring_submit(r, &ic, r->off.sq_entries) > 0) {
			vanity_ring_wake_cq(r);
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
	vanity_ring_lock(r);
	ret = ring_submit(r, &ic, r->off.sq_entries);
	vanity_ring_unlock(r);
	return ret;
}

static u32 cq_unseen(struct vanity_ring *r)
{
	/* Our own tail: the shard's copy is its to scribble on. */
	s32 n = READ_ONCE(r->cached_cq_tail) - READ_ONCE(*r->cq_head);

	/* Negative while a batch's stamped CQEs run ahead of the tail. */
	return n > 0 ? n : 0;
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
		vanity_ring_lock(r);
		ret = ring_submit(r, &ic, e->to_submit);
		vanity_ring_unlock(r);
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
