/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The submission ring's engine, once for every platform: the submit loop
 * with its stamp and tail rules, CQ room, overflow and posting, the issue
 * of every op, the armed-op state machine of WAIT, TIMEOUT and IRQ_WAIT
 * (arm, claim once, complete, cancel all), the CQ's ownership that lets
 * an interrupt post a CQE while no lock can be taken, and SQPOLL's
 * decision to sleep. The module
 * (kmod/ring.c, kmod/ring_async.c) and the simulator (tools/sim/ring.c)
 * are platforms: they own the memory, the thread, the lock the engine runs
 * under and the actual sleeps, and hand the engine a struct
 * vanity_ring_platform of mechanisms. The engine never sleeps, allocates
 * or locks on its own.
 *
 * The hot path is inline: each platform's poller and ENTER call
 * vanity_engine_submit() with a pointer to its own static const platform,
 * so the compiler sees through every platform call in the loop.
 */
#ifndef VANITY_CORE_RING_ENGINE_H
#define VANITY_CORE_RING_ENGINE_H

#include "shim.h"
#include "opdef.h"
#include "bell.h"
#include "deadline.h"

/*
 * What an op's issue returns when its CQE comes later, its slot reserved
 * meanwhile. Never an errno (those stop at 4095).
 */
#define VANITY_QUEUED		(-4096)

/* SQPOLL's idle window when the shard asks for none (microseconds). */
#define VANITY_SQPOLL_IDLE_US_DEFAULT	1000
/* A poller idle with a full CQ looks for room this often (ns). */
#define VANITY_CQ_FULL_NAP_NS	1000000

/* A shard's ring counters, kept across attachments. One writer at a time. */
struct vanity_ring_ctr {
	u64 submitted, completed, overflows, poller_wakeups;
	u64 ops[VANITY_OP_LAST];
};

/*
 * What the engine keeps of a channel besides the image's description:
 * owned by the platform's channel (one per system), updated atomically
 * because every ring of the system may touch it.
 */
struct vanity_engine_chan {
	u64 notifies;		/* NOTIFY ops that rang it */
	u32 ring_waits[2];	/* armed WAITs holding [0] producer, [1] consumer */
};

/* One channel end an armed WAIT holds. */
struct vanity_armed_end {
	struct vanity_chan_hdr *hdr;	/* the platform's mapping (watch) */
	struct vanity_engine_chan *c;
	u32 slots;
	u16 chan;
	u16 peer;			/* the shard at the other end */
	u8 bit;				/* offset in the SQE's mask */
	bool consumer;			/* our end: data (to) or room (from) */
};

enum { VANITY_ARMED_LIVE, VANITY_ARMED_CLAIMED };

/*
 * An armed WAIT, TIMEOUT or IRQ_WAIT, in memory the platform allocates
 * (with room for its own per-op and per-end state) and frees. The first
 * claim (doorbell, interrupt, deadline, DOWN, cancel) wins, by one
 * compare-and-exchange of @state; the winner decides @res.
 */
struct vanity_armed {
	struct vanity_armed *next, **pprev;	/* the engine's list */
	u64 user_data;
	s64 deadline;			/* VANITY_NEVER: none */
	int state;			/* VANITY_ARMED_* */
	int res;			/* the CQE's, once claimed */
	bool strong;			/* the peers' barrier ran */
	bool timed;			/* its timer was started */
	bool irq_watched;		/* IRQ_WAIT: irq_watch done */
	bool posted;			/* its CQE is out, its slot given back */
	u8 op;				/* VANITY_OP_WAIT, _TIMEOUT or _IRQ_WAIT */
	unsigned int n;			/* WAIT: ends held */
	struct vanity_armed_end *w;	/* WAIT: the platform's array of n */
	/* IRQ_WAIT */
	u32 dev;			/* the device's index */
	u64 vmask;			/* the vectors armed on */
	u32 *pending;			/* its events per vector */
	struct vanity_armed *post_next;	/* on the engine's posting stack */
};

struct vanity_engine;

/*
 * A platform's mechanisms. Each runs under the platform's ring lock unless
 * it says otherwise.
 */
struct vanity_ring_platform {
	/* The clock deadlines are on: monotonic ns. */
	s64 (*now)(struct vanity_engine *e);
	/* The system went DOWN: channel ops answer -ENODEV. */
	bool (*dead)(struct vanity_engine *e);
	/* Channel @ch's shared counters. */
	struct vanity_engine_chan *(*chan)(struct vanity_engine *e, u32 ch);
	/* Ring the doorbell of channel @ch's end that is not ours. */
	void (*ring)(struct vanity_engine *e, u32 ch, bool peer_consumer);
	/* Memory for an armed op with @nends ends (a->w set); NULL: -ENOMEM. */
	struct vanity_armed *(*alloc)(struct vanity_engine *e,
				      unsigned int nends);
	/* Free @a (disarmed). Any context but atomic. */
	void (*free)(struct vanity_engine *e, struct vanity_armed *a);
	/*
	 * Watch end @i of @a (a->w[i] filled but hdr): set its hdr and have
	 * the channel's doorbell reach the platform's claim. 0 or -ENODEV.
	 */
	int (*watch)(struct vanity_engine *e, struct vanity_armed *a,
		     unsigned int i);
	/* Undo watch; after it no doorbell of end @i reaches @a. */
	void (*unwatch)(struct vanity_engine *e, struct vanity_armed *a,
			unsigned int i);
	/*
	 * A full barrier on shard @peer's CPUs; false when there is none
	 * (a platform's sleeps on the op then nap, VANITY_BELL_NAP_NS).
	 */
	bool (*peer_barrier)(struct vanity_engine *e, u32 peer);
	/* Start @a's timer for a->deadline, which is not VANITY_NEVER. */
	void (*timer_start)(struct vanity_engine *e, struct vanity_armed *a);
	/* Stop it; after it the timer's claim does not run. */
	void (*timer_cancel)(struct vanity_engine *e, struct vanity_armed *a);
	/* Wake whoever sleeps for CQEs (ENTER with GETEVENTS). Any context. */
	void (*wake_cq)(struct vanity_engine *e);
	/*
	 * IRQ_WAIT, optional (without them it is -ENODEV): device @dev's
	 * counts of pending events, one u32 per vector, which its
	 * interrupts increment, and in *@nvec how many vectors it has;
	 * NULL when it has none (or is gone).
	 */
	u32 *(*irq_vectors)(struct vanity_engine *e, u32 dev, u32 *nvec);
	/*
	 * Have the interrupts of a->dev reach the platform's
	 * vanity_engine_irq_event for @a. 0 or -ENODEV.
	 */
	int (*irq_watch)(struct vanity_engine *e, struct vanity_armed *a);
	/* Undo irq_watch; after it no interrupt reaches @a. */
	void (*irq_unwatch)(struct vanity_engine *e, struct vanity_armed *a);
	/*
	 * Have every op watching device @dev's interrupts decided again, as
	 * an interrupt does (VANITY_ARMED_GAVE_BACK). Any context.
	 */
	void (*irq_kick)(struct vanity_engine *e, u32 dev);
	/* Optional: trace each SQE issued and each CQE posted. */
	void (*trace_sqe)(struct vanity_engine *e, u8 op, u64 user_data);
	void (*trace_cqe)(struct vanity_engine *e, u64 user_data, int res);
};

/*
 * One ring. The shared words are the shard's to write as well: the
 * engine keeps its own indices and counts and never reads them back.
 * Everything below @ctx is the platform's ring lock's.
 */
struct vanity_engine {
	u32 *sq_head, *sq_tail, *sq_flags, *cq_head, *cq_tail, *cq_overflow;
	const u64 *sqes;
	u64 *cqes;
	u32 sq_entries, cq_entries;
	u32 shard;
	const void *img;		/* the system's checked image */
	struct vanity_op_ctx ctx;	/* what validation knows of the shard */
	u64 produces[VANITY_MAX_CHANNELS / 64];	/* channels it is "from" of */
	struct vanity_ring_ctr *ctr;
	/* private */
	u32 head;			/* SQEs consumed */
	u32 cqt;			/* CQEs posted */
	u32 cq_head_seen;		/* the shard's cq_head as last read */
	u32 overflow_priv;		/* what *cq_overflow says */
	u32 reserved;			/* CQE slots armed ops hold */
	u32 yields;			/* YIELDs of this ENTER, for the caller */
	bool cq_full;			/* in an overflow episode */
	bool closing;			/* detaching: armed ops post nothing */
	struct vanity_armed *armed, **armed_end;	/* oldest first */
	/*
	 * The CQ's owner (VANITY_CQ_*): cqt, reserved, the CQE slots and
	 * cq_tail belong to whoever holds it, under the ring lock or in an
	 * interrupt, which cannot take that lock. Claimed ops an interrupt
	 * could not post wait on @posting for the owner to post them.
	 */
	int cq_owner;
	struct vanity_armed *posting;
};

enum { VANITY_CQ_FREE, VANITY_CQ_OWNED, VANITY_CQ_OWNED_POSTING };

/*
 * Set up @e over the ring at @mem laid out as @off, for shard @shard of
 * the checked image @img, counting into @ctr; then vanity_engine_reset.
 */
void vanity_engine_init(struct vanity_engine *e, void *mem,
			const struct vanity_ring_offsets *off, const void *img,
			u32 shard, struct vanity_ring_ctr *ctr);

/*
 * A fresh attachment: zero indices (and every SQE and CQE, so no stamp
 * of the last one matches). Nothing may be armed.
 */
void vanity_engine_reset(struct vanity_engine *e);

/* 0 when every opcode has a validator and an issue (init, a unit test). */
int vanity_engine_ops_check(void);

/* Whether the shard is channel @ch's producer (an end: validated). */
static inline bool vanity_engine_produces(const struct vanity_engine *e,
					  u32 ch)
{
	return (e->produces[ch / 64] >> (ch % 64)) & 1;
}

/* Counters: one writer at a time, racy readers. */
static inline void vanity_ctr_add(u64 *c, u64 n)
{
	VANITY_WRITE_ONCE(*c, *c + n);
}

/* ------------------------------------------------------------- armed ops */

/*
 * Claim @a with @res: true for the one caller that wins, which must then
 * get it completed (vanity_engine_complete). Any context.
 */
static inline bool vanity_armed_claim(struct vanity_armed *a, int res)
{
	if (VANITY_CMPXCHG(&a->state, VANITY_ARMED_LIVE,
			   VANITY_ARMED_CLAIMED) != VANITY_ARMED_LIVE)
		return false;
	a->res = res;
	return true;
}

/* Whether end @w has what it waits for (vanity_bell_ready). */
static inline bool vanity_armed_end_ready(const struct vanity_armed_end *w)
{
	u32 head = VANITY_LOAD_ACQUIRE(&w->hdr->head);
	u32 tail = VANITY_LOAD_ACQUIRE(&w->hdr->tail);

	return vanity_bell_ready(head, tail, w->slots, w->consumer);
}

/*
 * What a decide returns when another claimed the op after this caller
 * had taken a vector's events, which it gave back: outside the device's
 * wake (a deadline, the arming look), the platform must have the
 * device's other armed ops look again (irq_kick), or one of them could
 * sleep on events already there.
 */
#define VANITY_ARMED_GAVE_BACK	(-2)

/*
 * IRQ_WAIT's rule, at any event: -ENODEV after DOWN (or the device's
 * removal); else the lowest vector of the mask with pending events,
 * taking them (given back if another event claims the op first: no
 * interrupt is lost); else -ETIME if @expired; else nothing yet (1). 0
 * if this caller claimed it, -1 if another did, VANITY_ARMED_GAVE_BACK
 * if another did and events went back.
 */
static inline int vanity_armed_decide_irq(struct vanity_armed *a, bool dead,
					  bool expired)
{
	/* Acquire: pairs with the release that published the watch. */
	u32 *pending = VANITY_LOAD_ACQUIRE(&a->pending);
	u64 m = a->vmask;
	u32 v, got;

	if (VANITY_READ_ONCE(a->state) != VANITY_ARMED_LIVE)
		return -1;
	if (dead)
		return vanity_armed_claim(a, -ENODEV) ? 0 : -1;
	for (v = 0; pending && m; v++, m >>= 1) {
		if (!(m & 1) || !VANITY_READ_ONCE(pending[v]))
			continue;
		got = VANITY_XCHG(&pending[v], 0);
		if (!got)
			continue;
		if (vanity_armed_claim(a, (int)v))
			return 0;
		VANITY_ATOMIC_ADD32(&pending[v], got);
		return VANITY_ARMED_GAVE_BACK;
	}
	if (expired)
		return vanity_armed_claim(a, -ETIME) ? 0 : -1;
	return 1;
}

/*
 * The one rule for what an armed op completes with, at any event: -ENODEV
 * after DOWN; else the lowest bit of a ready channel (a WAIT whose channel
 * turned ready as time ran out still says so); else -ETIME if @expired;
 * else nothing yet (returns 1). Claims @a when it decides: returns 0 if
 * this caller won, -1 if another did.
 */
static inline int vanity_armed_decide(struct vanity_armed *a, bool dead,
				      bool expired)
{
	int res = VANITY_QUEUED;	/* undecided */
	unsigned int n, i;

	if (a->op == VANITY_OP_IRQ_WAIT)
		return vanity_armed_decide_irq(a, dead, expired);
	/* Acquire: pairs with the release that added each end while arming. */
	n = VANITY_LOAD_ACQUIRE(&a->n);
	if (dead)
		res = -ENODEV;
	/* The ends are in bit order: the first ready one is the lowest. */
	for (i = 0; res == VANITY_QUEUED && i < n; i++)
		if (vanity_armed_end_ready(&a->w[i]))
			res = a->w[i].bit;
	if (res == VANITY_QUEUED && expired)
		res = -ETIME;
	if (res == VANITY_QUEUED)
		return 1;
	return vanity_armed_claim(a, res) ? 0 : -1;
}

/* ------------------------------------------------------------ the CQ's owner */

/* Take the CQ if no one has it: the interrupt's way, which never waits. */
static inline bool vanity_cq_try_own(struct vanity_engine *e)
{
	return VANITY_CMPXCHG(&e->cq_owner, VANITY_CQ_FREE, VANITY_CQ_OWNED) ==
	       VANITY_CQ_FREE;
}

/*
 * Take the CQ, under the ring lock: whoever else has it is an interrupt
 * posting a CQE, which lets go in a few stores.
 */
static __always_inline void vanity_cq_own(struct vanity_engine *e)
{
	while (!vanity_cq_try_own(e))
		VANITY_CPU_RELAX();
}

/* Post what interrupts left on the posting stack; returns how many. */
unsigned int vanity_cq_post_pending(struct vanity_engine *e,
				    const struct vanity_ring_platform *plat);

/*
 * Let the CQ go, first posting what interrupts left meanwhile (one that
 * finds it owned leaves its op and marks it so; one that finds it free
 * takes it). Returns how many CQEs that posted: the caller wakes CQ
 * waiters if any.
 */
static __always_inline unsigned int
vanity_cq_unown(struct vanity_engine *e, const struct vanity_ring_platform *plat)
{
	unsigned int n = 0;

	while (VANITY_CMPXCHG(&e->cq_owner, VANITY_CQ_OWNED, VANITY_CQ_FREE) !=
	       VANITY_CQ_OWNED) {
		/* An interrupt left an op: ours to post before letting go. */
		VANITY_CMPXCHG(&e->cq_owner, VANITY_CQ_OWNED_POSTING,
			       VANITY_CQ_OWNED);
		n += vanity_cq_post_pending(e, plat);
	}
	return n;
}

/*
 * An interrupt of @a's device (or DOWN, @dead): decide @a; if this caller
 * claims it, post its CQE now, or leave it to the CQ's owner, who posts
 * it before letting the CQ go. Any context, the ring lock not held.
 * Returns true when it claimed @a: the platform then gets it completed
 * (vanity_engine_complete, under the ring lock), which frees it.
 */
bool vanity_engine_irq_event(struct vanity_engine *e,
			     const struct vanity_ring_platform *plat,
			     struct vanity_armed *a, bool dead);

/*
 * Post the CQE of @a, which this caller claimed, into the slot it held;
 * unlink, disarm and free it. Once detach has begun cancelling, post
 * nothing: no CQE of an attachment reaches the next. Under the ring lock;
 * wakes no one (the caller calls plat->wake_cq once it has completed what
 * it will).
 */
void vanity_engine_complete(struct vanity_engine *e,
			    const struct vanity_ring_platform *plat,
			    struct vanity_armed *a);

/*
 * Decide every armed op at @now (platforms without callbacks: each look
 * of the simulator's poller), completing those decided, oldest first.
 * *@next: the nearest deadline left, VANITY_NEVER for none. Returns how
 * many completed; the caller wakes CQ waiters if any.
 */
unsigned int vanity_engine_reap(struct vanity_engine *e,
				const struct vanity_ring_platform *plat,
				s64 now, s64 *next);

/*
 * Detach: from now until vanity_engine_reset, armed ops post nothing.
 * Take the oldest armed op off the list if this caller claims it
 * (nothing armed outlives the attachment); returns it,
 * for vanity_engine_discard once the lock is dropped. NULL with *@busy
 * when the oldest was claimed by someone else, whose completion must run
 * first; NULL without it when none is left. Under the ring lock.
 */
struct vanity_armed *vanity_engine_cancel_next(struct vanity_engine *e,
					       const struct vanity_ring_platform *plat,
					       bool *busy);

/* Disarm and free an op taken by vanity_engine_cancel_next. */
void vanity_engine_discard(struct vanity_engine *e,
			   const struct vanity_ring_platform *plat,
			   struct vanity_armed *a);

/* Issue WAIT / TIMEOUT / IRQ_WAIT (validated): a result now, or VANITY_QUEUED. */
int vanity_engine_wait(struct vanity_engine *e,
		       const struct vanity_ring_platform *plat,
		       const struct vanity_sqe *sqe);
int vanity_engine_irq_wait(struct vanity_engine *e,
			   const struct vanity_ring_platform *plat,
			   const struct vanity_sqe *sqe);
int vanity_engine_timeout(struct vanity_engine *e,
			  const struct vanity_ring_platform *plat,
			  const struct vanity_sqe *sqe);

/* ------------------------------------------------------------ the SQ */

/* SQEs the shard's tail publishes past our head (vanity_sq_tail_avail). */
static __always_inline u32 vanity_engine_tail_avail(const struct vanity_engine *e,
						    u32 head)
{
	/* Acquire: the shard's SQE stores before the tail that covers them. */
	return vanity_sq_tail_avail(VANITY_LOAD_ACQUIRE(e->sq_tail), head,
				    e->sq_entries);
}

/* Anything to consume: the next SQE's stamp, or the tail past our head. */
static __always_inline bool vanity_engine_sq_pending(const struct vanity_engine *e)
{
	u32 head = e->head;
	const u64 *src = &e->sqes[(head & (e->sq_entries - 1)) *
				  VANITY_SQE_WORDS];

	return vanity_sqe_stamped((const struct vanity_sqe *)src, head) ||
	       vanity_engine_tail_avail(e, head);
}

/*
 * Free CQEs after @cqt, less those armed ops hold, on the shard's head as
 * last read; re-read it (it may have corrupted it: that only costs it its
 * own CQEs) when that leaves less than @want.
 */
static __always_inline u32 vanity_engine_cq_room(struct vanity_engine *e,
						 u32 cqt, u32 want)
{
	u32 n = e->cq_entries, used, room = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass)
			e->cq_head_seen = VANITY_READ_ONCE(*e->cq_head);
		used = cqt - e->cq_head_seen;
		room = used >= n || e->reserved >= n - used ? 0 :
		       n - used - e->reserved;
		if (room >= want)
			break;
	}
	return room;
}

/* CQEs posted and not yet reaped, on our own tail. */
static inline u32 vanity_engine_cq_unseen(const struct vanity_engine *e)
{
	s32 n = (s32)(VANITY_READ_ONCE(e->cqt) - VANITY_READ_ONCE(*e->cq_head));

	return n > 0 ? (u32)n : 0;
}

/* Post one CQE at our own tail and publish it (completions of armed ops). */
static inline void vanity_engine_post(struct vanity_engine *e,
				      const struct vanity_ring_platform *plat,
				      u64 user_data, int res)
{
	u32 t = e->cqt;

	vanity_cqe_post(&e->cqes[(t & (e->cq_entries - 1)) * 2], t, user_data,
			res);
	VANITY_WRITE_ONCE(e->cqt, t + 1);
	/* Release: the CQE before the tail that posts it. */
	VANITY_STORE_RELEASE(e->cq_tail, t + 1);
	if (plat->trace_cqe)
		plat->trace_cqe(e, user_data, res);
}

/*
 * Issue one SQE that is not a plain NOP: one private copy of its words
 * (nothing read twice), validated by the op table, issued here. Returns
 * the result or VANITY_QUEUED, and in *@ud the user_data to echo. The
 * platform wraps it in one noinline function of its own, so the NOP
 * loop keeps its registers and the calls below are direct.
 */
static __always_inline int
vanity_engine_issue(struct vanity_engine *e,
		    const struct vanity_ring_platform *plat, const u64 *src,
		    bool poller, u64 *ud)
{
	union {
		struct vanity_sqe sqe;
		u64 w[VANITY_SQE_WORDS];
	} c;
	struct vanity_engine_chan *ch;
	unsigned int i;
	int res;

	for (i = 0; i < VANITY_SQE_WORDS; i++)
		c.w[i] = VANITY_READ_ONCE(src[i]);
	*ud = c.sqe.user_data;
	if (plat->trace_sqe)
		plat->trace_sqe(e, c.sqe.opcode, c.sqe.user_data);
	res = vanity_sqe_validate(&c.sqe, &e->ctx);
	if (res)
		return res;
	vanity_ctr_add(&e->ctr->ops[c.sqe.opcode], 1);
	switch (c.sqe.opcode) {
	case VANITY_OP_NOP:
		return 0;
	case VANITY_OP_NOTIFY:
		if (plat->dead(e))
			return -ENODEV;
		ch = plat->chan(e, c.sqe.channel);
		VANITY_ATOMIC_ADD64(&ch->notifies, 1);
		/* We produce on it: the peer is its consumer. */
		plat->ring(e, c.sqe.channel,
			   vanity_engine_produces(e, c.sqe.channel));
		return 0;
	case VANITY_OP_WAIT:
		return vanity_engine_wait(e, plat, &c.sqe);
	case VANITY_OP_YIELD:
		/*
		 * The shard gives up its CPU once, when ENTER is done and no
		 * lock is held; the poller is not the shard: nothing to do.
		 */
		if (!poller)
			e->yields++;
		return 0;
	case VANITY_OP_TIMEOUT:
		return vanity_engine_timeout(e, plat, &c.sqe);
	case VANITY_OP_IRQ_WAIT:
		return vanity_engine_irq_wait(e, plat, &c.sqe);
	}
	return -EINVAL;		/* unreached: validated */
}

/*
 * Whether the SQE at @head (@src), past the @avail the tail covered so
 * far, is to be taken; @avail grows when the tail is read (at most once,
 * @tail_read). The poller takes a run's first SQE by its stamp before it
 * reads the tail: that line may still be on its way from the shard, and
 * the first CQE need not wait for it. After that one SQE, the tail says
 * how many more there are, with no stamp to check on each. ENTER takes
 * only what the tail publishes.
 */
static __always_inline bool vanity_engine_take(struct vanity_engine *e,
					       const u64 *src, u32 head,
					       u32 left, u32 *avail,
					       bool *tail_read, u32 done,
					       bool poller)
{
	u32 more;

	if (!*tail_read && done) {
		*tail_read = true;
		more = vanity_engine_tail_avail(e, head);
		*avail = done + (more < left ? more : left);
		if (done < *avail)
			return true;
	}
	if (poller && vanity_sqe_stamped((const struct vanity_sqe *)src, head))
		return true;
	if (*tail_read)
		return false;
	*tail_read = true;
	more = vanity_engine_tail_avail(e, head);
	*avail = done + (more < left ? more : left);
	return done < *avail;
}

/*
 * Consume up to @max SQEs: those the tail covers, then (@poller, SQPOLL)
 * any whose stamp publishes them. Returns how many, or -EBUSY when the CQ
 * (unseen and reserved slots) is full before any. A plain NOP is eight
 * loads and a CQE's two stores; every other op goes through @issue, the
 * platform's noinline wrapper of vanity_engine_issue. CQEs and sq_head
 * are published once, at the batch's end; waking CQ waiters is the
 * caller's (plat->wake_cq), as is running e->yields. Under the ring lock,
 * owning the CQ for the batch; CQEs of interrupts that came meanwhile are
 * posted (and their waiters woken) as it lets go.
 */
static __always_inline int
vanity_engine_submit(struct vanity_engine *e,
		     const struct vanity_ring_platform *plat, u32 max,
		     bool poller,
		     int (*issue)(struct vanity_engine *e, const u64 *src,
				  bool poller, u64 *ud))
{
	u32 sq_mask = e->sq_entries - 1, cq_mask = e->cq_entries - 1;
	u32 head = e->head, cqt;
	bool tail_read = !poller;
	u32 avail = 0, done = 0, queued = 0, nops = 0, room, more;
	const u64 *sqes = e->sqes, *src;
	u64 *cqes = e->cqes;
	bool full = false;
	u64 ud;
	int res;

	/* A ring's worth at most, however a shard keeps stamping. */
	if (max > e->sq_entries)
		max = e->sq_entries;
	vanity_cq_own(e);
	cqt = e->cqt;
	if (tail_read) {
		more = vanity_engine_tail_avail(e, head);
		avail = more < max ? more : max;
	}
	room = vanity_engine_cq_room(e, cqt, avail ? avail : 1);
	while (done < max) {
		src = &sqes[(head & sq_mask) * VANITY_SQE_WORDS];
		if (done >= avail &&
		    !vanity_engine_take(e, src, head, max - done, &avail,
					&tail_read, done, poller))
			break;
		if (!room)
			room = vanity_engine_cq_room(e, cqt,
						     avail > done ? avail - done : 1);
		if (!room) {
			/*
			 * Each refused ENTER counts; the poller counts each
			 * episode, not every poll that finds the CQ still full
			 * (room found in this batch ended the last one).
			 */
			if (!poller || !e->cq_full || done) {
				vanity_ctr_add(&e->ctr->overflows, 1);
				/* Our count: the shard may write the word. */
				VANITY_WRITE_ONCE(*e->cq_overflow,
						  ++e->overflow_priv);
				e->cq_full = true;
			}
			full = true;
			break;
		}
		/* Each word read once; a plain NOP needs nothing more. */
		if (likely(vanity_sqe_plain_nop(src, &ud))) {
			if (plat->trace_sqe)
				plat->trace_sqe(e, VANITY_OP_NOP, ud);
			nops++;
			res = 0;
		} else {
			res = issue(e, src, poller, &ud);
		}
		head++;
		room--;
		done++;
		if (res == VANITY_QUEUED) {	/* its CQE slot is reserved */
			queued++;
			continue;
		}
		vanity_cqe_post(&cqes[(cqt & cq_mask) * 2], cqt, ud, res);
		if (plat->trace_cqe)
			plat->trace_cqe(e, ud, res);
		cqt++;
	}
	if (done) {
		e->cq_full = full;
		e->head = head;
		VANITY_WRITE_ONCE(e->cqt, cqt);
		/* Release: the CQEs before the tail that posts them. */
		VANITY_STORE_RELEASE(e->cq_tail, cqt);
		/* Release: our reads of the SQEs before their slots are reused. */
		VANITY_STORE_RELEASE(e->sq_head, head);
		vanity_ctr_add(&e->ctr->ops[VANITY_OP_NOP], nops);
		vanity_ctr_add(&e->ctr->submitted, done);
		vanity_ctr_add(&e->ctr->completed, done - queued);
	}
	/* CQEs interrupts left for us: their waiters wake now. */
	if (vanity_cq_unown(e, plat))
		plat->wake_cq(e);
	return done || !full ? (int)done : -EBUSY;
}

/* YIELDs the last batches issued, for the caller to run once; cleared. */
static inline u32 vanity_engine_take_yields(struct vanity_engine *e)
{
	u32 n = e->yields;

	e->yields = 0;
	return n;
}

/* ------------------------------------------------------------ SQPOLL */

/* The idle window of an SQPOLL attachment, in ns. */
static inline s64 vanity_sqpoll_idle_ns(u32 idle_us)
{
	return (s64)(idle_us ? idle_us : VANITY_SQPOLL_IDLE_US_DEFAULT) * 1000;
}

enum vanity_idle {
	VANITY_IDLE_BUSY,	/* work arrived: do not sleep */
	VANITY_IDLE_SLEEP,	/* sleep until ENTER wakes the poller */
	VANITY_IDLE_NAP,	/* the CQ is full: sleep VANITY_CQ_FULL_NAP_NS at most */
};

/*
 * A poller idle past its window: raise NEED_WAKEUP, fence, look once
 * more. The shard publishes its tail, fences and reads the flag: one of
 * the two sees the other, so no SQE is stranded. @cq_full: the last
 * submit found no CQ room (the shard frees room without a call, so the
 * poller naps and looks, rather than sleeping for good).
 */
static inline enum vanity_idle vanity_engine_idle_begin(struct vanity_engine *e,
							bool cq_full)
{
	VANITY_WRITE_ONCE(*e->sq_flags,
			  VANITY_READ_ONCE(*e->sq_flags) | VANITY_SQ_NEED_WAKEUP);
	/* Flag before the SQ check; the shard fences tail before flag. */
	VANITY_SMP_MB();
	if (cq_full)
		return vanity_engine_cq_room(e, e->cqt, 1) ? VANITY_IDLE_BUSY :
		       VANITY_IDLE_NAP;
	return vanity_engine_sq_pending(e) ? VANITY_IDLE_BUSY :
	       VANITY_IDLE_SLEEP;
}

/* Awake again: the flag comes down; @slept counts a wakeup. */
static inline void vanity_engine_idle_end(struct vanity_engine *e, bool slept)
{
	VANITY_WRITE_ONCE(*e->sq_flags,
			  VANITY_READ_ONCE(*e->sq_flags) & ~VANITY_SQ_NEED_WAKEUP);
	if (slept)
		vanity_ctr_add(&e->ctr->poller_wakeups, 1);
}

#endif /* VANITY_CORE_RING_ENGINE_H */
