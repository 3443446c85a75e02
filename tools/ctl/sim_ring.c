// SPDX-License-Identifier: GPL-2.0
/*
 * The simulator's submission rings: each attachment's ring memfd (the
 * module's layout, then the control page of lib/hosted.h) and the poller
 * thread that serves it. Each SQE is copied out once, checked by the
 * portable op table (kmod/core/opdef.c), issued from the issue table
 * below and answered with a CQE, as kmod/ring.c does. WAIT and TIMEOUT
 * complete later, as kmod/ring_async.c's do: one that cannot complete at
 * once is armed on the poller's list with its CQE slot reserved, the
 * ring goes on, and the poller posts its CQE (out of submission order)
 * when a channel turns ready or the deadline passes; its sleeps watch
 * the armed WAITs' channel words and the nearest deadline. Every word the
 * shard can write is read as hostile: indices are masked, counts
 * clipped, and every sleep also watches a private stop word, so no value
 * in the ring can crash, stall or outlive the simulator's hold on it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

#include <vanity/arch.h>

#include "sim_ring.h"
#include "opdef.h"
#include "deadline.h"
#include "bell.h"
#include "hosted.h"

#define SQPOLL_IDLE_US_DEFAULT 1000	/* as the module's */
/* ENTER mode: how long the poller looks for the next request awake. */
#define ENTER_SPIN_NS 20000
/* A full CQ under SQPOLL: how often a sleeping poller looks for room. */
#define CQ_FULL_NAP_NS 1000000
/* Sleeps without futex_waitv or membarrier: look again this often. */
#define FALLBACK_NAP_NS 1000000
/* What an op's issue returns when its CQE comes later (slot reserved). */
#define QUEUED INT_MIN
/* Words one sleep watches besides the stop word (futex_waitv's limit). */
#define SLEEP_WORDS (FUTEX_WAITV_MAX - 1)

/* An armed WAIT's hold on one channel end. */
struct armed_chan {
	uint16_t chan;			/* index in r->chans (< VANITY_MAX_CHANNELS) */
	uint8_t bit;			/* its offset in the SQE's mask */
	bool consumer;			/* our end: data (to) or room (from) */
};

/*
 * An armed WAIT or TIMEOUT: the poller's own memory, never shared. At
 * most cq_entries per ring, as each holds a CQE slot.
 */
struct armed_op {
	struct armed_op *next;		/* oldest first */
	uint64_t user_data;
	int64_t deadline;		/* CLOCK_MONOTONIC ns; < 0: none */
	bool strong;			/* the peers' barrier ran: futexes suffice */
	unsigned int n;			/* WAIT: channel ends held; TIMEOUT: 0 */
	struct armed_chan w[];
};

#define ARMED_SIZE(n) (offsetof(struct armed_op, w) + \
		       (n) * sizeof(struct armed_chan))

/* Armed ops alive in every ring of the process. */
static uint64_t armed_live;

struct vanity_sim_ring {
	/* set at start, then read-only */
	uint8_t *mem;
	size_t size;			/* ring + control page */
	struct vanity_ring_offsets off;
	uint32_t *sq_head, *sq_tail, *sq_flags;
	uint32_t *cq_head, *cq_tail, *cq_overflow;
	struct vanity_sqe *sqes;
	struct vanity_cqe *cqes;
	struct vh_ring_ctl *ctl;
	struct vanity_op_ctx ctx;	/* what validation knows of the shard */
	struct vanity_sim_chan *chans;
	struct vanity_sim_ring_ctr *ctr;
	unsigned int shard;
	bool sqpoll;
	int64_t idle_ns;
	pthread_t thread;
	/* the poller's own: never read back from shared memory */
	uint32_t head;			/* SQEs consumed */
	uint32_t cqt;			/* CQEs posted */
	bool cq_full;			/* in an overflow episode (SQPOLL) */
	uint32_t overflow_priv;		/* what *cq_overflow says; never read back */
	struct armed_op *armed;		/* armed WAITs and TIMEOUTs, oldest first */
	struct armed_op **armed_end;	/* where the next one is linked */
	uint32_t reserved;		/* CQE slots they hold */
	struct armed_op *scratch;	/* a WAIT being issued: 64 channel ends */
	/* private futex: 1 when the poller must leave */
	uint32_t stop;
};

/* ------------------------------------------------------------ helpers */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * @ns from now, by the core's rule (saturated: a shard's timeout cannot
 * wrap the clock), in this file's terms: < 0 for VANITY_NEVER, no deadline.
 */
static int64_t deadline_after(int64_t ns)
{
	int64_t d = vanity_deadline_after(now_ns(), ns);

	return d == VANITY_NEVER ? -1 : d;
}

static uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Counters: one writer (this shard's poller), relaxed readers (status). */
static void ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static void wake_shared(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static bool stopping(const struct vanity_sim_ring *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

/* Whether the global expedited membarrier works here (learnt at first use). */
static int barrier_state = 1;	/* 1 unknown, 0 works, -1 does not */

/*
 * The module's barrier IPI to the peers' CPUs: every registered process
 * (each hosted shard registers at attach) runs a full barrier, so a
 * peer's fence-free publish is visible to us or it sees our flag.
 */
static bool peers_barrier(void)
{
	int st = __atomic_load_n(&barrier_state, __ATOMIC_RELAXED);

	if (st < 0)
		return false;
	if (!syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)) {
		if (st)
			__atomic_store_n(&barrier_state, 0, __ATOMIC_RELAXED);
		return true;
	}
	__atomic_store_n(&barrier_state, -1, __ATOMIC_RELAXED);
	return false;
}

/* 1 unknown, 0 futex_waitv works, -1 it does not (old kernel, valgrind). */
static int waitv_state = 1;

static bool waitv_usable(void)
{
	int st = __atomic_load_n(&waitv_state, __ATOMIC_RELAXED);

	if (st == 1) {
#ifdef RUNNING_ON_VALGRIND
		/* Valgrind does not know the call and says so at every use. */
		st = RUNNING_ON_VALGRIND ? -1 : 0;
#else
		st = 0;
#endif
		__atomic_store_n(&waitv_state, st, __ATOMIC_RELAXED);
	}
	return !st;
}

/*
 * Sleep until one of @n (<= SLEEP_WORDS) shared words leaves its value
 * in @vals, the deadline @deadline (CLOCK_MONOTONIC ns; < 0: none)
 * passes or the poller must stop. Returns 0 (look again: wakeups may be
 * spurious), -ETIME or -EINTR. Callers re-check their condition after
 * every return.
 */
static int sleep_on(struct vanity_sim_ring *r, uint32_t *const *words,
		    const uint32_t *vals, unsigned int n, int64_t deadline)
{
	struct futex_waitv w[FUTEX_WAITV_MAX];
	struct timespec ts;
	unsigned int k = 0, i;
	int64_t t;

	if (stopping(r))
		return -EINTR;
	memset(w, 0, sizeof(w[0]));
	w[k].uaddr = (uintptr_t)&r->stop;
	w[k++].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
	for (i = 0; i < n && k < FUTEX_WAITV_MAX; i++, k++) {
		w[k].val = vals[i];
		w[k].uaddr = (uintptr_t)words[i];
		w[k].flags = FUTEX_32;
		w[k].__reserved = 0;
	}
	if (deadline >= 0) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
	}
	if (waitv_usable()) {
		if (syscall(SYS_futex_waitv, w, k, 0, deadline >= 0 ? &ts : NULL,
			    CLOCK_MONOTONIC) >= 0 || errno == EAGAIN ||
		    errno == EINTR)
			return 0;
		if (errno == ETIMEDOUT)
			return -ETIME;
		if (errno == ENOSYS)
			__atomic_store_n(&waitv_state, -1, __ATOMIC_RELAXED);
	}
	/* No futex_waitv (older kernel, qemu-user, valgrind): a short nap. */
	t = now_ns();
	if (deadline >= 0 && t >= deadline)
		return -ETIME;
	ts.tv_sec = 0;
	ts.tv_nsec = deadline >= 0 && deadline - t < FALLBACK_NAP_NS ?
		     deadline - t : FALLBACK_NAP_NS;
	syscall(SYS_futex, &r->stop, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	return 0;
}

/* The earlier of @deadline (< 0: none) and one fallback nap from now. */
static int64_t nap_until(int64_t deadline)
{
	int64_t nap = deadline_after(FALLBACK_NAP_NS);

	return deadline >= 0 && deadline < nap ? deadline : nap;
}

/* ----------------------------------------------------------------- ops */

static int op_nop(const struct vanity_sqe *sqe, struct vanity_sim_ring *r)
{
	(void)sqe;
	(void)r;
	return 0;
}

/* The word the other end of @c sleeps on: head for a consumer, tail else. */
static uint32_t *peer_word(struct vanity_sim_chan *c, unsigned int me)
{
	/* We produce: the peer consumes and sleeps on its word, head. */
	return vanity_bell_word(c->hdr, c->from == me);
}

static int op_notify(const struct vanity_sqe *sqe, struct vanity_sim_ring *r)
{
	struct vanity_sim_chan *c = &r->chans[sqe->channel];

	__atomic_fetch_add(&c->notifies, 1, __ATOMIC_RELAXED);
	/* Every sleeper on it: the peer's thread and any WAIT of its poller. */
	wake_shared(peer_word(c, r->shard), INT_MAX);
	return 0;
}

/* Whether @c is ready for us: data to read (consumer) or room to write. */
static bool chan_ready(const struct vanity_sim_chan *c, bool consumer)
{
	uint32_t head = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	uint32_t tail = __atomic_load_n(&c->hdr->tail, __ATOMIC_ACQUIRE);

	return vanity_bell_ready(head, tail, c->slots, consumer);
}

/* ------------------------------------------------------- armed ops */

static uint32_t *waiting_flag(struct vanity_sim_chan *c, bool consumer)
{
	return vanity_bell_flag(c->hdr, consumer);
}

/* The index the peer moves for us (vanity_bell_word). */
static uint32_t *moved_word(struct vanity_sim_chan *c, bool consumer)
{
	return vanity_bell_word(c->hdr, consumer);
}

/* Raise our end's waiting flag, counted: the peers' fast paths ring. */
static void hold(struct vanity_sim_ring *r, const struct armed_chan *w)
{
	struct vanity_sim_chan *c = &r->chans[w->chan];

	__atomic_fetch_add(&c->ring_waits[w->consumer], 1, __ATOMIC_RELAXED);
	vanity_bell_raise(waiting_flag(c, w->consumer), VANITY_WAITING_RING);
}

/* Release every hold of @a; the last armed wait of an end lowers its flag. */
static void disarm(struct vanity_sim_ring *r, struct armed_op *a)
{
	struct vanity_sim_chan *c;
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		c = &r->chans[a->w[i].chan];
		if (!__atomic_sub_fetch(&c->ring_waits[a->w[i].consumer], 1,
					__ATOMIC_RELAXED))
			vanity_bell_lower(waiting_flag(c, a->w[i].consumer),
					  VANITY_WAITING_RING);
	}
	a->n = 0;
}

/* A ready channel's bit in the mask, or -1. */
static int first_ready(const struct vanity_sim_ring *r,
		       const struct armed_op *a)
{
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (chan_ready(&r->chans[a->w[i].chan], a->w[i].consumer))
			return a->w[i].bit;
	return -1;
}

/* Post one CQE at our own tail (the shard's words are never trusted). */
static void post(struct vanity_sim_ring *r, uint64_t user_data, int res)
{
	/* Release (in it): a WAIT's lowered flags before the stamp. */
	vanity_cqe_post((u64 *)&r->cqes[r->cqt & (r->off.cq_entries - 1)],
			r->cqt, user_data, res);
	/* Release: the CQE before the tail. */
	__atomic_store_n(r->cq_tail, ++r->cqt, __ATOMIC_RELEASE);
}

/* Put @a on the armed list; its CQE slot stays reserved until it posts. */
static int arm(struct vanity_sim_ring *r, struct armed_op *a)
{
	a->next = NULL;
	*r->armed_end = a;
	r->armed_end = &a->next;
	r->reserved++;
	__atomic_fetch_add(&armed_live, 1, __ATOMIC_RELAXED);
	return QUEUED;
}

/* Unlink the op at *@pp and free it; its slot is no longer reserved. */
static void unlink_armed(struct vanity_sim_ring *r, struct armed_op **pp)
{
	struct armed_op *a = *pp;

	*pp = a->next;
	if (r->armed_end == &a->next)
		r->armed_end = pp;
	r->reserved--;
	disarm(r, a);
	free(a);
	__atomic_fetch_sub(&armed_live, 1, __ATOMIC_RELAXED);
}

/* Wake a shard sleeping for CQEs (ENTER with GETEVENTS). */
static void wake_cq(struct vanity_sim_ring *r)
{
	/* Our cq_tail before its flag; pairs with the shard's fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->ctl->cq_waiting, __ATOMIC_RELAXED))
		wake_shared(r->cq_tail, INT_MAX);
}

/*
 * Complete every armed op whose channel is ready (its bit) or whose
 * deadline passed (a ready bit if one turned ready, else -ETIME), oldest
 * first, into the slots they reserved. *@next (if given): the nearest
 * deadline of those left, < 0 for none. Returns how many posted.
 */
static unsigned int armed_reap(struct vanity_sim_ring *r, int64_t *next)
{
	int64_t t = -1, near = -1;
	struct armed_op **pp = &r->armed, *a;
	unsigned int posted = 0;
	uint64_t ud;
	int res;

	while ((a = *pp)) {
		res = first_ready(r, a);
		if (res < 0 && a->deadline >= 0) {
			if (t < 0)
				t = now_ns();
			if (t >= a->deadline)
				res = -ETIME;
		}
		if (res == -1) {
			if (a->deadline >= 0 && (near < 0 || a->deadline < near))
				near = a->deadline;
			pp = &a->next;
			continue;
		}
		/*
		 * Flags down and the op gone before the CQE that says the
		 * WAIT is over: whoever reaps it sees nothing of it left.
		 */
		ud = a->user_data;
		unlink_armed(r, pp);
		post(r, ud, res);
		posted++;
	}
	if (posted) {
		ctr_add(&r->ctr->completed, posted);
		wake_cq(r);
	}
	if (next)
		*next = near;
	return posted;
}

/* Detach, stop: every armed op goes, flags down, no CQE posted. */
static void armed_cancel_all(struct vanity_sim_ring *r)
{
	while (r->armed)
		unlink_armed(r, &r->armed);
}

/*
 * The poller's sleep: until *@word leaves @val, the poller must stop,
 * @deadline (< 0: none) or the nearest armed deadline passes, or a
 * channel an armed WAIT holds moves; then complete what is ready or
 * expired. The channel words' values are read before the armed ops are
 * looked at, so a peer's move after that look fails the futex compare
 * instead of being missed. Beyond futex_waitv's limit, or for a WAIT
 * armed without the peers' barrier, short naps instead.
 */
static void sleep_armed(struct vanity_sim_ring *r, uint32_t *word,
			uint32_t val, int64_t deadline)
{
	uint64_t seen[VANITY_MAX_CHANNELS * 2 / 64] = { 0 };
	uint32_t *words[SLEEP_WORDS], vals[SLEEP_WORDS];
	struct vanity_sim_chan *c;
	unsigned int n = 0, i, k;
	struct armed_op *a;
	bool nap = false;
	int64_t near;

	words[n] = word;
	vals[n++] = val;
	for (a = r->armed; a && !nap; a = a->next) {
		nap = !a->strong;
		for (i = 0; i < a->n && !nap; i++) {
			k = a->w[i].chan * 2u + a->w[i].consumer;
			if ((seen[k / 64] >> (k % 64)) & 1)
				continue;
			if (n == SLEEP_WORDS) {
				nap = true;
				break;
			}
			seen[k / 64] |= 1ULL << (k % 64);
			c = &r->chans[a->w[i].chan];
			words[n] = moved_word(c, a->w[i].consumer);
			vals[n] = ld(words[n]);
			n++;
		}
	}
	if (armed_reap(r, &near))
		return;
	if (near >= 0 && (deadline < 0 || near < deadline))
		deadline = near;
	if (nap)
		deadline = nap_until(deadline);
	if (sleep_on(r, words, vals, n, deadline) != -EINTR)
		armed_reap(r, NULL);
}

/* ------------------------------------------- WAIT, YIELD, TIMEOUT */

/*
 * WAIT: level-triggered over the channels of @mask, as the module's.
 * Raise our waiting flag in each header (so the peers' fast paths ring),
 * make it and the peers' stores mutually visible, look once: a ready
 * channel's bit, or -ETIME for a poll (timeout 0), completes now; else
 * the op is armed with the deadline fixed here and completes from the
 * poller's sleeps (sleep_armed, armed_reap).
 */
static int op_wait(const struct vanity_sqe *sqe, struct vanity_sim_ring *r)
{
	int64_t deadline = sqe->timeout_ns < 0 ? -1 :
			   deadline_after(sqe->timeout_ns);
	struct armed_op *a = r->scratch, *q;
	unsigned int i;
	int bit;

	a->n = 0;
	for (i = 0; i < 64; i++) {
		if (!((sqe->mask >> i) & 1))
			continue;
		/* Validated: the channel exists and this shard is an end. */
		a->w[a->n].chan = (uint16_t)(sqe->channel + i);
		a->w[a->n].bit = (uint8_t)i;
		a->w[a->n].consumer = r->chans[sqe->channel + i].to == r->shard;
		hold(r, &a->w[a->n]);
		a->n++;
	}
	/* Our flags before the peers' barrier; their stores before our look. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	a->strong = peers_barrier();
	bit = first_ready(r, a);
	if (bit >= 0 || !sqe->timeout_ns) {
		disarm(r, a);
		return bit >= 0 ? bit : -ETIME;
	}
	q = malloc(ARMED_SIZE(a->n));
	if (!q) {
		disarm(r, a);
		return -ENOMEM;
	}
	memcpy(q, a, ARMED_SIZE(a->n));
	q->user_data = sqe->user_data;
	q->deadline = deadline;
	return arm(r, q);
}

static int op_yield(const struct vanity_sqe *sqe, struct vanity_sim_ring *r)
{
	/* The poller is not the shard: nothing to give up, as the module's. */
	(void)sqe;
	(void)r;
	return 0;
}

/* TIMEOUT: -ETIME after @timeout_ns (0: at once), armed meanwhile. */
static int op_timeout(const struct vanity_sqe *sqe, struct vanity_sim_ring *r)
{
	struct armed_op *a;

	if (!sqe->timeout_ns)
		return -ETIME;
	a = malloc(ARMED_SIZE(0));
	if (!a)
		return -ENOMEM;
	a->user_data = sqe->user_data;
	a->deadline = deadline_after(sqe->timeout_ns);
	a->strong = true;
	a->n = 0;
	return arm(r, a);
}

/* The issue half of the op table; validation lives in core/opdef.c. */
static int (*const issue_table[])(const struct vanity_sqe *sqe,
				  struct vanity_sim_ring *r) = {
	[VANITY_OP_NOP] = op_nop,
	[VANITY_OP_NOTIFY] = op_notify,
	[VANITY_OP_WAIT] = op_wait,
	[VANITY_OP_YIELD] = op_yield,
	[VANITY_OP_TIMEOUT] = op_timeout,
};
_Static_assert(sizeof(issue_table) / sizeof(issue_table[0]) == VANITY_OP_LAST,
	       "issue_table: one entry per opcode");

int vanity_sim_ring_ops_check(void)
{
	unsigned int i;

	if (vanity_opdefs_check())
		return -EINVAL;
	for (i = 0; i < VANITY_OP_LAST; i++)
		if (!issue_table[i])
			return -EINVAL;
	return 0;
}

/* ---------------------------------------------------------------- ring */

/*
 * Free CQEs: cq_entries less those unseen (re-reading the shard's head,
 * which it may have corrupted) less those armed ops hold.
 */
static uint32_t cq_room(const struct vanity_sim_ring *r)
{
	uint32_t cqn = r->off.cq_entries, used = r->cqt - ld(r->cq_head);

	if (used >= cqn || r->reserved >= cqn - used)
		return 0;
	return cqn - used - r->reserved;
}

/* SQEs the shard's tail publishes past our head (vanity_sq_tail_avail). */
static uint32_t sq_tail_avail(const struct vanity_sim_ring *r)
{
	/* Acquire: the SQEs before the tail that covers them. */
	return vanity_sq_tail_avail(ld(r->sq_tail), r->head, r->off.sq_entries);
}

/* Anything to consume: the tail moved past our head, or its SQE's stamp. */
static bool sq_pending(const struct vanity_sim_ring *r)
{
	return sq_tail_avail(r) ||
	       vanity_sqe_stamped(&r->sqes[r->head & (r->off.sq_entries - 1)],
				  r->head);
}

/*
 * Consume up to @max SQEs, those the tail covers and then (SQPOLL) any
 * whose stamp publishes them: how many, or -EBUSY when the CQ (unseen and reserved
 * slots) is full before any. @episodes: count an overflow once per
 * full-CQ episode (SQPOLL), not once per refusal (ENTER).
 */
static int ring_submit(struct vanity_sim_ring *r, uint32_t max, bool episodes)
{
	uint32_t sqn = r->off.sq_entries;
	uint32_t avail = sq_tail_avail(r), done = 0, queued = 0;
	uint32_t room = cq_room(r);
	const struct vanity_sqe *src;
	struct vanity_sqe sqe;
	bool full = false;
	u64 ud;
	int res;

	/* A ring's worth at most, however the shard keeps stamping. */
	if (max > sqn)
		max = sqn;
	if (avail > max)
		avail = max;
	while (done < max) {
		src = &r->sqes[r->head & (sqn - 1)];
		/* Past the tail, a stamp publishes an SQE to the poller. */
		if (done >= avail &&
		    !(r->sqpoll && vanity_sqe_stamped(src, r->head)))
			break;
		if (!room)
			room = cq_room(r);
		if (!room) {
			if (!episodes || !r->cq_full) {
				ctr_add(&r->ctr->overflows, 1);
				/* Our count: the shard may write the word. */
				__atomic_store_n(r->cq_overflow, ++r->overflow_priv,
						 __ATOMIC_RELAXED);
				r->cq_full = true;
			}
			full = true;
			break;
		}
		r->cq_full = false;
		if (vanity_sqe_plain_nop((const u64 *)src, &ud)) {
			/* The module's fast test: nothing more to check. */
			ctr_add(&r->ctr->ops[VANITY_OP_NOP], 1);
			res = 0;
		} else {
			/* One read for the copy; everything after uses it. */
			memcpy(&sqe, src, sizeof(sqe));
			ud = sqe.user_data;
			res = vanity_sqe_validate(&sqe, &r->ctx);
			if (!res) {
				ctr_add(&r->ctr->ops[sqe.opcode], 1);
				res = issue_table[sqe.opcode](&sqe, r);
			}
		}
		room--;
		done++;
		if (res == QUEUED)
			queued++;	/* its CQE slot is reserved */
		else
			post(r, ud, res);
		/* Release: our read of the SQE before its slot is reused. */
		__atomic_store_n(r->sq_head, ++r->head, __ATOMIC_RELEASE);
	}
	if (done) {
		ctr_add(&r->ctr->submitted, done);
		ctr_add(&r->ctr->completed, done - queued);
		wake_cq(r);
	}
	return done || !full ? (int)done : -EBUSY;
}

/* ENTER mode: serve each request the shard numbers in req_seq. */
static void enter_loop(struct vanity_sim_ring *r)
{
	struct vh_ring_ctl *c = r->ctl;
	uint32_t last = 0, seq, n;
	int64_t spin_end = now_ns() + ENTER_SPIN_NS;
	unsigned int i = 0;
	int res;

	while (!stopping(r)) {
		/* Acquire: the request's fields after its number. */
		seq = ld(&c->req_seq);
		if (seq == last) {
			if (r->armed)
				armed_reap(r, NULL);
			/* Awake a while: back-to-back ENTERs need no futex. */
			if (++i % 64 || now_ns() < spin_end) {
				vanity_cpu_relax();
				continue;
			}
			__atomic_store_n(&c->poller_sleeping, 1, __ATOMIC_RELAXED);
			/* Our flag before our look; pairs with the shard's fence. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			seq = ld(&c->req_seq);
			if (seq == last)
				sleep_armed(r, &c->req_seq, seq, -1);
			__atomic_store_n(&c->poller_sleeping, 0, __ATOMIC_RELAXED);
			continue;
		}
		last = seq;
		n = __atomic_load_n(&c->req_to_submit, __ATOMIC_RELAXED);
		res = n ? ring_submit(r, n, false) : 0;
		__atomic_store_n(&c->done_res, res, __ATOMIC_RELAXED);
		/* Release: the CQEs and the result before the answer's number. */
		__atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->done_waiting, __ATOMIC_RELAXED))
			wake_shared(&c->done_seq, INT_MAX);
		spin_end = now_ns() + ENTER_SPIN_NS;
		i = 0;
	}
}

static void set_need_wakeup(struct vanity_sim_ring *r, bool on)
{
	uint32_t f = __atomic_load_n(r->sq_flags, __ATOMIC_RELAXED);

	__atomic_store_n(r->sq_flags, on ? f | VANITY_SQ_NEED_WAKEUP :
			 f & ~VANITY_SQ_NEED_WAKEUP, __ATOMIC_RELAXED);
}

/*
 * SQPOLL: consume without ENTER; after idle_ns without work raise
 * NEED_WAKEUP, fence, look at the SQ once more and sleep until ENTER
 * bumps kick. The shard publishes its tail, fences and reads the flag:
 * one of the two sees the other, so no SQE is stranded, and each is
 * consumed once because only this thread moves head. Armed ops complete
 * between polls and from the sleeps, which never end for them alone.
 */
static void sqpoll_loop(struct vanity_sim_ring *r)
{
	struct vh_ring_ctl *c = r->ctl;
	int64_t last = now_ns();
	unsigned int idle = 0;
	uint32_t k;
	bool slept;
	int n;

	while (!stopping(r)) {
		n = ring_submit(r, r->off.sq_entries, true);
		if (r->armed)
			armed_reap(r, NULL);
		if (n > 0) {
			last = now_ns();
			idle = 0;
			continue;
		}
		/* n < 0: the CQ is full; nothing to do until the shard reaps. */
		if (now_ns() - last < r->idle_ns) {
			/* Spinning, but never hogging a CPU from the shards. */
			if (++idle % 256 == 0)
				sched_yield();
			else
				vanity_cpu_relax();
			continue;
		}
		k = __atomic_load_n(&c->kick, __ATOMIC_ACQUIRE);
		set_need_wakeup(r, true);
		/* Flag before the SQ check; the shard fences tail before flag. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		slept = false;
		if (n < 0) {
			/* Reaping makes no call: look for room every nap too. */
			while (!stopping(r) && ld(&c->kick) == k && !cq_room(r)) {
				sleep_armed(r, &c->kick, k,
					    deadline_after(CQ_FULL_NAP_NS));
				slept = true;
			}
		} else if (!sq_pending(r)) {
			while (!stopping(r) && ld(&c->kick) == k) {
				sleep_armed(r, &c->kick, k, -1);
				slept = true;
			}
		}
		if (slept)
			ctr_add(&r->ctr->poller_wakeups, 1);
		set_need_wakeup(r, false);
		last = now_ns();
		idle = 0;
	}
}

static void *poller(void *arg)
{
	struct vanity_sim_ring *r = arg;

	if (r->sqpoll)
		sqpoll_loop(r);
	else
		enter_loop(r);
	return NULL;
}

/* A memfd the shard cannot shrink under our mapping (SIGBUS otherwise). */
static int sealed_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), ret;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int vanity_sim_ring_start(struct vanity_sim_ring **out, int *fd,
			  struct vanity_ring_offsets *off, unsigned int shard,
			  const char *name, uint32_t entries, uint32_t flags,
			  uint32_t idle_us, struct vanity_sim_chan *chans,
			  unsigned int nchans, struct vanity_sim_ring_ctr *ctr)
{
	struct vanity_sim_ring *r;
	sigset_t all, old;
	char comm[16];
	unsigned int i;
	uint8_t *p;
	int ret;

	if (flags & ~VANITY_ATTACH_SQPOLL || !entries ||
	    entries & (entries - 1) || entries > VANITY_RING_ENTRIES_MAX ||
	    nchans > VANITY_MAX_CHANNELS)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->scratch = malloc(ARMED_SIZE(64));
	if (!r->scratch) {
		free(r);
		return -ENOMEM;
	}
	r->armed_end = &r->armed;
	r->size = vanity_ring_layout(entries, &r->off) + VH_CTL_SIZE;
	*fd = sealed_memfd("vanity-ring", r->size);
	if (*fd < 0) {
		ret = *fd;
		free(r->scratch);
		free(r);
		return ret;
	}
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_fd;
	}
	r->mem = p;
	r->sq_head = (uint32_t *)(p + r->off.sq_head);
	r->sq_tail = (uint32_t *)(p + r->off.sq_tail);
	r->sq_flags = (uint32_t *)(p + r->off.sq_flags);
	r->cq_head = (uint32_t *)(p + r->off.cq_head);
	r->cq_tail = (uint32_t *)(p + r->off.cq_tail);
	r->cq_overflow = (uint32_t *)(p + r->off.cq_overflow);
	r->sqes = (struct vanity_sqe *)(p + r->off.sqes);
	r->cqes = (struct vanity_cqe *)(p + r->off.cqes);
	r->ctl = (struct vh_ring_ctl *)(p + r->off.size);
	r->ctx.nchannels = nchans;
	for (i = 0; i < nchans; i++)
		if (chans[i].from == shard || chans[i].to == shard)
			r->ctx.endpoint[i / 64] |= 1ULL << (i % 64);
	r->chans = chans;
	r->ctr = ctr;
	r->shard = shard;
	r->sqpoll = flags & VANITY_ATTACH_SQPOLL;
	r->idle_ns = (int64_t)(idle_us ? idle_us : SQPOLL_IDLE_US_DEFAULT) * 1000;
	/* Signals are the main thread's: block them all in the poller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&r->thread, NULL, poller, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err_map;
	snprintf(comm, sizeof(comm), "vsq/%s", name);
	pthread_setname_np(r->thread, comm);
	*off = r->off;
	*out = r;
	return 0;
err_map:
	munmap(r->mem, r->size);
err_fd:
	close(*fd);
	*fd = -1;
	free(r->scratch);
	free(r);
	return ret;
}

void vanity_sim_ring_stop(struct vanity_sim_ring *r)
{
	if (!r)
		return;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &r->stop, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	pthread_join(r->thread, NULL);
	/* Nothing armed outlives the attachment that submitted it. */
	armed_cancel_all(r);
	/* A shard still waiting in ENTER gets -ENODEV, not a hang. */
	__atomic_store_n(&r->ctl->dead, 1, __ATOMIC_RELEASE);
	wake_shared(&r->ctl->done_seq, INT_MAX);
	wake_shared(r->cq_tail, INT_MAX);
	munmap(r->mem, r->size);
	free(r->scratch);
	free(r);
}

bool vanity_sim_ring_sqpoll(const struct vanity_sim_ring *r)
{
	return r && r->sqpoll;
}

uint64_t vanity_sim_ring_armed_live(void)
{
	return __atomic_load_n(&armed_live, __ATOMIC_RELAXED);
}
