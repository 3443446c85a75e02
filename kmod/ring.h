/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shard's submission ring in the module: the module as a platform of
 * the core's ring engine (core/ring_engine.h). Its memory, ENTER, fsync,
 * the SQPOLL thread (ring.c) and the armed ops' mechanisms: wait queue
 * entries, hrtimers and the workqueue that completes them (ring_async.c).
 */
#ifndef VANITY_RING_H
#define VANITY_RING_H

#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/vanity.h>

#include "ring_engine.h"

struct vanity_system;
struct vanity_shard;
struct vanity_region;
struct task_struct;

struct vanity_ring {
	struct vanity_region *region;	/* mapped at VANITY_MMAP_RING */
	void *va;			/* the module's view of it */
	struct vanity_ring_offsets off;
	struct vanity_system *sys;
	struct vanity_shard *shard;
	/*
	 * The engine's state is under @lock: one consumer of the SQ at a
	 * time, and completions of armed ops between batches.
	 */
	struct mutex lock;
	atomic_t lock_wanted;		/* vanity_ring_lock callers waiting */
	struct vanity_engine eng;
	/* Counters, kept across attachments; racy snapshots for readers. */
	struct vanity_ring_ctr ctr;
	wait_queue_head_t cq_wq;	/* ENTER with GETEVENTS */
	/* SQPOLL */
	struct task_struct *poller;
	wait_queue_head_t poller_wq;
	bool poller_kick;
	u32 idle_us;
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

/* Module init: 0 when the core's op table is complete. */
int vanity_ring_ops_check(void);
int vanity_ring_create(struct vanity_shard *s, u32 entries);
void vanity_ring_destroy(struct vanity_shard *s);
/* Fresh indices for a new attachment; starts SQPOLL if asked. */
int vanity_ring_attach(struct vanity_shard *s, bool sqpoll, u32 idle_us);
/* Stop the poller, cancel what is armed (detach, forced DOWN). */
void vanity_ring_detach(struct vanity_shard *s);
/* DOWN: wake every ENTER asleep for CQEs, to find the system dead. */
void vanity_ring_wake_dead(struct vanity_shard *s);
long vanity_ring_enter(struct vanity_system *sys, struct vanity_shard *s,
		       const struct vanity_enter *e);
/* fsync(2) on the shard's fd: consume every published SQE (see UAPI). */
int vanity_ring_flush(struct vanity_system *sys, struct vanity_shard *s);

/* The module's mechanisms for the engine (ring.c). */
extern const struct vanity_ring_platform vanity_ring_platform;

static inline struct vanity_ring *vanity_ring_of(struct vanity_engine *e)
{
	return container_of(e, struct vanity_ring, eng);
}

void vanity_ring_wake_cq(struct vanity_engine *e);

/* ring_async.c: the armed ops' half of the platform. */
struct vanity_armed *vanity_async_alloc(struct vanity_engine *e,
					unsigned int nends);
void vanity_async_free(struct vanity_engine *e, struct vanity_armed *a);
int vanity_async_watch(struct vanity_engine *e, struct vanity_armed *a,
		       unsigned int i);
void vanity_async_unwatch(struct vanity_engine *e, struct vanity_armed *a,
			  unsigned int i);
u32 *vanity_async_irq_vectors(struct vanity_engine *e, u32 dev, u32 *nvec);
int vanity_async_irq_watch(struct vanity_engine *e, struct vanity_armed *a);
void vanity_async_irq_kick(struct vanity_engine *e, u32 dev);
void vanity_async_irq_unwatch(struct vanity_engine *e, struct vanity_armed *a);
void vanity_async_timer_start(struct vanity_engine *e, struct vanity_armed *a);
void vanity_async_timer_cancel(struct vanity_engine *e, struct vanity_armed *a);
/* Cancel every armed op, posting nothing. Not under the ring's lock. */
void vanity_async_cancel_all(struct vanity_ring *r);
int vanity_async_init(void);
void vanity_async_exit(void);

#endif
