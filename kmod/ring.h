/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shard's submission ring in the module: its memory, ENTER, the SQPOLL
 * thread, and the counters debugfs and netlink report.
 */
#ifndef VANITY_RING_H
#define VANITY_RING_H

#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/vanity.h>

#include "opdef.h"

struct vanity_system;
struct vanity_shard;
struct vanity_region;
struct task_struct;

struct vanity_ring {
	struct vanity_region *region;	/* mapped at VANITY_MMAP_RING */
	void *va;			/* the module's view of it */
	struct vanity_ring_offsets off;
	u32 *sq_head, *sq_tail, *sq_flags, *cq_head, *cq_tail, *cq_overflow;
	struct vanity_sqe *sqes;
	struct vanity_cqe *cqes;
	struct vanity_op_ctx ctx;	/* what validation knows of the shard */
	struct mutex lock;		/* one consumer of the SQ at a time */
	atomic_t lock_wanted;		/* vanity_ring_lock callers waiting */
	/*
	 * Under lock: the module's own indices, published to the shared
	 * ones and never read back (the shard may scribble on those), and
	 * the shard's cq_head as last read (only re-read when the CQ looks
	 * too full for a batch: it is a line the shard keeps writing).
	 */
	u32 cached_sq_head, cached_cq_tail, cached_cq_head;
	u32 cq_overflow_priv;	/* what *cq_overflow says; never read back */
	bool cq_full;			/* under lock: in an overflow episode */
	struct list_head pending;	/* under lock: armed async ops */
	u32 cq_reserved;		/* under lock: CQE slots they hold */
	wait_queue_head_t cq_wq;	/* ENTER with GETEVENTS */
	/* SQPOLL */
	struct task_struct *poller;
	wait_queue_head_t poller_wq;
	bool poller_kick;
	u32 idle_us;
	/*
	 * Counters: written only under @lock (or by the poller alone), so
	 * plain stores; readers (debugfs, GET) take a racy snapshot.
	 */
	u64 submitted, completed, overflows, poller_wakeups;
	u64 ops[VANITY_OP_LAST];
};

/*
 * Take a ring's lock anywhere but in its SQPOLL thread, which holds it
 * while it polls and lets go between batches when someone wants it.
 */
static inline void vanity_ring_lock(struct vanity_ring *r)
{
	atomic_inc(&r->lock_wanted);
	mutex_lock(&r->lock);
	atomic_dec(&r->lock_wanted);
}

static inline void vanity_ring_unlock(struct vanity_ring *r)
{
	mutex_unlock(&r->lock);
}

/* Module init: 0 when every opcode has its validator and its issue. */
int vanity_ring_ops_check(void);
int vanity_ring_create(struct vanity_shard *s, u32 entries);
void vanity_ring_destroy(struct vanity_shard *s);
/* Fresh indices for a new attachment; starts SQPOLL if asked. */
int vanity_ring_attach(struct vanity_shard *s, bool sqpoll, u32 idle_us);
/* Stop the poller (detach, forced DOWN). */
void vanity_ring_detach(struct vanity_shard *s);
long vanity_ring_enter(struct vanity_system *sys, struct vanity_shard *s,
		       const struct vanity_enter *e);
/*
 * What an op's issue returns when it completes later (ring_async.c): no
 * CQE now, one reserved for it.
 */
#define VANITY_QUEUED (-EIOCBQUEUED)

/* Post one CQE (under ring->lock), then wake ENTER's waiters (not under it). */
void vanity_ring_post_locked(struct vanity_ring *r, u32 shard, u64 user_data,
			     int res);
void vanity_ring_wake_cq(struct vanity_ring *r);

/* ring_async.c: WAIT and TIMEOUT, armed under ring->lock. */
int vanity_async_wait(struct vanity_ring *r, struct vanity_system *sys,
		      struct vanity_shard *s, const struct vanity_sqe *sqe);
int vanity_async_timeout(struct vanity_ring *r, struct vanity_system *sys,
			 struct vanity_shard *s, const struct vanity_sqe *sqe);
/* Cancel every armed op, posting nothing. Not under ring->lock. */
void vanity_async_cancel_all(struct vanity_ring *r);
int vanity_async_init(void);
void vanity_async_exit(void);

/* fsync(2) on the shard's fd: consume every published SQE (see UAPI). */
int vanity_ring_flush(struct vanity_system *sys, struct vanity_shard *s);

#endif
