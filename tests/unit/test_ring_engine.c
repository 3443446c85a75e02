// SPDX-License-Identifier: GPL-2.0
/*
 * The ring engine (kmod/core/ring_engine.{h,c}) alone, on a fake clock and
 * a scripted platform: deterministic, one thread, no simulator. It owns the
 * engine's rules at their edges: deadlines (0, 1 ns, none, the clock's
 * end), CQ overflow and recovery and the slots armed ops hold, stamps over
 * laps and across the 32-bit wrap, claim/cancel/complete races played out
 * in order, WAIT's flags, bits and errors, NOTIFY, YIELD, malformed SQEs,
 * SQPOLL's idle decision, the counters and hostile shard words; and
 * IRQ_WAIT, with interrupts played out in order against the CQ's owner.
 *
 * The image: shards 0 (the ring's), 1, 2; channels 0 "out" 0 -> 1 (ours
 * to produce), 1 "in" 1 -> 0 (ours to consume), 2 "foreign" 1 -> 2 (not
 * ours), 3 "out2" 0 -> 2 (ours to produce, another peer); devices 0
 * "nic" (ours, NVEC vectors), 1 "disk" (shard 1's), 2 "quiet" (ours, no
 * vectors).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ring_engine.h"

#define SHARD		0
#define CH_OUT		0
#define CH_IN		1
#define CH_FOREIGN	2
#define CH_OUT2		3
#define NCH		4
#define DEV_NIC		0
#define DEV_DISK	1
#define DEV_QUIET	2
#define NDEV		3
#define NVEC		4
#define SLOTS		16
#define SQ		8
#define CQ		(2 * SQ)
#define T0		1000	/* the fake clock's start */

/* ------------------------------------------------------------ the platform */

/* What the scripted platform does and what it saw. */
struct fake {
	s64 now;
	bool dead;
	struct vanity_engine_chan chans[NCH];
	struct vanity_chan_hdr hdrs[NCH];	/* the test is every peer */
	/* ring() */
	unsigned int nrings;
	u32 ring_ch[32];
	bool ring_peer_consumer[32];
	/* alloc() and free() */
	bool fail_alloc;
	struct vanity_armed *live[32];
	unsigned int nlive, allocs, frees, bad_frees;
	/* watch() and unwatch() */
	int watch_fail_ch;			/* -1: none fails */
	unsigned int watches, unwatches;
	int watched[NCH];			/* watches not undone */
	struct vanity_armed *last_watched;
	/* peer_barrier() */
	bool barrier_ret;
	unsigned int nbarriers;
	u32 barrier_peer[32];
	bool claim_in_barrier;			/* a doorbell races the arm */
	int claim_res;
	bool claim_won;
	/* timers */
	unsigned int timer_starts, timer_cancels, bad_timers;
	int timers_running;
	s64 timer_deadline;			/* the last one started */
	unsigned int wake_cq;
	/* the traced platform: shared words as each SQE was issued */
	unsigned int ntraced, ncqes_traced;
	bool stamp_ahead;			/* a shard stamping as it goes */
	u32 traced_sq_head[32], traced_cq_tail[32];
	u64 traced_cqe_ud[32];
	/* irq_vectors(), irq_watch(), irq_unwatch(), and the devices */
	u32 nvec[NDEV];
	u32 pending[NDEV][64];
	bool irq_watch_fail;
	bool irq_in_watch;			/* an interrupt races the arm */
	unsigned int irq_watches, irq_unwatches, irq_kicks;
	unsigned int irq_at_trace;		/* fire on the Nth traced SQE */
	int irq_owner_seen;			/* the CQ's owner right after */
	struct vanity_armed *irq_watched[8];	/* watched, not undone */
	unsigned int nirq_watched;
	struct vanity_armed *irq_claimed[8];	/* for complete, as the work */
	unsigned int nirq_claimed;
};

static struct fake F;
static struct vanity_engine E;
static struct vanity_ring_ctr ctr;
static struct vanity_ring_offsets off;
static void *img;
static void *ring;
static u32 sq_next;	/* the shard's next SQE index */

/* The shard's side (below): the hostile trace hook writes SQEs too. */
static void fill(struct vanity_sqe s, bool stamped);
static struct vanity_sqe nop(u64 ud);

static s64 fake_now(struct vanity_engine *e)
{
	(void)e;
	return F.now;
}

static bool fake_dead(struct vanity_engine *e)
{
	(void)e;
	return F.dead;
}

static struct vanity_engine_chan *fake_chan(struct vanity_engine *e, u32 ch)
{
	(void)e;
	cr_assert_lt(ch, NCH, "chan(%u): no such channel", ch);
	return &F.chans[ch];
}

static void fake_ring(struct vanity_engine *e, u32 ch, bool peer_consumer)
{
	(void)e;
	if (F.nrings < ARRAY_SIZE(F.ring_ch)) {
		F.ring_ch[F.nrings] = ch;
		F.ring_peer_consumer[F.nrings] = peer_consumer;
	}
	F.nrings++;
}

static struct vanity_armed *fake_alloc(struct vanity_engine *e,
				       unsigned int nends)
{
	size_t size = sizeof(struct vanity_armed) +
		      nends * sizeof(struct vanity_armed_end);
	struct vanity_armed *a;

	(void)e;
	if (F.fail_alloc || F.nlive == ARRAY_SIZE(F.live))
		return NULL;
	a = malloc(size);
	if (!a)
		return NULL;
	/* Garbage: the engine must set every field it reads. */
	memset(a, 0xa5, size);
	a->w = (struct vanity_armed_end *)(a + 1);
	F.live[F.nlive++] = a;
	F.allocs++;
	return a;
}

static void fake_free(struct vanity_engine *e, struct vanity_armed *a)
{
	struct vanity_armed *o;
	unsigned int i;

	for (i = 0; i < F.nlive && F.live[i] != a; i++)
		;
	if (i == F.nlive) {		/* a double free, or never ours */
		F.bad_frees++;
		return;
	}
	/* Freed while still on the engine's list, or still holding ends. */
	for (o = e->armed; o; o = o->next)
		if (o == a)
			F.bad_frees++;
	if (a->n)
		F.bad_frees++;
	F.live[i] = F.live[--F.nlive];
	F.frees++;
	free(a);
}

static int fake_watch(struct vanity_engine *e, struct vanity_armed *a,
		      unsigned int i)
{
	struct vanity_armed_end *w = &a->w[i];

	(void)e;
	cr_assert_lt(w->chan, NCH, "watch: no channel %u", w->chan);
	if ((int)w->chan == F.watch_fail_ch)
		return -ENODEV;
	w->hdr = &F.hdrs[w->chan];
	F.watches++;
	F.watched[w->chan]++;
	F.last_watched = a;
	return 0;
}

static void fake_unwatch(struct vanity_engine *e, struct vanity_armed *a,
			 unsigned int i)
{
	(void)e;
	F.unwatches++;
	F.watched[a->w[i].chan]--;
	/*
	 * The module lets the header's page go here: the engine may not
	 * touch the end's header after this (a NULL one crashes the test).
	 */
	a->w[i].hdr = NULL;
}

static bool fake_peer_barrier(struct vanity_engine *e, u32 peer)
{
	(void)e;
	if (F.nbarriers < ARRAY_SIZE(F.barrier_peer))
		F.barrier_peer[F.nbarriers] = peer;
	F.nbarriers++;
	if (F.claim_in_barrier && F.last_watched) {
		F.claim_in_barrier = false;
		F.claim_won = vanity_armed_claim(F.last_watched, F.claim_res);
	}
	return F.barrier_ret;
}

static void fake_timer_start(struct vanity_engine *e, struct vanity_armed *a)
{
	(void)e;
	if (a->deadline == VANITY_NEVER)
		F.bad_timers++;
	F.timer_starts++;
	F.timers_running++;
	F.timer_deadline = a->deadline;
}

static void fake_timer_cancel(struct vanity_engine *e, struct vanity_armed *a)
{
	(void)e;
	(void)a;
	F.timer_cancels++;
	F.timers_running--;
}

static void fake_wake_cq(struct vanity_engine *e)
{
	(void)e;
	F.wake_cq++;
}

static void interrupt(u32 dev, u32 vec);

static void fake_trace_sqe(struct vanity_engine *e, u8 op, u64 user_data)
{
	(void)op;
	(void)user_data;
	if (F.ntraced < ARRAY_SIZE(F.traced_sq_head)) {
		F.traced_sq_head[F.ntraced] = VANITY_READ_ONCE(*e->sq_head);
		F.traced_cq_tail[F.ntraced] = VANITY_READ_ONCE(*e->cq_tail);
	}
	F.ntraced++;
	/* Hostile: the next SQE stamped before the engine publishes sq_head. */
	if (F.stamp_ahead)
		fill(nop(1000 + F.ntraced), true);
	/* An interrupt in the middle of the batch, on the Nth SQE traced. */
	if (F.irq_at_trace && !--F.irq_at_trace) {
		interrupt(DEV_NIC, 0);
		F.irq_owner_seen = e->cq_owner;
	}
}

static void fake_trace_cqe(struct vanity_engine *e, u64 user_data, int res)
{
	(void)e;
	(void)res;
	if (F.ncqes_traced < ARRAY_SIZE(F.traced_cqe_ud))
		F.traced_cqe_ud[F.ncqes_traced] = user_data;
	F.ncqes_traced++;
}

static u32 *fake_irq_vectors(struct vanity_engine *e, u32 dev, u32 *nvec)
{
	(void)e;
	cr_assert_lt(dev, NDEV, "irq_vectors(%u): no such device", dev);
	*nvec = F.nvec[dev];
	return F.nvec[dev] ? F.pending[dev] : NULL;
}

static const struct vanity_ring_platform plat;

static int fake_irq_watch(struct vanity_engine *e, struct vanity_armed *a)
{
	(void)e;
	if (F.irq_watch_fail)
		return -ENODEV;
	cr_assert_lt(F.nirq_watched, ARRAY_SIZE(F.irq_watched));
	F.irq_watched[F.nirq_watched++] = a;
	F.irq_watches++;
	if (F.irq_in_watch) {
		F.irq_in_watch = false;
		interrupt(a->dev, 0);
	}
	return 0;
}

static void fake_irq_unwatch(struct vanity_engine *e, struct vanity_armed *a)
{
	unsigned int i;

	(void)e;
	for (i = 0; i < F.nirq_watched && F.irq_watched[i] != a; i++)
		;
	cr_assert_lt(i, F.nirq_watched, "irq_unwatch of an op not watched");
	F.irq_watched[i] = F.irq_watched[--F.nirq_watched];
	F.irq_unwatches++;
}

/* A give-back outside the wake: every watcher of @dev is asked again. */
static void fake_irq_kick(struct vanity_engine *e, u32 dev)
{
	struct vanity_armed *w[8];
	unsigned int i, n = F.nirq_watched;

	(void)e;
	F.irq_kicks++;
	memcpy(w, F.irq_watched, n * sizeof(w[0]));
	for (i = 0; i < n; i++)
		if (w[i]->dev == dev &&
		    vanity_engine_irq_event(&E, &plat, w[i], F.dead))
			F.irq_claimed[F.nirq_claimed++] = w[i];
}

static const struct vanity_ring_platform plat = {
	.now = fake_now,
	.dead = fake_dead,
	.chan = fake_chan,
	.ring = fake_ring,
	.alloc = fake_alloc,
	.free = fake_free,
	.watch = fake_watch,
	.unwatch = fake_unwatch,
	.peer_barrier = fake_peer_barrier,
	.timer_start = fake_timer_start,
	.timer_cancel = fake_timer_cancel,
	.wake_cq = fake_wake_cq,
	.irq_vectors = fake_irq_vectors,
	.irq_watch = fake_irq_watch,
	.irq_unwatch = fake_irq_unwatch,
	.irq_kick = fake_irq_kick,
};

/* The same, with the trace hooks: they see the shared words mid-batch. */
static const struct vanity_ring_platform plat_traced = {
	.now = fake_now,
	.dead = fake_dead,
	.chan = fake_chan,
	.ring = fake_ring,
	.alloc = fake_alloc,
	.free = fake_free,
	.watch = fake_watch,
	.unwatch = fake_unwatch,
	.peer_barrier = fake_peer_barrier,
	.timer_start = fake_timer_start,
	.timer_cancel = fake_timer_cancel,
	.wake_cq = fake_wake_cq,
	.irq_vectors = fake_irq_vectors,
	.irq_watch = fake_irq_watch,
	.irq_unwatch = fake_irq_unwatch,
	.irq_kick = fake_irq_kick,
	.trace_sqe = fake_trace_sqe,
	.trace_cqe = fake_trace_cqe,
};

/* As a platform does it: one noinline wrapper around the inline issue. */
static noinline int issue(struct vanity_engine *e, const u64 *src, bool poller,
			  u64 *ud)
{
	return vanity_engine_issue(e, &plat, src, poller, ud);
}

static noinline int issue_traced(struct vanity_engine *e, const u64 *src,
				 bool poller, u64 *ud)
{
	return vanity_engine_issue(e, &plat_traced, src, poller, ud);
}

/* ENTER (@poller false) or a look of the SQPOLL thread (true). */
static int submit(u32 max, bool poller)
{
	return vanity_engine_submit(&E, &plat, max, poller, issue);
}

static int submit_traced(u32 max, bool poller)
{
	return vanity_engine_submit(&E, &plat_traced, max, poller, issue_traced);
}

/*
 * Device @dev's vector @vec fires: the count, then each watching op asked
 * in turn, as the module's wake walks the device's queue; the claimed are
 * kept for the workqueue's part (complete_claimed).
 */
static void interrupt(u32 dev, u32 vec)
{
	struct vanity_armed *w[8];
	unsigned int i, n = F.nirq_watched;

	F.pending[dev][vec]++;
	memcpy(w, F.irq_watched, n * sizeof(w[0]));
	for (i = 0; i < n; i++) {
		if (w[i]->dev != dev)
			continue;
		if (vanity_engine_irq_event(&E, &plat, w[i], F.dead)) {
			cr_assert_lt(F.nirq_claimed, ARRAY_SIZE(F.irq_claimed));
			F.irq_claimed[F.nirq_claimed++] = w[i];
		}
	}
}

/* The workqueue: complete what interrupts claimed, under the ring lock. */
static void complete_claimed(void)
{
	while (F.nirq_claimed)
		vanity_engine_complete(&E, &plat, F.irq_claimed[--F.nirq_claimed]);
}

static unsigned int reap(s64 now, s64 *next)
{
	return vanity_engine_reap(&E, &plat, now, next);
}

/* Detach: cancel what is live, let claimers complete what they claimed. */
static void cancel_all(void)
{
	struct vanity_armed *a;
	bool busy;

	for (;;) {
		a = vanity_engine_cancel_next(&E, &plat, &busy);
		if (a) {
			vanity_engine_discard(&E, &plat, a);
			continue;
		}
		if (!busy)
			break;
		vanity_engine_complete(&E, &plat, E.armed);
	}
}

/* ------------------------------------------------------------ fixture */

static void setup(void)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 1 };
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	struct vanity_diag d;
	size_t len;
	u64 size;
	unsigned int i;

	memset(&F, 0, sizeof(F));
	F.now = T0;
	F.watch_fail_ch = -1;
	F.barrier_ret = true;
	F.nvec[DEV_NIC] = NVEC;
	F.nvec[DEV_DISK] = NVEC;
	cr_assert_not_null(w);
	vanity_imgw_init(w, "engine");
	cr_assert_eq(vanity_imgw_shard(w, "s0", 0, cpus, 0, NULL), 0);
	cr_assert_eq(vanity_imgw_shard(w, "s1", 0, cpus, 0, NULL), 1);
	cr_assert_eq(vanity_imgw_shard(w, "s2", 0, cpus, 0, NULL), 2);
	cr_assert_eq(vanity_imgw_channel(w, "out", 0, 1, 64, SLOTS), CH_OUT);
	cr_assert_eq(vanity_imgw_channel(w, "in", 1, 0, 64, SLOTS), CH_IN);
	cr_assert_eq(vanity_imgw_channel(w, "foreign", 1, 2, 64, SLOTS),
		     CH_FOREIGN);
	cr_assert_eq(vanity_imgw_channel(w, "out2", 0, 2, 64, SLOTS), CH_OUT2);
	for (i = 0; i < NDEV; i++) {
		struct vanity_pci_addr a = { .bus = 1, .devfn = (u8)(i << 3) };
		static const char *const names[] = { "nic", "disk", "quiet" };

		cr_assert_eq(vanity_imgw_device(w, names[i], &a,
						i == DEV_DISK ? 1 : 0,
						0),
			     (int)i);
	}
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	free(w);
	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);

	size = vanity_ring_layout(SQ, &off);
	ring = aligned_alloc(VANITY_PAGE_SIZE, size);
	cr_assert_not_null(ring);
	/* Garbage: init and reset must clear indices, SQEs and CQEs. */
	memset(ring, 0xff, size);
	memset(&ctr, 0, sizeof(ctr));
	vanity_engine_init(&E, ring, &off, img, SHARD, &ctr);
	sq_next = 0;

	for (i = 0; i < NCH; i++) {
		F.hdrs[i].magic = VANITY_CHAN_MAGIC;
		F.hdrs[i].slots = SLOTS;
	}
	/* Nothing ready by default: our producer ends are full, "in" empty. */
	F.hdrs[CH_OUT].head = SLOTS;
	F.hdrs[CH_OUT2].head = SLOTS;
}

static void teardown(void)
{
	if (E.armed_end)
		cancel_all();
	free(ring);
	free(img);
	ring = NULL;
	img = NULL;
}

TestSuite(ring_engine, .init = setup, .fini = teardown);

/* ------------------------------------------------------------ the shard */

static u32 *word(u32 offset)
{
	return (u32 *)((u8 *)ring + offset);
}

static u32 rd(u32 offset)
{
	return __atomic_load_n(word(offset), __ATOMIC_ACQUIRE);
}

static void wr(u32 offset, u32 v)
{
	__atomic_store_n(word(offset), v, __ATOMIC_RELEASE);
}

static struct vanity_sqe *sqe_at(u32 index)
{
	return (struct vanity_sqe *)((u8 *)ring + off.sqes) +
	       (index & (off.sq_entries - 1));
}

static const struct vanity_cqe *cqe_at(u32 index)
{
	return (const struct vanity_cqe *)((u8 *)ring + off.cqes) +
	       (index & (off.cq_entries - 1));
}

/* Write @s at the shard's next index; @stamped: its stamp last, released. */
static void fill(struct vanity_sqe s, bool stamped)
{
	struct vanity_sqe *d = sqe_at(sq_next);

	s.stamp = 0;
	*d = s;
	if (stamped)
		__atomic_store_n(&d->stamp, VANITY_STAMP(sq_next),
				 __ATOMIC_RELEASE);
	sq_next++;
}

static void publish(void)
{
	wr(off.sq_tail, sq_next);
}

static void push(struct vanity_sqe s)
{
	fill(s, false);
	publish();
}

/* The shard has seen every CQE posted. */
static void see_all(void)
{
	wr(off.cq_head, rd(off.cq_tail));
}

static struct vanity_sqe nop(u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_NOP, .user_data = ud };
}

static struct vanity_sqe op_notify(u32 ch, u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_NOTIFY, .channel = ch,
				    .user_data = ud };
}

static struct vanity_sqe op_wait(u32 ch, u64 mask, s64 ns, u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_WAIT, .channel = ch,
				    .mask = mask, .timeout_ns = ns,
				    .user_data = ud };
}

static struct vanity_sqe op_irq(u32 dev, u64 mask, s64 ns, u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_IRQ_WAIT, .channel = dev,
				    .mask = mask, .timeout_ns = ns,
				    .user_data = ud };
}

static struct vanity_sqe op_yield(u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_YIELD, .user_data = ud };
}

static struct vanity_sqe op_timeout(s64 ns, u64 ud)
{
	return (struct vanity_sqe){ .opcode = VANITY_OP_TIMEOUT,
				    .timeout_ns = ns, .user_data = ud };
}

/* @n NOPs with user_data @ud, @ud + 1, ... each batch consumed by ENTER. */
static void nops(u32 n, u64 ud, bool poller)
{
	u32 k, i;

	while (n) {
		k = n < SQ ? n : SQ;
		for (i = 0; i < k; i++)
			push(nop(ud++));
		cr_assert_eq(submit(SQ, poller), (int)k);
		n -= k;
	}
}

/* CQE @index is posted, says @ud and @res, and carries its own stamp. */
static void expect_cqe(u32 index, u64 ud, s32 res)
{
	const struct vanity_cqe *c = cqe_at(index);

	cr_assert_gt((s32)(rd(off.cq_tail) - index), 0,
		     "CQE %u not posted (cq_tail %u)", index, rd(off.cq_tail));
	cr_assert_eq(c->user_data, ud, "CQE %u: user_data %llu, want %llu",
		     index, (unsigned long long)c->user_data,
		     (unsigned long long)ud);
	cr_assert_eq(c->res, res, "CQE %u (user_data %llu): res %d, want %d",
		     index, (unsigned long long)ud, c->res, res);
	cr_assert_eq(c->flags, 0, "CQE %u: flags %#x", index, c->flags);
	cr_assert_eq(c->stamp, VANITY_STAMP(index),
		     "CQE %u: stamp %#x, want %#x", index, c->stamp,
		     VANITY_STAMP(index));
}

/* Nothing armed, held, leaked, double freed or left raised. */
static void expect_clean(void)
{
	unsigned int i;

	cr_assert_null(E.armed, "an op is still armed");
	cr_assert_eq(E.reserved, 0, "%u CQE slots still reserved", E.reserved);
	cr_assert_eq(F.nlive, 0, "%u armed ops leaked", F.nlive);
	cr_assert_eq(F.bad_frees, 0, "%u bad frees", F.bad_frees);
	cr_assert_eq(F.allocs, F.frees);
	cr_assert_eq(F.timers_running, 0, "%d timers left running",
		     F.timers_running);
	cr_assert_eq(F.bad_timers, 0, "a timer started for VANITY_NEVER");
	cr_assert_eq(F.nirq_watched, 0, "%u ops still watch interrupts",
		     F.nirq_watched);
	cr_assert_eq(F.irq_watches, F.irq_unwatches);
	cr_assert_null(E.posting, "an op left on the posting stack");
	cr_assert_eq(E.cq_owner, VANITY_CQ_FREE, "the CQ is still owned");
	for (i = 0; i < NCH; i++) {
		cr_assert_eq(F.watched[i], 0, "channel %u: %d watches left", i,
			     F.watched[i]);
		cr_assert_eq(F.chans[i].ring_waits[0], 0, "channel %u", i);
		cr_assert_eq(F.chans[i].ring_waits[1], 0, "channel %u", i);
		cr_assert_eq(F.hdrs[i].cons_waiting & VANITY_WAITING_RING, 0,
			     "channel %u: cons_waiting left up", i);
		cr_assert_eq(F.hdrs[i].prod_waiting & VANITY_WAITING_RING, 0,
			     "channel %u: prod_waiting left up", i);
	}
}

/* Set the engine and the shard at index @idx, as if they had got there. */
static void start_at(u32 idx)
{
	E.head = idx;
	E.cqt = idx;
	E.cq_head_seen = idx;
	wr(off.sq_head, idx);
	wr(off.sq_tail, idx);
	wr(off.cq_head, idx);
	wr(off.cq_tail, idx);
	sq_next = idx;
}

/* ------------------------------------------------------------ setup */

Test(ring_engine, every_opcode_has_a_validator_and_an_issue)
{
	cr_assert_eq(vanity_engine_ops_check(), 0);
}

Test(ring_engine, init_zeroes_the_indices_and_every_slot)
{
	unsigned int i;

	cr_assert_eq(rd(off.sq_head), 0);
	cr_assert_eq(rd(off.sq_tail), 0);
	cr_assert_eq(rd(off.sq_flags), 0);
	cr_assert_eq(rd(off.cq_head), 0);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(rd(off.cq_overflow), 0);
	for (i = 0; i < SQ; i++)
		cr_assert_eq(sqe_at(i)->stamp, 0, "SQE %u keeps a stamp", i);
	for (i = 0; i < CQ; i++)
		cr_assert_eq(cqe_at(i)->stamp, 0, "CQE %u keeps a stamp", i);
	cr_assert(vanity_engine_produces(&E, CH_OUT));
	cr_assert_not(vanity_engine_produces(&E, CH_IN));
	cr_assert_not(vanity_engine_produces(&E, CH_FOREIGN));
	cr_assert(vanity_engine_produces(&E, CH_OUT2));
	cr_assert_eq(vanity_engine_submit(&E, &plat, SQ, true, issue), 0,
		     "the poller took an SQE of the 0xff garbage");
}

Test(ring_engine, reset_forgets_every_stamp_of_the_last_attachment)
{
	unsigned int i;

	for (i = 0; i < SQ; i++)
		fill(nop(i), true);
	vanity_engine_reset(&E);
	sq_next = 0;
	cr_assert_eq(submit(SQ, true), 0);
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_SLEEP);
}

/* ------------------------------------------------------------ deadlines */

Test(ring_engine, timeout_of_zero_completes_at_once_with_etime)
{
	push(op_timeout(0, 7));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 7, -ETIME);
	cr_assert_eq(F.allocs, 0);
	cr_assert_eq(F.timer_starts, 0);
	cr_assert_eq(ctr.submitted, 1);
	cr_assert_eq(ctr.completed, 1);
	cr_assert_eq(ctr.ops[VANITY_OP_TIMEOUT], 1);
	expect_clean();
}

Test(ring_engine, wait_of_zero_is_a_poll_that_says_etime_when_nothing_is_ready)
{
	push(op_wait(CH_OUT, 0x3, 0, 9));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 9, -ETIME);
	cr_assert_eq(F.allocs, 1);
	cr_assert_eq(F.watches, 2);
	cr_assert_eq(F.unwatches, 2);
	cr_assert_eq(F.timer_starts, 0);
	/* Both ends have shard 1 at the other end: one barrier. */
	cr_assert_eq(F.nbarriers, 1);
	cr_assert_eq(F.barrier_peer[0], 1);
	cr_assert_eq(ctr.completed, 1);
	expect_clean();
}

Test(ring_engine, wait_of_zero_is_a_poll_that_says_the_lowest_ready_bit)
{
	F.hdrs[CH_IN].head = 1;			/* a message for us: bit 1 */
	push(op_wait(CH_OUT, 0x3, 0, 1));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 1, 1);
	F.hdrs[CH_OUT].tail = 1;		/* and room: bit 0 */
	push(op_wait(CH_OUT, 0x3, 0, 2));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(1, 2, 0);
	expect_clean();
}

Test(ring_engine, timeout_of_one_ns_fires_at_now_plus_one_and_not_before)
{
	s64 next = 0;

	F.now = 5000;
	push(op_timeout(1, 11));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(rd(off.cq_tail), 0, "an armed TIMEOUT posted at once");
	cr_assert_eq(E.reserved, 1);
	cr_assert_eq(F.timer_starts, 1);
	cr_assert_eq(F.timer_deadline, 5001);
	cr_assert_eq(ctr.submitted, 1);
	cr_assert_eq(ctr.completed, 0);

	cr_assert_eq(reap(5000, &next), 0);
	cr_assert_eq(next, 5001);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(reap(5001, &next), 1);
	cr_assert_eq(next, VANITY_NEVER);
	expect_cqe(0, 11, -ETIME);
	cr_assert_eq(F.timer_cancels, 1);
	cr_assert_eq(ctr.completed, 1);
	expect_clean();
}

Test(ring_engine, wait_of_one_ns_fires_with_etime_at_now_plus_one)
{
	s64 next = 0;

	F.now = 5000;
	push(op_wait(CH_IN, 1, 1, 12));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(F.timer_deadline, 5001);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, VANITY_WAITING_RING);
	cr_assert_eq(reap(5000, &next), 0);
	cr_assert_eq(next, 5001);
	cr_assert_eq(reap(5001, &next), 1);
	expect_cqe(0, 12, -ETIME);
	expect_clean();
}

Test(ring_engine, timeout_of_int64_max_never_fires_and_starts_no_timer)
{
	s64 next = 0;

	push(op_timeout(INT64_MAX, 1));
	push(op_wait(CH_IN, 1, INT64_MAX, 2));
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(E.reserved, 2);
	cr_assert_eq(F.timer_starts, 0);
	cr_assert_eq(reap(S64_MAX - 1, &next), 0);
	cr_assert_eq(next, VANITY_NEVER);
	cr_assert_eq(reap(S64_MAX, &next), 0);
	cr_assert_eq(next, VANITY_NEVER);
	cr_assert_eq(rd(off.cq_tail), 0);
	/* Armed until detach, which posts nothing. */
	cancel_all();
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(ctr.completed, 0);
	expect_clean();
}

/*
 * Once detach has cancelled what was armed, nothing arms again until the
 * next attachment: a WAIT or TIMEOUT issued in that window (an ENTER that
 * raced a forced DOWN) completes with -ENODEV at once, holding nothing.
 */
Test(ring_engine, nothing_arms_between_detach_and_the_next_attachment)
{
	cancel_all();
	push(op_timeout(1000, 1));
	push(op_wait(CH_IN, 1, 1000, 2));
	cr_assert_eq(submit(SQ, false), 2);
	expect_cqe(0, 1, -ENODEV);
	expect_cqe(1, 2, -ENODEV);
	cr_assert_eq(E.reserved, 0);
	cr_assert_eq(F.timer_starts, 0);
	expect_clean();
}

Test(ring_engine, deadlines_saturate_at_the_end_of_the_clock)
{
	s64 next = 0;

	F.now = S64_MAX - 10;
	push(op_timeout(10, 1));	/* would reach S64_MAX: none */
	push(op_timeout(9, 2));		/* S64_MAX - 1: a real one */
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(F.timer_starts, 1);
	cr_assert_eq(F.timer_deadline, S64_MAX - 1);
	cr_assert_eq(reap(S64_MAX - 2, &next), 0);
	cr_assert_eq(next, S64_MAX - 1);
	cr_assert_eq(reap(S64_MAX - 1, &next), 1);
	expect_cqe(0, 2, -ETIME);
	cr_assert_eq(next, VANITY_NEVER);
	cr_assert_eq(reap(S64_MAX, &next), 0, "the deadline-less one fired");
	cr_assert_eq(E.reserved, 1);
	cancel_all();
	expect_clean();
}

Test(ring_engine, negative_timeout_is_einval_for_timeout_and_none_for_wait)
{
	s64 next = 0;

	push(op_timeout(-1, 1));
	push(op_timeout(INT64_MIN, 2));
	push(op_wait(CH_IN, 1, -1, 3));
	cr_assert_eq(submit(SQ, false), 3);
	expect_cqe(0, 1, -EINVAL);
	expect_cqe(1, 2, -EINVAL);
	cr_assert_eq(rd(off.cq_tail), 2);
	cr_assert_eq(ctr.ops[VANITY_OP_TIMEOUT], 0);
	cr_assert_eq(ctr.ops[VANITY_OP_WAIT], 1);
	cr_assert_eq(E.reserved, 1);
	cr_assert_eq(F.timer_starts, 0);
	cr_assert_eq(reap(S64_MAX - 1, &next), 0);
	cr_assert_eq(next, VANITY_NEVER);
	F.hdrs[CH_IN].head = 1;
	cr_assert_eq(reap(T0, &next), 1);
	expect_cqe(2, 3, 0);
	expect_clean();
}

Test(ring_engine, reap_completes_oldest_first_and_says_the_nearest_deadline)
{
	s64 next = 0;

	F.now = 0;
	push(op_timeout(300, 1));
	push(op_timeout(100, 2));
	push(op_timeout(100, 3));
	push(op_timeout(200, 4));
	cr_assert_eq(submit(SQ, false), 4);
	cr_assert_eq(reap(99, &next), 0);
	cr_assert_eq(next, 100);
	cr_assert_eq(reap(100, &next), 2);
	cr_assert_eq(next, 200);
	expect_cqe(0, 2, -ETIME);
	expect_cqe(1, 3, -ETIME);
	cr_assert_eq(reap(1000, NULL), 2);
	expect_cqe(2, 1, -ETIME);
	expect_cqe(3, 4, -ETIME);
	cr_assert_eq(ctr.completed, 4);
	cr_assert_eq(F.wake_cq, 0, "waking CQ waiters is the caller's");
	expect_clean();
}

/* ------------------------------------------------------------ CQ overflow */

Test(ring_engine, enter_on_a_full_cq_is_ebusy_and_counts_each_refusal)
{
	unsigned int i;

	nops(CQ, 100, false);
	for (i = 0; i < CQ; i++)
		expect_cqe(i, 100 + i, 0);
	push(nop(100 + CQ));
	for (i = 1; i <= 3; i++) {
		cr_assert_eq(submit(SQ, false), -EBUSY);
		cr_assert_eq(rd(off.cq_overflow), i);
		cr_assert_eq(ctr.overflows, i);
		cr_assert_eq(rd(off.sq_head), CQ, "a refused SQE was consumed");
		cr_assert_eq(rd(off.cq_tail), CQ);
	}
	wr(off.cq_head, 1);			/* the shard reaps one */
	cr_assert_eq(submit(SQ, false), 1);
	/* CQE 0's slot now holds CQE 16: the last CQ of them, in order. */
	for (i = 1; i <= CQ; i++)
		expect_cqe(i, 100 + i, 0);
	cr_assert_eq(ctr.overflows, 3);
	cr_assert_eq(ctr.submitted, CQ + 1);
	cr_assert_eq(ctr.completed, CQ + 1);
	cr_assert_eq(ctr.ops[VANITY_OP_NOP], CQ + 1);
}

Test(ring_engine, enter_that_meets_a_full_cq_midway_takes_what_fits)
{
	unsigned int i;

	nops(CQ - 2, 0, false);
	for (i = 0; i < 5; i++)
		push(nop(CQ - 2 + i));
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(ctr.overflows, 1);
	cr_assert_eq(rd(off.sq_head), CQ);
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(ctr.overflows, 2);
	see_all();
	cr_assert_eq(submit(SQ, false), 3);
	for (i = 3; i < CQ + 3; i++)
		expect_cqe(i, i, 0);
}

Test(ring_engine, poller_on_a_full_cq_counts_one_overflow_per_episode)
{
	unsigned int i;

	nops(CQ, 0, true);
	push(nop(CQ));
	for (i = 0; i < 3; i++) {
		cr_assert_eq(submit(SQ, true), -EBUSY);
		cr_assert_eq(ctr.overflows, 1, "poll %u counted again", i);
		cr_assert_eq(rd(off.cq_overflow), 1);
	}
	wr(off.cq_head, 1);
	cr_assert_eq(submit(SQ, true), 1);
	push(nop(CQ + 1));
	cr_assert_eq(submit(SQ, true), -EBUSY);	/* a new episode */
	cr_assert_eq(ctr.overflows, 2);
	cr_assert_eq(rd(off.cq_overflow), 2);
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(ctr.overflows, 2);
	wr(off.cq_head, 2);
	cr_assert_eq(submit(SQ, true), 1);
	for (i = 2; i < CQ + 2; i++)
		expect_cqe(i, i, 0);
}

/*
 * An episode that begins in a batch that took some SQEs before the CQ
 * filled is still one episode when the next look finds the CQ full.
 */
Test(ring_engine, poller_episode_that_starts_mid_batch_counts_once)
{
	unsigned int i;

	nops(CQ - 2, 0, true);
	for (i = 0; i < 5; i++)
		push(nop(CQ - 2 + i));
	cr_assert_eq(submit(SQ, true), 2);
	cr_assert_eq(ctr.overflows, 1);
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(ctr.overflows, 1, "one episode counted %llu times",
		     (unsigned long long)ctr.overflows);
	cr_assert_eq(rd(off.cq_overflow), 1);
	see_all();
	cr_assert_eq(submit(SQ, true), 3);
	for (i = 3; i < CQ + 3; i++)
		expect_cqe(i, i, 0);
}

/*
 * Room that appears ends an episode: a look that takes what fits and
 * fills the CQ again starts the next, counted at once.
 */
Test(ring_engine, poller_episode_that_ends_and_restarts_in_one_batch_counts_again)
{
	unsigned int i;

	nops(CQ, 0, true);
	push(nop(CQ));
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(ctr.overflows, 1);
	wr(off.cq_head, 2);			/* room for two of five */
	for (i = 1; i < 5; i++)
		push(nop(CQ + i));
	cr_assert_eq(submit(SQ, true), 2);
	cr_assert_eq(ctr.overflows, 2, "a new episode was not counted");
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(ctr.overflows, 2, "one episode counted twice");
	cr_assert_eq(rd(off.cq_overflow), 2);
	see_all();
	cr_assert_eq(submit(SQ, true), 3);
	for (i = 5; i < CQ + 5; i++)
		expect_cqe(i, i, 0);
}

Test(ring_engine, armed_ops_hold_cq_slots_until_they_post)
{
	unsigned int i;

	push(op_timeout(1000, 1));
	push(op_timeout(1000, 2));
	push(op_timeout(1000, 3));
	cr_assert_eq(submit(SQ, false), 3);
	cr_assert_eq(E.reserved, 3);
	cr_assert_eq(vanity_engine_cq_room(&E, E.cqt, 1), CQ - 3);
	nops(CQ - 3, 10, false);
	cr_assert_eq(vanity_engine_cq_room(&E, E.cqt, 1), 0);
	push(nop(99));
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(ctr.overflows, 1);

	F.now += 1000;
	cr_assert_eq(reap(F.now, NULL), 3);
	for (i = 0; i < CQ - 3; i++)
		expect_cqe(i, 10 + i, 0);
	expect_cqe(CQ - 3, 1, -ETIME);
	expect_cqe(CQ - 2, 2, -ETIME);
	expect_cqe(CQ - 1, 3, -ETIME);
	cr_assert_eq(E.reserved, 0);
	cr_assert_eq(submit(SQ, false), -EBUSY, "CQ holds 16 unseen");
	see_all();
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(CQ, 99, 0);
	cr_assert_eq(ctr.submitted, CQ + 1);
	cr_assert_eq(ctr.completed, CQ + 1);
	expect_clean();
}

Test(ring_engine, a_batch_of_armed_ops_fits_the_room_it_reserves)
{
	unsigned int i;

	/* 12 unseen: room for 4, whether they post now or later. */
	nops(CQ - 4, 0, false);
	push(op_timeout(50, 100));
	push(nop(101));
	push(op_wait(CH_IN, 1, -1, 102));
	push(nop(103));
	push(op_timeout(50, 104));		/* no room left for this */
	cr_assert_eq(submit(SQ, false), 4);
	cr_assert_eq(E.reserved, 2);
	cr_assert_eq(rd(off.cq_tail), CQ - 2);
	cr_assert_eq(submit(SQ, false), -EBUSY);
	/* Posting into their slots needs no room check: it was held. */
	F.now += 50;
	F.hdrs[CH_IN].head = 1;
	cr_assert_eq(reap(F.now, NULL), 2);
	for (i = 0; i < CQ - 4; i++)
		expect_cqe(i, i, 0);
	expect_cqe(CQ - 4, 101, 0);
	expect_cqe(CQ - 3, 103, 0);
	expect_cqe(CQ - 2, 100, -ETIME);
	expect_cqe(CQ - 1, 102, 0);
	see_all();
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(E.reserved, 1);
	cancel_all();
	expect_clean();
}

/* ------------------------------------------------------------ stamps */

Test(ring_engine, poller_takes_a_stamped_sqe_before_the_tail_moves)
{
	fill(nop(1), true);
	cr_assert_eq(rd(off.sq_tail), 0);
	cr_assert_eq(submit(SQ, true), 1);
	expect_cqe(0, 1, 0);
	cr_assert_eq(rd(off.sq_head), 1);
	publish();				/* the tail catches up */
	cr_assert_eq(submit(SQ, true), 0, "the tail re-published it");
	cr_assert_eq(rd(off.cq_tail), 1);
}

Test(ring_engine, enter_takes_only_what_the_tail_publishes)
{
	fill(nop(1), true);
	fill(nop(2), true);
	cr_assert_eq(submit(SQ, false), 0);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(rd(off.sq_head), 0);
	wr(off.sq_tail, 1);
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 1, 0);
	cr_assert_eq(submit(SQ, false), 0);
	cr_assert_eq(submit(SQ, true), 1);	/* the poller: by its stamp */
	expect_cqe(1, 2, 0);
}

Test(ring_engine, poller_takes_the_tails_run_after_the_first_without_stamps)
{
	fill(nop(1), true);
	fill(nop(2), false);
	fill(nop(3), false);
	publish();
	cr_assert_eq(submit(SQ, true), 3);
	expect_cqe(0, 1, 0);
	expect_cqe(1, 2, 0);
	expect_cqe(2, 3, 0);
	cr_assert_eq(rd(off.sq_head), 3);
}

Test(ring_engine, poller_stops_at_an_sqe_neither_stamped_nor_covered)
{
	fill(nop(1), true);
	fill(nop(2), false);
	fill(nop(3), true);
	cr_assert_eq(submit(SQ, true), 1);
	expect_cqe(0, 1, 0);
	cr_assert_eq(rd(off.sq_head), 1);
	/* The tail covers the second; the third goes by its stamp. */
	wr(off.sq_tail, 2);
	cr_assert_eq(submit(SQ, true), 2);
	expect_cqe(1, 2, 0);
	expect_cqe(2, 3, 0);
}

Test(ring_engine, poller_takes_stamps_past_the_tail_and_max_bounds_it)
{
	unsigned int i;

	for (i = 0; i < 5; i++)
		fill(nop(i), true);
	cr_assert_eq(submit(3, true), 3);
	cr_assert_eq(submit(SQ, true), 2);
	for (i = 0; i < 5; i++)
		expect_cqe(i, i, 0);
	/* A tail a little behind the head publishes nothing. */
	publish();
	wr(off.sq_tail, 2);
	cr_assert_eq(submit(SQ, true), 0);
	cr_assert_eq(submit(SQ, false), 0);
}

Test(ring_engine, poller_ignores_the_stamps_of_the_last_lap)
{
	struct vanity_sqe *s;
	unsigned int i;

	for (i = 0; i < SQ; i++)
		fill(nop(i), true);
	cr_assert_eq(submit(SQ, true), SQ);
	publish();	/* the contract: the tail at most a ring behind */
	see_all();
	/* Every slot holds the stamp of its index one lap ago. */
	for (i = 0; i < SQ; i++)
		cr_assert_eq(sqe_at(SQ + i)->stamp, VANITY_STAMP(i));
	cr_assert_eq(submit(SQ, true), 0);
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_SLEEP);
	vanity_engine_idle_end(&E, false);
	/* The shard rewrites slot 0 for index SQ: taken, slot 1 is not. */
	s = sqe_at(SQ);
	s->user_data = 77;
	__atomic_store_n(&s->stamp, VANITY_STAMP(SQ), __ATOMIC_RELEASE);
	cr_assert_eq(submit(SQ, true), 1);
	expect_cqe(SQ, 77, 0);
}

/*
 * Six laps from 16 below the 32-bit wrap, alternating how the shard
 * publishes: all by stamp, all by the tail, the first by stamp and the
 * rest by the tail; every CQE carries its index's stamp.
 */
Test(ring_engine, laps_across_the_u32_wrap_keep_stamps_and_order)
{
	const u32 start = 0xfffffff0U;
	u32 k, lap, idx;

	start_at(start);
	for (lap = 0; lap < 6; lap++) {
		for (k = 0; k < SQ; k++)
			fill(nop((u64)start + lap * SQ + k),
			     lap % 3 == 0 || (lap % 3 == 2 && k == 0));
		if (lap % 3)
			publish();
		cr_assert_eq(submit(SQ, lap % 3 != 1), SQ, "lap %u", lap);
		if (lap % 3 == 0)
			publish();	/* a late tail: covers what was taken */
		for (k = 0; k < SQ; k++) {
			idx = start + lap * SQ + k;
			expect_cqe(idx, (u64)start + lap * SQ + k, 0);
		}
		cr_assert_eq(rd(off.sq_head), start + (lap + 1) * SQ);
		cr_assert_eq(rd(off.cq_tail), start + (lap + 1) * SQ);
		see_all();
	}
	cr_assert_eq(rd(off.sq_head), start + 6 * SQ);
	cr_assert_eq(rd(off.sq_head), 0x20);
	cr_assert_eq(ctr.submitted, 6 * SQ);
	cr_assert_eq(ctr.completed, 6 * SQ);
	/* And armed ops post at the wrapped index with its stamp. */
	push(op_timeout(1, 5));
	cr_assert_eq(submit(SQ, false), 1);
	F.now += 1;
	cr_assert_eq(reap(F.now, NULL), 1);
	expect_cqe(0x20, 5, -ETIME);
	expect_clean();
}

/* ------------------------------------------------------------ cancellation */

Test(ring_engine, a_doorbells_claim_beats_the_timer_and_posts_its_result)
{
	struct vanity_armed *a;

	push(op_wait(CH_IN, 1, 1000, 42));
	cr_assert_eq(submit(SQ, false), 1);
	a = E.armed;
	cr_assert_not_null(a);
	cr_assert(vanity_armed_claim(a, 0), "the doorbell lost a live op");
	cr_assert_not(vanity_armed_claim(a, -ETIME), "claimed twice");
	cr_assert_eq(a->res, 0);
	/* The deadline passes before the doorbell's completion runs. */
	F.now += 1000;
	cr_assert_eq(vanity_armed_decide(a, false, true), -1);
	cr_assert_eq(reap(F.now, NULL), 0, "reap completed another's claim");
	cr_assert_eq(E.armed, a);
	cr_assert_eq(rd(off.cq_tail), 0);
	vanity_engine_complete(&E, &plat, a);
	expect_cqe(0, 42, 0);
	cr_assert_eq(F.timer_cancels, 1);
	cr_assert_eq(ctr.completed, 1);
	expect_clean();
}

Test(ring_engine, cancel_skips_an_op_a_doorbell_claimed_whose_completion_posts_nothing)
{
	struct vanity_armed *a;
	bool busy = false;

	push(op_wait(CH_IN, 1, -1, 42));
	push(op_timeout(1000, 43));
	cr_assert_eq(submit(SQ, false), 2);
	a = E.armed;
	cr_assert_not_null(a);
	cr_assert_eq(a->user_data, 42);
	cr_assert(vanity_armed_claim(a, 0), "the doorbell lost a live op");
	cr_assert_null(vanity_engine_cancel_next(&E, &plat, &busy));
	cr_assert(busy, "cancel_next did not wait for the claimer");
	cr_assert_eq(E.armed, a, "cancel_next took a claimed op");
	cr_assert_eq(E.reserved, 2);
	/* reap leaves it to its claimer, whatever it finds. */
	F.hdrs[CH_IN].head = 1;
	cr_assert_eq(reap(T0, NULL), 0);
	cr_assert_eq(E.armed, a);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, VANITY_WAITING_RING);

	/* Its completion runs: unlinked, disarmed, freed; detach: no CQE. */
	vanity_engine_complete(&E, &plat, a);
	cr_assert_eq(rd(off.cq_tail), 0, "a CQE posted while detaching");
	cr_assert_eq(ctr.completed, 0);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, 0);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 0);
	cr_assert_eq(F.frees, 1);
	a = vanity_engine_cancel_next(&E, &plat, &busy);
	cr_assert_not_null(a);
	cr_assert_not(busy);
	cr_assert_eq(a->user_data, 43);
	vanity_engine_discard(&E, &plat, a);
	cr_assert_null(vanity_engine_cancel_next(&E, &plat, &busy));
	cr_assert_not(busy);
	cr_assert_eq(rd(off.cq_tail), 0);
	expect_clean();

	/* The next attachment's armed ops post again. */
	vanity_engine_reset(&E);
	sq_next = 0;
	push(op_timeout(1, 44));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(reap(T0 + 1, NULL), 1);
	expect_cqe(0, 44, -ETIME);
	expect_clean();
}

Test(ring_engine, cancel_takes_live_ops_oldest_first_and_posts_nothing)
{
	struct vanity_armed *a;
	bool busy = true;

	push(op_wait(CH_IN, 1, -1, 1));
	push(op_timeout(1000, 2));
	push(op_wait(CH_OUT, 0x3, 5000, 3));
	cr_assert_eq(submit(SQ, false), 3);
	cr_assert_eq(E.reserved, 3);
	cr_assert_eq(F.timer_starts, 2);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 2);

	a = vanity_engine_cancel_next(&E, &plat, &busy);
	cr_assert_not_null(a);
	cr_assert_not(busy);
	cr_assert_eq(a->user_data, 1);
	cr_assert_not(vanity_armed_claim(a, 0), "a doorbell won a cancelled op");
	cr_assert_eq(E.reserved, 2);
	vanity_engine_discard(&E, &plat, a);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 1);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, VANITY_WAITING_RING,
		     "the third op still waits on \"in\"");

	a = vanity_engine_cancel_next(&E, &plat, &busy);
	cr_assert_not_null(a);
	cr_assert_eq(a->user_data, 2);
	vanity_engine_discard(&E, &plat, a);
	cr_assert_eq(F.timer_cancels, 1);

	a = vanity_engine_cancel_next(&E, &plat, &busy);
	cr_assert_not_null(a);
	cr_assert_eq(a->user_data, 3);
	vanity_engine_discard(&E, &plat, a);
	cr_assert_eq(F.timer_cancels, 2);

	cr_assert_null(vanity_engine_cancel_next(&E, &plat, &busy));
	cr_assert_not(busy);
	cr_assert_eq(rd(off.cq_tail), 0, "a cancelled op posted");
	cr_assert_eq(ctr.completed, 0);
	cr_assert_eq(F.unwatches, 3);
	cr_assert_eq(vanity_engine_cq_room(&E, E.cqt, 1), CQ);
	expect_clean();
}

Test(ring_engine, a_doorbell_that_claims_while_a_wait_arms_completes_it)
{
	F.claim_in_barrier = true;
	F.claim_res = 0;
	push(op_wait(CH_IN, 1, 0, 5));		/* a poll that says -ETIME */
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert(F.claim_won);
	cr_assert_eq(rd(off.cq_tail), 0, "the issuer posted a claimed op");
	cr_assert_not_null(E.armed);
	cr_assert_eq(E.reserved, 1);
	cr_assert_eq(F.timer_starts, 0);
	cr_assert_eq(ctr.completed, 0);
	vanity_engine_complete(&E, &plat, E.armed);
	expect_cqe(0, 5, 0);
	cr_assert_eq(ctr.completed, 1);
	expect_clean();
}

Test(ring_engine, decide_claims_once_and_only_when_there_is_an_answer)
{
	struct vanity_armed *a;

	push(op_wait(CH_IN, 1, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	a = E.armed;
	cr_assert_eq(vanity_armed_decide(a, false, false), 1);
	cr_assert_eq(a->state, VANITY_ARMED_LIVE);
	cr_assert_eq(vanity_armed_decide(a, false, true), 0);
	cr_assert_eq(a->res, -ETIME);
	cr_assert_eq(vanity_armed_decide(a, true, false), -1);
	cr_assert_eq(a->res, -ETIME, "a loser overwrote the result");
	vanity_engine_complete(&E, &plat, a);
	expect_cqe(0, 1, -ETIME);
	expect_clean();
}

/* ------------------------------------------------------------ WAIT */

Test(ring_engine, wait_raises_the_ring_bit_on_each_held_end_and_lowers_it_after)
{
	/* The shard's own blocking calls wait too: their bit is not ours. */
	F.hdrs[CH_IN].cons_waiting = VANITY_WAITING_LIB;
	F.hdrs[CH_OUT].prod_waiting = VANITY_WAITING_LIB;
	push(op_wait(CH_OUT, 0x3, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(F.hdrs[CH_OUT].prod_waiting,
		     VANITY_WAITING_LIB | VANITY_WAITING_RING);
	cr_assert_eq(F.hdrs[CH_OUT].cons_waiting, 0);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting,
		     VANITY_WAITING_LIB | VANITY_WAITING_RING);
	cr_assert_eq(F.hdrs[CH_IN].prod_waiting, 0);
	cr_assert_eq(F.chans[CH_OUT].ring_waits[0], 1);
	cr_assert_eq(F.chans[CH_OUT].ring_waits[1], 0);
	cr_assert_eq(F.chans[CH_IN].ring_waits[0], 0);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 1);

	F.hdrs[CH_OUT].tail = 1;		/* the consumer made room */
	cr_assert_eq(reap(T0, NULL), 1);
	expect_cqe(0, 1, 0);
	cr_assert_eq(F.hdrs[CH_OUT].prod_waiting, VANITY_WAITING_LIB);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, VANITY_WAITING_LIB);
	expect_clean();
}

Test(ring_engine, two_waits_on_one_end_keep_its_bit_until_both_are_done)
{
	push(op_wait(CH_IN, 1, 100, 1));
	push(op_wait(CH_IN, 1, -1, 2));
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 2);
	F.now += 100;
	cr_assert_eq(reap(F.now, NULL), 1);
	expect_cqe(0, 1, -ETIME);
	cr_assert_eq(F.chans[CH_IN].ring_waits[1], 1);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, VANITY_WAITING_RING,
		     "the first WAIT done took the second's bit down");
	F.hdrs[CH_IN].head = 1;
	cr_assert_eq(reap(F.now, NULL), 1);
	expect_cqe(1, 2, 0);
	expect_clean();
}

Test(ring_engine, wait_barriers_once_per_distinct_peer)
{
	struct vanity_armed *a;

	F.barrier_ret = false;
	/* out (peer 1), in (peer 1), out2 (peer 2). */
	push(op_wait(CH_OUT, 0xb, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(F.nbarriers, 2);
	cr_assert_eq(F.barrier_peer[0], 1);
	cr_assert_eq(F.barrier_peer[1], 2);
	a = E.armed;
	cr_assert_not_null(a);
	cr_assert_eq(a->n, 3);
	cr_assert_not(a->strong, "no barrier ran, yet the op says strong");
	cancel_all();
	expect_clean();
}

Test(ring_engine, wait_says_the_lowest_ready_bit_not_the_first_ready)
{
	push(op_wait(CH_OUT, 0xb, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(reap(T0, NULL), 0);
	F.hdrs[CH_OUT2].tail = 1;		/* bit 3 first */
	F.hdrs[CH_IN].head = 1;			/* then bit 1 */
	cr_assert_eq(reap(T0, NULL), 1);
	expect_cqe(0, 1, 1);
	expect_clean();
}

Test(ring_engine, wait_bit_is_the_offset_from_its_channel)
{
	F.hdrs[CH_IN].head = 1;
	push(op_wait(CH_IN, 0x1, 0, 1));
	push(op_wait(CH_IN, 0x5, 0, 2));	/* in (bit 0), out2 (bit 2) */
	cr_assert_eq(submit(SQ, false), 2);
	expect_cqe(0, 1, 0);
	expect_cqe(1, 2, 0);
	F.hdrs[CH_IN].head = 0;
	F.hdrs[CH_OUT2].tail = 1;
	push(op_wait(CH_IN, 0x5, 0, 3));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(2, 3, 2);
	expect_clean();
}

Test(ring_engine, wait_is_enodev_when_the_system_is_down_at_issue)
{
	F.dead = true;
	F.hdrs[CH_IN].head = 1;
	push(op_wait(CH_IN, 1, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 1, -ENODEV);
	cr_assert_eq(F.allocs, 0);
	cr_assert_eq(F.watches, 0);
	expect_clean();
}

Test(ring_engine, armed_ops_are_enodev_when_the_system_goes_down_even_if_ready)
{
	push(op_wait(CH_IN, 1, -1, 1));
	push(op_timeout(1000, 2));
	cr_assert_eq(submit(SQ, false), 2);
	F.hdrs[CH_IN].head = 1;
	F.dead = true;
	F.now += 1000;
	cr_assert_eq(reap(F.now, NULL), 2);
	expect_cqe(0, 1, -ENODEV);
	expect_cqe(1, 2, -ENODEV);
	expect_clean();
}

Test(ring_engine, armed_wait_completes_when_the_peer_moves_the_word)
{
	push(op_wait(CH_IN, 1, -1, 1));		/* for data: the peer's head */
	push(op_wait(CH_OUT, 1, -1, 2));	/* for room: the peer's tail */
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(reap(T0, NULL), 0);
	F.hdrs[CH_IN].tail = 5;			/* our own word: not ready */
	F.hdrs[CH_IN].head = 5;
	cr_assert_eq(reap(T0, NULL), 0);
	F.hdrs[CH_IN].head = 6;
	cr_assert_eq(reap(T0, NULL), 1);
	expect_cqe(0, 1, 0);
	F.hdrs[CH_OUT].head = SLOTS + 1;	/* we wrote more: still full */
	F.hdrs[CH_OUT].tail = 1;
	cr_assert_eq(reap(T0, NULL), 0);
	F.hdrs[CH_OUT].tail = 2;
	cr_assert_eq(reap(T0, NULL), 1);
	expect_cqe(1, 2, 0);
	expect_clean();
}

Test(ring_engine, failing_watch_leaves_nothing_armed_or_held)
{
	F.watch_fail_ch = CH_IN;		/* the second end */
	push(op_wait(CH_OUT, 0x3, -1, 1));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 1, -ENODEV);
	cr_assert_eq(F.watches, 1);
	cr_assert_eq(F.unwatches, 1);
	cr_assert_eq(F.nbarriers, 0);
	cr_assert_eq(F.timer_starts, 0);
	expect_clean();

	F.watch_fail_ch = CH_OUT;		/* the first end */
	push(op_wait(CH_OUT, 0x3, 100, 2));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(1, 2, -ENODEV);
	cr_assert_eq(F.watches, 1);
	cr_assert_eq(F.unwatches, 1);
	cr_assert_eq(ctr.completed, 2);
	expect_clean();
}

Test(ring_engine, no_memory_for_an_armed_op_is_enomem)
{
	F.fail_alloc = true;
	push(op_wait(CH_IN, 1, -1, 1));
	push(op_timeout(10, 2));
	push(op_timeout(0, 3));			/* needs none */
	cr_assert_eq(submit(SQ, false), 3);
	expect_cqe(0, 1, -ENOMEM);
	expect_cqe(1, 2, -ENOMEM);
	expect_cqe(2, 3, -ETIME);
	cr_assert_eq(F.hdrs[CH_IN].cons_waiting, 0);
	expect_clean();
}

/* ------------------------------------------------------------ NOTIFY, YIELD */

Test(ring_engine, notify_rings_the_peer_end_and_counts)
{
	push(op_notify(CH_OUT, 1));
	push(op_notify(CH_IN, 2));
	push(op_notify(CH_OUT2, 3));
	cr_assert_eq(submit(SQ, false), 3);
	expect_cqe(0, 1, 0);
	expect_cqe(1, 2, 0);
	expect_cqe(2, 3, 0);
	cr_assert_eq(F.nrings, 3);
	cr_assert_eq(F.ring_ch[0], CH_OUT);
	cr_assert(F.ring_peer_consumer[0], "we produce on out: ring its consumer");
	cr_assert_eq(F.ring_ch[1], CH_IN);
	cr_assert_not(F.ring_peer_consumer[1], "we consume in: ring its producer");
	cr_assert_eq(F.ring_ch[2], CH_OUT2);
	cr_assert(F.ring_peer_consumer[2]);
	cr_assert_eq(F.chans[CH_OUT].notifies, 1);
	cr_assert_eq(F.chans[CH_IN].notifies, 1);
	cr_assert_eq(F.chans[CH_OUT2].notifies, 1);
	cr_assert_eq(F.chans[CH_FOREIGN].notifies, 0);
	cr_assert_eq(ctr.ops[VANITY_OP_NOTIFY], 3);
}

Test(ring_engine, notify_is_enodev_when_the_system_is_down)
{
	F.dead = true;
	push(op_notify(CH_OUT, 1));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 1, -ENODEV);
	cr_assert_eq(F.nrings, 0);
	cr_assert_eq(F.chans[CH_OUT].notifies, 0);
	/* A valid SQE issued: counted whatever its result. */
	cr_assert_eq(ctr.ops[VANITY_OP_NOTIFY], 1);
}

Test(ring_engine, yield_counts_for_enter_and_not_for_the_poller)
{
	push(op_yield(1));
	push(op_yield(2));
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(E.yields, 2);
	cr_assert_eq(vanity_engine_take_yields(&E), 2);
	cr_assert_eq(vanity_engine_take_yields(&E), 0);
	push(op_yield(3));
	cr_assert_eq(submit(SQ, true), 1);
	fill(op_yield(4), true);
	cr_assert_eq(submit(SQ, true), 1);
	cr_assert_eq(E.yields, 0, "the poller counted a YIELD");
	expect_cqe(0, 1, 0);
	expect_cqe(1, 2, 0);
	expect_cqe(2, 3, 0);
	expect_cqe(3, 4, 0);
	cr_assert_eq(ctr.ops[VANITY_OP_YIELD], 4);
}

/* ------------------------------------------------------------ malformed */

static const struct {
	const char *what;
	struct vanity_sqe sqe;
	int res;
} malformed[] = {
	{ "opcode past the last", { .opcode = VANITY_OP_LAST }, -EINVAL },
	{ "opcode 255", { .opcode = 255 }, -EINVAL },
	{ "nop with a flag", { .opcode = VANITY_OP_NOP, .flags = 1 }, -EINVAL },
	{ "nop with flag 0x80", { .opcode = VANITY_OP_NOP, .flags = 0x80 }, -EINVAL },
	{ "nop with resv[0]", { .resv = { 1 } }, -EINVAL },
	{ "nop with resv[3]'s top bit", { .resv = { [3] = 1ULL << 63 } }, -EINVAL },
	{ "nop with a channel", { .channel = 1 }, -EINVAL },
	{ "nop with a mask", { .mask = 1 }, -EINVAL },
	{ "nop with a timeout", { .timeout_ns = 1 }, -EINVAL },
	{ "yield with a channel", { .opcode = VANITY_OP_YIELD, .channel = 1 }, -EINVAL },
	{ "yield with a timeout", { .opcode = VANITY_OP_YIELD, .timeout_ns = -1 }, -EINVAL },
	{ "notify past the channels", { .opcode = VANITY_OP_NOTIFY, .channel = NCH }, -EINVAL },
	{ "notify channel 2^32-1", { .opcode = VANITY_OP_NOTIFY, .channel = 0xffffffffU }, -EINVAL },
	{ "notify a foreign channel", { .opcode = VANITY_OP_NOTIFY, .channel = CH_FOREIGN }, -EACCES },
	{ "notify with a mask", { .opcode = VANITY_OP_NOTIFY, .mask = 1 }, -EINVAL },
	{ "notify with a timeout", { .opcode = VANITY_OP_NOTIFY, .timeout_ns = 1 }, -EINVAL },
	{ "notify with resv[2]", { .opcode = VANITY_OP_NOTIFY, .resv = { [2] = 1 } }, -EINVAL },
	{ "wait with no mask", { .opcode = VANITY_OP_WAIT }, -EINVAL },
	{ "wait past the channels", { .opcode = VANITY_OP_WAIT, .channel = NCH, .mask = 1 }, -EINVAL },
	{ "wait whose mask runs past", { .opcode = VANITY_OP_WAIT, .channel = CH_OUT2, .mask = 2 }, -EINVAL },
	{ "wait on bit 63", { .opcode = VANITY_OP_WAIT, .mask = 1ULL << 63 }, -EINVAL },
	{ "wait channel 2^32-1", { .opcode = VANITY_OP_WAIT, .channel = 0xffffffffU, .mask = 1 }, -EINVAL },
	{ "wait on a foreign channel", { .opcode = VANITY_OP_WAIT, .channel = CH_FOREIGN, .mask = 1 }, -EACCES },
	{ "wait with a foreign bit", { .opcode = VANITY_OP_WAIT, .mask = 0x7 }, -EACCES },
	{ "wait with a flag", { .opcode = VANITY_OP_WAIT, .flags = 1, .mask = 1 }, -EINVAL },
	{ "timeout with a channel", { .opcode = VANITY_OP_TIMEOUT, .channel = 1, .timeout_ns = 1 }, -EINVAL },
	{ "timeout with a mask", { .opcode = VANITY_OP_TIMEOUT, .mask = 1, .timeout_ns = 1 }, -EINVAL },
	{ "timeout negative", { .opcode = VANITY_OP_TIMEOUT, .timeout_ns = -5 }, -EINVAL },
	{ "timeout with resv[1]", { .opcode = VANITY_OP_TIMEOUT, .timeout_ns = 1, .resv = { [1] = 1 } }, -EINVAL },
};

Test(ring_engine, each_malformed_sqe_gets_its_errno_and_the_ring_goes_on)
{
	unsigned int i, n = ARRAY_SIZE(malformed);
	struct vanity_sqe s;

	for (i = 0; i < n; i++) {
		s = malformed[i].sqe;
		s.user_data = 1000 + i;
		push(s);
		push(nop(2000 + i));
		cr_assert_eq(submit(SQ, i % 2 == 1), 2, "%s", malformed[i].what);
		cr_assert_eq(sqe_at(2 * i)->user_data, 1000 + i);
		expect_cqe(2 * i, 1000 + i, malformed[i].res);
		expect_cqe(2 * i + 1, 2000 + i, 0);
		see_all();
	}
	for (i = 0; i < VANITY_OP_LAST; i++)
		cr_assert_eq(ctr.ops[i], i == VANITY_OP_NOP ? n : 0,
			     "ops[%u] %llu", i, (unsigned long long)ctr.ops[i]);
	cr_assert_eq(ctr.submitted, 2 * n);
	cr_assert_eq(ctr.completed, 2 * n);
	cr_assert_eq(F.allocs, 0);
	cr_assert_eq(F.nrings, 0);
	expect_clean();
}

/* ------------------------------------------------------------ counters */

Test(ring_engine, counters_count_every_sqe_once)
{
	F.hdrs[CH_IN].head = 1;
	push(nop(1));
	push(op_notify(CH_OUT, 2));
	push(nop(3));
	push(op_yield(4));
	push(op_wait(CH_IN, 1, 0, 5));
	push(op_timeout(0, 6));
	push(op_timeout(50, 7));
	push(op_notify(CH_IN, 8));
	cr_assert_eq(submit(SQ, false), SQ);
	push(nop(9));
	push((struct vanity_sqe){ .opcode = VANITY_OP_LAST, .user_data = 10 });
	cr_assert_eq(submit(SQ, false), 2);
	cr_assert_eq(ctr.submitted, 10);
	cr_assert_eq(ctr.completed, 9);
	cr_assert_eq(ctr.ops[VANITY_OP_NOP], 3);
	cr_assert_eq(ctr.ops[VANITY_OP_NOTIFY], 2);
	cr_assert_eq(ctr.ops[VANITY_OP_YIELD], 1);
	cr_assert_eq(ctr.ops[VANITY_OP_WAIT], 1);
	cr_assert_eq(ctr.ops[VANITY_OP_TIMEOUT], 2);
	cr_assert_eq(ctr.overflows, 0);
	cr_assert_eq(ctr.poller_wakeups, 0);
	F.now += 50;
	cr_assert_eq(reap(F.now, NULL), 1);
	cr_assert_eq(ctr.completed, 10);
	cr_assert_eq(ctr.submitted, 10);
	expect_cqe(9, 7, -ETIME);
	cr_assert_eq(vanity_engine_cq_unseen(&E), 10);
	see_all();
	cr_assert_eq(vanity_engine_cq_unseen(&E), 0);
	expect_clean();
}

/* ------------------------------------------------------------ SQPOLL idle */

Test(ring_engine, idle_poller_sleeps_when_nothing_is_pending)
{
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_SLEEP);
	cr_assert(rd(off.sq_flags) & VANITY_SQ_NEED_WAKEUP);
	vanity_engine_idle_end(&E, true);
	cr_assert_eq(rd(off.sq_flags) & VANITY_SQ_NEED_WAKEUP, 0);
	cr_assert_eq(ctr.poller_wakeups, 1);
	/* An SQE written but neither stamped nor published is not work. */
	fill(nop(1), false);
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_SLEEP);
	vanity_engine_idle_end(&E, false);
	cr_assert_eq(ctr.poller_wakeups, 1, "a wakeup counted without a sleep");
}

Test(ring_engine, idle_poller_stays_busy_for_a_stamped_sqe_or_a_moved_tail)
{
	fill(nop(1), true);
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_BUSY);
	cr_assert(rd(off.sq_flags) & VANITY_SQ_NEED_WAKEUP);
	vanity_engine_idle_end(&E, false);
	cr_assert_eq(rd(off.sq_flags), 0);
	cr_assert_eq(submit(SQ, true), 1);
	push(nop(2));
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_BUSY);
	vanity_engine_idle_end(&E, false);
	cr_assert_eq(submit(SQ, true), 1);
	cr_assert_eq(vanity_engine_idle_begin(&E, false), VANITY_IDLE_SLEEP);
	vanity_engine_idle_end(&E, true);
	cr_assert_eq(ctr.poller_wakeups, 1);
}

Test(ring_engine, idle_poller_naps_on_a_full_cq_until_room_appears)
{
	nops(CQ, 0, true);
	push(nop(CQ));
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(vanity_engine_idle_begin(&E, true), VANITY_IDLE_NAP);
	cr_assert(rd(off.sq_flags) & VANITY_SQ_NEED_WAKEUP);
	vanity_engine_idle_end(&E, true);
	cr_assert_eq(ctr.poller_wakeups, 1);
	wr(off.cq_head, 1);
	cr_assert_eq(vanity_engine_idle_begin(&E, true), VANITY_IDLE_BUSY);
	vanity_engine_idle_end(&E, false);
	cr_assert_eq(ctr.poller_wakeups, 1);
	cr_assert_eq(submit(SQ, true), 1);
	expect_cqe(CQ, CQ, 0);
}

Test(ring_engine, idle_poller_naps_while_armed_ops_hold_the_room)
{
	unsigned int i;

	for (i = 0; i < SQ; i++)
		push(op_timeout(10, i));
	cr_assert_eq(submit(SQ, true), SQ);
	nops(SQ, 100, true);
	push(nop(200));
	cr_assert_eq(submit(SQ, true), -EBUSY);
	cr_assert_eq(vanity_engine_idle_begin(&E, true), VANITY_IDLE_NAP);
	vanity_engine_idle_end(&E, true);
	see_all();				/* the 8 NOPs: room for 8 */
	cr_assert_eq(vanity_engine_idle_begin(&E, true), VANITY_IDLE_BUSY);
	vanity_engine_idle_end(&E, false);
	cancel_all();
	expect_clean();
}

/* ------------------------------------------------------------ hostile */

Test(ring_engine, sq_head_is_the_consumed_count_after_each_batch)
{
	u32 total = 0, k, i;

	for (k = 1; k <= SQ; k++) {
		for (i = 0; i < k; i++)
			push(nop(total + i));
		cr_assert_eq(submit(SQ, k % 2), (int)k);
		for (i = 0; i < k; i++)
			expect_cqe(total + i, total + i, 0);
		total += k;
		cr_assert_eq(rd(off.sq_head), total);
		cr_assert_eq(rd(off.cq_tail), total);
		see_all();
	}
	cr_assert_eq(ctr.submitted, total);
}

Test(ring_engine, sq_head_and_cq_tail_are_published_once_per_batch)
{
	unsigned int i;

	push(nop(1));
	push(op_notify(CH_OUT, 2));
	push(nop(3));
	push(op_timeout(0, 4));
	push(nop(5));
	cr_assert_eq(submit_traced(SQ, false), 5);
	cr_assert_eq(F.ntraced, 5);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(F.traced_sq_head[i], 0, "sq_head moved at SQE %u", i);
		cr_assert_eq(F.traced_cq_tail[i], 0, "cq_tail moved at SQE %u", i);
	}
	cr_assert_eq(rd(off.sq_head), 5);
	cr_assert_eq(rd(off.cq_tail), 5);
	cr_assert_eq(F.ncqes_traced, 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(F.traced_cqe_ud[i], i + 1);
	fill(nop(6), true);
	fill(nop(7), true);
	cr_assert_eq(submit_traced(SQ, true), 2);
	cr_assert_eq(F.traced_sq_head[5], 5);
	cr_assert_eq(F.traced_sq_head[6], 5);
	cr_assert_eq(rd(off.sq_head), 7);
}

Test(ring_engine, a_wild_sq_tail_consumes_at_most_a_ring)
{
	unsigned int i;

	for (i = 0; i < SQ; i++)
		fill(nop(i), false);
	wr(off.sq_tail, 10 * SQ);
	cr_assert_eq(submit(1000, false), SQ);
	cr_assert_eq(rd(off.sq_head), SQ);
	see_all();
	cr_assert_eq(submit(1000, true), SQ);
	cr_assert_eq(rd(off.sq_head), 2 * SQ);
	see_all();
	wr(off.sq_tail, 2 * SQ + SQ + 1);	/* one past a ring */
	cr_assert_eq(submit(1000, false), SQ);
	see_all();
	/* Up to a ring behind the head: nothing. */
	wr(off.sq_tail, 3 * SQ - 1);
	cr_assert_eq(submit(1000, false), 0);
	wr(off.sq_tail, 2 * SQ);
	cr_assert_eq(submit(1000, false), 0);
	cr_assert_eq(submit(1000, true), 0);
	cr_assert_eq(ctr.submitted, 3 * SQ);
}

Test(ring_engine, a_shard_stamping_as_fast_as_the_poller_gets_a_ring_per_look)
{
	fill(nop(1), true);
	F.stamp_ahead = true;
	cr_assert_eq(submit_traced(1000, true), SQ);
	cr_assert_eq(rd(off.sq_head), SQ);
	cr_assert_eq(rd(off.cq_tail), SQ);
	cr_assert_eq(ctr.submitted, SQ);
	cr_assert_eq(submit_traced(1000, true), SQ, "the CQ has room for 8");
	cr_assert_eq(submit_traced(1000, true), -EBUSY);
	cr_assert_eq(ctr.submitted, 2 * SQ);
}

Test(ring_engine, a_scribbled_cq_overflow_is_rewritten_from_the_engine_count)
{
	nops(CQ, 0, false);
	push(nop(CQ));
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(rd(off.cq_overflow), 1);
	wr(off.cq_overflow, 12345);
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(rd(off.cq_overflow), 2);
	cr_assert_eq(ctr.overflows, 2);
	wr(off.cq_overflow, 0);
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(rd(off.cq_overflow), 3);
}

/*
 * The engine re-reads cq_head only when the head it last read leaves too
 * little room: a head past the tail then reads as a full CQ.
 */
Test(ring_engine, a_cq_head_past_the_tail_only_costs_the_shard_its_cqes)
{
	nops(CQ, 0, false);
	wr(off.cq_head, CQ + 1000);
	push(nop(CQ));
	cr_assert_eq(submit(SQ, false), -EBUSY);
	cr_assert_eq(rd(off.sq_head), CQ);
	wr(off.cq_head, 0xffffffffU);		/* behind by more than a CQ */
	cr_assert_eq(submit(SQ, false), -EBUSY);
	wr(off.cq_head, CQ);
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(CQ, CQ, 0);
	cr_assert_eq(ctr.overflows, 2);
}

/* ------------------------------------------------------------ IRQ_WAIT */

Test(ring_engine, irq_wait_refuses_what_the_shard_may_not_wait_for)
{
	unsigned int i;

	push(op_irq(NDEV, 1, -1, 1));		/* no such device */
	push(op_irq(DEV_DISK, 1, -1, 2));	/* shard 1's */
	push(op_irq(DEV_NIC, 0, -1, 3));	/* no vector */
	push(op_irq(DEV_NIC, 1ULL << NVEC, -1, 4));	/* past its vectors */
	push(op_irq(DEV_NIC, ~0ULL, -1, 5));
	push(op_irq(DEV_QUIET, 1, -1, 6));	/* it has no vectors */
	cr_assert_eq(submit(SQ, false), 6);
	expect_cqe(0, 1, -EINVAL);
	expect_cqe(1, 2, -EACCES);
	expect_cqe(2, 3, -EINVAL);
	expect_cqe(3, 4, -EINVAL);
	expect_cqe(4, 5, -EINVAL);
	expect_cqe(5, 6, -ENODEV);
	cr_assert_eq(F.irq_watches, 0, "a refused IRQ_WAIT was watched");
	for (i = 0; i < NVEC; i++)
		cr_assert_eq(F.pending[DEV_NIC][i], 0);
	expect_clean();
}

Test(ring_engine, irq_wait_whose_watch_fails_leaves_nothing_armed)
{
	F.irq_watch_fail = true;
	push(op_irq(DEV_NIC, 1, -1, 7));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 7, -ENODEV);
	expect_clean();
}

Test(ring_engine, irq_wait_takes_events_that_came_before_it_lowest_vector_first)
{
	F.pending[DEV_NIC][3] = 2;
	F.pending[DEV_NIC][1] = 1;
	push(op_irq(DEV_NIC, 0xa, -1, 10));	/* vectors 1 and 3 */
	push(op_irq(DEV_NIC, 0xa, -1, 11));
	push(op_irq(DEV_NIC, 0xa, 0, 12));	/* a poll: nothing left */
	cr_assert_eq(submit(SQ, false), 3);
	expect_cqe(0, 10, 1);
	/* Both events of vector 3 fold into one completion. */
	expect_cqe(1, 11, 3);
	expect_cqe(2, 12, -ETIME);
	cr_assert_eq(F.pending[DEV_NIC][1], 0);
	cr_assert_eq(F.pending[DEV_NIC][3], 0);
	cr_assert_eq(F.irq_watches, 3);
	expect_clean();
}

Test(ring_engine, an_interrupt_posts_the_cqe_itself_when_the_cq_is_free)
{
	u32 wakes;

	push(op_irq(DEV_NIC, 0x4, -1, 20));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(E.reserved, 1);
	interrupt(DEV_NIC, 1);			/* not armed on */
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(F.nirq_claimed, 0);
	wakes = F.wake_cq;
	interrupt(DEV_NIC, 2);
	/* Posted from the interrupt, before any lock-holder's completion. */
	expect_cqe(0, 20, 2);
	cr_assert_eq(F.wake_cq, wakes + 1, "the interrupt woke no CQ waiter");
	cr_assert_eq(E.reserved, 0, "the posted CQE still holds its slot");
	cr_assert_eq(F.pending[DEV_NIC][2], 0);
	cr_assert_eq(F.pending[DEV_NIC][1], 1, "vector 1's event was taken");
	cr_assert_eq(ctr.completed, 1);
	/* A second interrupt before the op is freed claims nothing more. */
	interrupt(DEV_NIC, 2);
	cr_assert_eq(rd(off.cq_tail), 1);
	cr_assert_eq(F.pending[DEV_NIC][2], 1);
	cr_assert_eq(F.nirq_claimed, 1);
	complete_claimed();
	cr_assert_eq(rd(off.cq_tail), 1, "completion posted a second CQE");
	cr_assert_eq(ctr.completed, 1);
	expect_clean();
}

Test(ring_engine, an_interrupt_leaves_its_cqe_to_the_cqs_owner)
{
	push(op_irq(DEV_NIC, 0x1, -1, 30));
	cr_assert_eq(submit(SQ, false), 1);
	vanity_cq_own(&E);		/* a batch, or a completion, has it */
	interrupt(DEV_NIC, 0);
	cr_assert_eq(rd(off.cq_tail), 0, "posted under the CQ's owner");
	cr_assert_eq(E.cq_owner, VANITY_CQ_OWNED_POSTING);
	cr_assert_eq(E.reserved, 1);
	/* The owner posts it as it lets go. */
	cr_assert_eq(vanity_cq_unown(&E, &plat), 1);
	expect_cqe(0, 30, 0);
	cr_assert_eq(E.reserved, 0);
	complete_claimed();
	cr_assert_eq(rd(off.cq_tail), 1);
	expect_clean();
}

Test(ring_engine, an_interrupt_during_a_batch_is_posted_as_the_batch_ends)
{
	unsigned int i;

	push(op_irq(DEV_NIC, 0x1, -1, 40));
	cr_assert_eq(submit(SQ, false), 1);
	/* Vector 0 fires while the batch's second NOP is issued. */
	F.irq_at_trace = 2;
	for (i = 0; i < 4; i++)
		push(nop(41 + i));
	cr_assert_eq(submit_traced(SQ, false), 4);
	cr_assert_eq(F.irq_at_trace, 0, "the interrupt never fired");
	cr_assert_eq(F.irq_owner_seen, VANITY_CQ_OWNED_POSTING,
		     "the interrupt did not find the batch owning the CQ");
	/* The batch's CQEs first, then the interrupt's as it let go. */
	for (i = 0; i < 4; i++)
		expect_cqe(i, 41 + i, 0);
	expect_cqe(4, 40, 0);
	cr_assert_eq(E.cq_owner, VANITY_CQ_FREE);
	complete_claimed();
	cr_assert_eq(rd(off.cq_tail), 5);
	expect_clean();
}

Test(ring_engine, an_interrupt_that_claims_while_irq_wait_arms_completes_it_once)
{
	u32 before;

	F.irq_in_watch = true;		/* vector 0 fires as the op is watched */
	push(op_irq(DEV_NIC, 0x1, -1, 50));
	push(nop(51));
	before = F.wake_cq;
	cr_assert_eq(submit(SQ, false), 2);
	/* The batch owned the CQ: the interrupt's CQE came as it let go. */
	cr_assert_eq(rd(off.cq_tail), 2);
	expect_cqe(0, 51, 0);
	expect_cqe(1, 50, 0);
	cr_assert_gt(F.wake_cq, before);
	cr_assert_eq(E.reserved, 0);
	cr_assert_not_null(E.armed, "the claimed op must stay linked until freed");
	complete_claimed();
	cr_assert_eq(rd(off.cq_tail), 2);
	cr_assert_eq(ctr.completed, 2);
	expect_clean();
}

Test(ring_engine, irq_wait_times_out_and_leaves_later_events_pending)
{
	push(op_irq(DEV_NIC, 0x1, 100, 60));
	cr_assert_eq(submit(SQ, false), 1);
	cr_assert_eq(F.timer_starts, 1);
	F.now += 100;
	cr_assert_eq(reap(F.now, NULL), 1);
	expect_cqe(0, 60, -ETIME);
	interrupt(DEV_NIC, 0);
	cr_assert_eq(F.pending[DEV_NIC][0], 1, "the event went with the op");
	cr_assert_eq(rd(off.cq_tail), 1);
	/* The next IRQ_WAIT has it. */
	push(op_irq(DEV_NIC, 0x1, -1, 61));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(1, 61, 0);
	expect_clean();
}

Test(ring_engine, an_op_claimed_otherwise_takes_no_event)
{
	struct vanity_armed *a;

	push(op_irq(DEV_NIC, 0x1, 100, 70));
	cr_assert_eq(submit(SQ, false), 1);
	a = E.armed;
	cr_assert(vanity_armed_claim(a, -ETIME), "the timer lost a live op");
	interrupt(DEV_NIC, 0);
	cr_assert_eq(F.nirq_claimed, 0);
	cr_assert_eq(F.pending[DEV_NIC][0], 1, "a claimed op took the event");
	vanity_engine_complete(&E, &plat, a);
	expect_cqe(0, 70, -ETIME);
	expect_clean();
}

Test(ring_engine, irq_wait_is_enodev_when_the_system_is_down)
{
	push(op_irq(DEV_NIC, 0x1, -1, 80));
	cr_assert_eq(submit(SQ, false), 1);
	F.dead = true;
	interrupt(DEV_NIC, 0);
	expect_cqe(0, 80, -ENODEV);
	complete_claimed();
	push(op_irq(DEV_NIC, 0x1, -1, 81));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(1, 81, -ENODEV);
	expect_clean();
}

Test(ring_engine, detach_cancels_armed_irq_waits_and_later_interrupts_post_nothing)
{
	push(op_irq(DEV_NIC, 0x3, -1, 90));
	push(op_irq(DEV_NIC, 0x2, -1, 91));
	cr_assert_eq(submit(SQ, false), 2);
	cancel_all();
	cr_assert_eq(F.irq_unwatches, 2);
	interrupt(DEV_NIC, 1);
	cr_assert_eq(rd(off.cq_tail), 0);
	cr_assert_eq(F.pending[DEV_NIC][1], 1);
	/* Closing: nothing arms until the next attachment. */
	push(op_irq(DEV_NIC, 0x2, -1, 92));
	cr_assert_eq(submit(SQ, false), 1);
	expect_cqe(0, 92, -ENODEV);
	expect_clean();
}

Test(ring_engine, an_interrupt_claim_that_detach_meets_posts_nothing_and_is_freed)
{
	bool busy;

	push(op_irq(DEV_NIC, 0x1, -1, 100));
	cr_assert_eq(submit(SQ, false), 1);
	vanity_cq_own(&E);
	interrupt(DEV_NIC, 0);		/* claimed, left for the owner */
	/* Detach begins before the owner lets go: closing. */
	E.closing = true;
	cr_assert_eq(vanity_cq_unown(&E, &plat), 0);
	cr_assert_eq(rd(off.cq_tail), 0, "a CQE reached a detaching ring");
	cr_assert_null(vanity_engine_cancel_next(&E, &plat, &busy));
	cr_assert(busy, "the claimed op was not waited for");
	complete_claimed();
	cr_assert_null(vanity_engine_cancel_next(&E, &plat, &busy));
	cr_assert_not(busy);
	cr_assert_eq(rd(off.cq_tail), 0);
	expect_clean();
}

Test(ring_engine, interrupts_of_several_armed_ops_post_in_arrival_order)
{
	push(op_irq(DEV_NIC, 0x1, -1, 110));
	push(op_irq(DEV_NIC, 0x2, -1, 111));
	push(op_irq(DEV_NIC, 0x4, -1, 112));
	cr_assert_eq(submit(SQ, false), 3);
	vanity_cq_own(&E);
	interrupt(DEV_NIC, 2);
	interrupt(DEV_NIC, 0);
	interrupt(DEV_NIC, 1);
	cr_assert_eq(vanity_cq_unown(&E, &plat), 3);
	expect_cqe(0, 112, 2);
	expect_cqe(1, 110, 0);
	expect_cqe(2, 111, 1);
	complete_claimed();
	cr_assert_eq(rd(off.cq_tail), 3);
	expect_clean();
}

Test(ring_engine, one_interrupt_completes_one_of_two_ops_on_its_vector)
{
	push(op_irq(DEV_NIC, 0x1, -1, 120));
	push(op_irq(DEV_NIC, 0x1, -1, 121));
	cr_assert_eq(submit(SQ, false), 2);
	interrupt(DEV_NIC, 0);
	cr_assert_eq(rd(off.cq_tail), 1, "one event completed two ops");
	cr_assert_eq(F.nirq_claimed, 1);
	interrupt(DEV_NIC, 0);
	cr_assert_eq(rd(off.cq_tail), 2);
	complete_claimed();
	cr_assert_eq(cqe_at(0)->res, 0);
	cr_assert_eq(cqe_at(1)->res, 0);
	cr_assert_neq(cqe_at(0)->user_data, cqe_at(1)->user_data);
	expect_clean();
}
