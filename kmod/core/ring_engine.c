// SPDX-License-Identifier: GPL-2.0
/*
 * The ring engine's cold half: a ring's setup and reset, and the armed
 * ops of WAIT and TIMEOUT from issue to completion or cancellation. The
 * hot half (the submit loop, issue, CQ posting) is inline in
 * ring_engine.h.
 */
#include "ring_engine.h"
#include "image.h"

/* vanity_engine_issue has a case for each opcode; a new one fails here. */
_Static_assert(VANITY_OP_LAST == 6, "vanity_engine_issue: one case per opcode");
/* The devices a shard owns are bits of one word. */
_Static_assert(VANITY_MAX_DEVICES <= 64, "vanity_op_ctx.devices");

void vanity_engine_init(struct vanity_engine *e, void *mem,
			const struct vanity_ring_offsets *off, const void *img,
			u32 shard, struct vanity_ring_ctr *ctr)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	u8 *p = mem;
	unsigned int i;

	memset(e, 0, sizeof(*e));
	e->sq_head = (u32 *)(p + off->sq_head);
	e->sq_tail = (u32 *)(p + off->sq_tail);
	e->sq_flags = (u32 *)(p + off->sq_flags);
	e->cq_head = (u32 *)(p + off->cq_head);
	e->cq_tail = (u32 *)(p + off->cq_tail);
	e->cq_overflow = (u32 *)(p + off->cq_overflow);
	e->sqes = (const u64 *)(p + off->sqes);
	e->cqes = (u64 *)(p + off->cqes);
	e->sq_entries = off->sq_entries;
	e->cq_entries = off->cq_entries;
	e->shard = shard;
	e->img = img;
	e->ctr = ctr;
	e->ctx.nchannels = h->channel_count;
	for (i = 0; i < h->channel_count; i++) {
		const struct vanity_image_channel *c =
			vanity_image_channel(img, i);

		if (c->from == shard)
			e->produces[i / 64] |= 1ULL << (i % 64);
		if (c->from == shard || c->to == shard)
			e->ctx.endpoint[i / 64] |= 1ULL << (i % 64);
	}
	e->ctx.ndevices = vanity_image_device_count(img);
	for (i = 0; i < e->ctx.ndevices; i++)
		if (vanity_image_device(img, i)->shard == shard)
			e->ctx.devices |= 1ULL << i;
	e->armed_end = &e->armed;
	vanity_engine_reset(e);
}

void vanity_engine_reset(struct vanity_engine *e)
{
	e->head = 0;
	e->cqt = 0;
	e->cq_head_seen = 0;
	e->overflow_priv = 0;
	e->yields = 0;
	e->cq_full = false;
	e->closing = false;
	e->cq_owner = VANITY_CQ_FREE;
	e->posting = NULL;
	VANITY_WRITE_ONCE(*e->sq_head, 0);
	VANITY_WRITE_ONCE(*e->sq_tail, 0);
	VANITY_WRITE_ONCE(*e->sq_flags, 0);
	VANITY_WRITE_ONCE(*e->cq_head, 0);
	VANITY_WRITE_ONCE(*e->cq_tail, 0);
	VANITY_WRITE_ONCE(*e->cq_overflow, 0);
	/* No stamp of the last attachment may match one of this one's. */
	memset((void *)e->sqes, 0,
	       (size_t)e->sq_entries * sizeof(struct vanity_sqe));
	memset(e->cqes, 0, (size_t)e->cq_entries * sizeof(struct vanity_cqe));
}

int vanity_engine_ops_check(void)
{
	return vanity_opdefs_check();
}

/* ------------------------------------------------------------- armed ops */

/* Onto the list, oldest first, holding a CQE slot until it posts. */
static void armed_link(struct vanity_engine *e, struct vanity_armed *a)
{
	a->next = NULL;
	a->pprev = e->armed_end;
	*e->armed_end = a;
	e->armed_end = &a->next;
	e->reserved++;
}

/* Off the list; its slot goes too unless its CQE took it. Owning the CQ. */
static void armed_unlink(struct vanity_engine *e, struct vanity_armed *a)
{
	*a->pprev = a->next;
	if (a->next)
		a->next->pprev = a->pprev;
	else
		e->armed_end = a->pprev;
	if (!a->posted)
		e->reserved--;
}

/*
 * Release every hold of @a: its timer, its device's interrupts, then each
 * end's watch; the last armed WAIT of an end takes the ring's bit of its
 * flag down.
 */
static void armed_disarm(struct vanity_engine *e,
			 const struct vanity_ring_platform *plat,
			 struct vanity_armed *a)
{
	struct vanity_armed_end *w;
	unsigned int i;

	if (a->timed)
		plat->timer_cancel(e, a);
	a->timed = false;
	if (a->irq_watched)
		plat->irq_unwatch(e, a);
	a->irq_watched = false;
	for (i = 0; i < a->n; i++) {
		w = &a->w[i];
		/* The flag first: unwatch lets the header's page go. */
		if (!VANITY_ATOMIC_ADD32(&w->c->ring_waits[w->consumer], -1))
			vanity_bell_lower(vanity_bell_flag(w->hdr, w->consumer),
					  VANITY_WAITING_RING);
		plat->unwatch(e, a, i);
	}
	VANITY_WRITE_ONCE(a->n, 0);
}

/* Post @a's CQE (unless detaching) into the slot it held. Owning the CQ. */
static unsigned int armed_post(struct vanity_engine *e,
			       const struct vanity_ring_platform *plat,
			       struct vanity_armed *a)
{
	a->posted = true;
	e->reserved--;
	if (e->closing)
		return 0;
	vanity_engine_post(e, plat, a->user_data, a->res);
	vanity_ctr_add(&e->ctr->completed, 1);
	return 1;
}

unsigned int vanity_cq_post_pending(struct vanity_engine *e,
				    const struct vanity_ring_platform *plat)
{
	struct vanity_armed *a = VANITY_XCHG(&e->posting, NULL), *old = NULL;
	struct vanity_armed *nx;
	unsigned int n = 0;

	/* Pushed newest first: posted oldest first. */
	for (; a; a = nx) {
		nx = a->post_next;
		a->post_next = old;
		old = a;
	}
	for (a = old; a; a = nx) {
		nx = a->post_next;
		n += armed_post(e, plat, a);
	}
	return n;
}

bool vanity_engine_irq_event(struct vanity_engine *e,
			     const struct vanity_ring_platform *plat,
			     struct vanity_armed *a, bool dead)
{
	struct vanity_armed *old;
	unsigned int n;
	int s;

	/* In the device's wake: a give-back is seen by the next op it asks. */
	if (vanity_armed_decide(a, dead, false))
		return false;
	do {
		old = VANITY_READ_ONCE(e->posting);
		a->post_next = old;
	} while (VANITY_CMPXCHG(&e->posting, old, a) != old);
	/* Post it ourselves, or leave it marked for the CQ's owner. */
	for (;;) {
		s = VANITY_READ_ONCE(e->cq_owner);
		if (s == VANITY_CQ_FREE) {
			if (!vanity_cq_try_own(e))
				continue;
			/* Posted while owning, then the owner's own drain. */
			n = vanity_cq_post_pending(e, plat);
			n += vanity_cq_unown(e, plat);
			if (n)
				plat->wake_cq(e);
			break;
		}
		if (s == VANITY_CQ_OWNED_POSTING ||
		    VANITY_CMPXCHG(&e->cq_owner, VANITY_CQ_OWNED,
				   VANITY_CQ_OWNED_POSTING) == VANITY_CQ_OWNED)
			break;
	}
	return true;
}

void vanity_engine_complete(struct vanity_engine *e,
			    const struct vanity_ring_platform *plat,
			    struct vanity_armed *a)
{
	/*
	 * Flags down and the op gone before the CQE that says it is over:
	 * whoever reaps it sees nothing of it left. An interrupt may have
	 * posted it already, or left it for the CQ's owner: posted first.
	 */
	armed_disarm(e, plat, a);
	vanity_cq_own(e);
	vanity_cq_post_pending(e, plat);
	if (!a->posted)
		armed_post(e, plat, a);
	armed_unlink(e, a);
	vanity_cq_unown(e, plat);
	plat->free(e, a);
}

unsigned int vanity_engine_reap(struct vanity_engine *e,
				const struct vanity_ring_platform *plat,
				s64 now, s64 *next)
{
	struct vanity_armed *a = e->armed, *nx;
	bool dead = plat->dead(e);
	s64 near = VANITY_NEVER;
	unsigned int done = 0;
	int d;

	for (; a; a = nx) {
		nx = a->next;
		d = vanity_armed_decide(a, dead, a->deadline != VANITY_NEVER &&
					now >= a->deadline);
		if (!d) {
			vanity_engine_complete(e, plat, a);
			done++;
		} else if (d > 0 && a->deadline < near) {
			near = a->deadline;
		}
	}
	if (next)
		*next = near;
	return done;
}

struct vanity_armed *vanity_engine_cancel_next(struct vanity_engine *e,
					       const struct vanity_ring_platform *plat,
					       bool *busy)
{
	struct vanity_armed *a = e->armed;

	e->closing = true;
	*busy = false;
	if (!a)
		return NULL;
	if (!vanity_armed_claim(a, -ECANCELED)) {
		*busy = true;
		return NULL;
	}
	vanity_cq_own(e);
	armed_unlink(e, a);
	vanity_cq_unown(e, plat);
	return a;
}

void vanity_engine_discard(struct vanity_engine *e,
			   const struct vanity_ring_platform *plat,
			   struct vanity_armed *a)
{
	armed_disarm(e, plat, a);
	plat->free(e, a);
}

/*
 * Queue @a, which did not complete at submission: on the list with its
 * slot reserved, and its timer started for a deadline. A doorbell may
 * have claimed it already: its completion takes the ring lock we hold,
 * so finds it on the list.
 */
static int armed_queue(struct vanity_engine *e,
		       const struct vanity_ring_platform *plat,
		       struct vanity_armed *a, bool timer)
{
	armed_link(e, a);
	if (timer && a->deadline != VANITY_NEVER) {
		a->timed = true;
		plat->timer_start(e, a);
	}
	return VANITY_QUEUED;
}

static struct vanity_armed *armed_new(struct vanity_engine *e,
				      const struct vanity_ring_platform *plat,
				      const struct vanity_sqe *sqe,
				      unsigned int nends)
{
	struct vanity_armed *a = plat->alloc(e, nends);

	if (!a)
		return NULL;
	a->next = NULL;
	a->pprev = NULL;
	a->user_data = sqe->user_data;
	a->state = VANITY_ARMED_LIVE;
	a->res = 0;
	a->strong = true;
	a->timed = false;
	a->irq_watched = false;
	a->posted = false;
	a->op = sqe->opcode;
	a->n = 0;
	a->dev = 0;
	a->vmask = 0;
	a->pending = NULL;
	a->post_next = NULL;
	a->deadline = sqe->timeout_ns > 0 ?
		vanity_deadline_after(plat->now(e), sqe->timeout_ns) :
		VANITY_NEVER;
	return a;
}

/*
 * WAIT: level-triggered over the channels of the mask. The op's memory
 * first (nothing to undo if there is none); then, for each end, the
 * platform's watch and the ring's bit of the end's waiting flag, so the
 * peer's fast path rings; a full barrier, and one on each distinct peer's
 * CPUs, so the flags and the peers' stores are mutually visible; then one
 * look. A ready channel's bit (the lowest), or -ETIME for a poll (timeout
 * 0), completes now; else the op stays armed with its deadline.
 */
int vanity_engine_wait(struct vanity_engine *e,
		       const struct vanity_ring_platform *plat,
		       const struct vanity_sqe *sqe)
{
	const struct vanity_image_channel *d;
	struct vanity_armed_end *w;
	unsigned int n = 0, bit, i, j;
	struct vanity_armed *a;
	int ret;

	/* Down, or detaching: cancel_all has run, nothing may arm after it. */
	if (plat->dead(e) || e->closing)
		return -ENODEV;
	for (bit = 0; bit < 64; bit++)
		n += (sqe->mask >> bit) & 1;
	a = armed_new(e, plat, sqe, n);
	if (!a)
		return -ENOMEM;
	for (bit = 0; bit < 64; bit++) {
		if (!((sqe->mask >> bit) & 1))
			continue;
		/* Validated: the channel exists and the shard is an end. */
		w = &a->w[a->n];
		w->chan = (u16)(sqe->channel + bit);
		d = vanity_image_channel(e->img, w->chan);
		w->bit = (u8)bit;
		w->consumer = d->to == e->shard;
		w->peer = w->consumer ? d->from : d->to;
		w->slots = d->slots;
		w->c = plat->chan(e, w->chan);
		w->hdr = NULL;
		ret = plat->watch(e, a, a->n);
		if (ret)
			goto out;
		VANITY_ATOMIC_ADD32(&w->c->ring_waits[w->consumer], 1);
		vanity_bell_raise(vanity_bell_flag(w->hdr, w->consumer),
				  VANITY_WAITING_RING);
		/* Release: a doorbell's decide sees the end before n covers it. */
		VANITY_STORE_RELEASE(&a->n, a->n + 1);
	}
	/* Our flags visible before the peers run their barrier. */
	VANITY_SMP_MB();
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < i; j++)
			if (a->w[j].peer == a->w[i].peer)
				break;
		if (j == i && !plat->peer_barrier(e, a->w[i].peer))
			a->strong = false;
	}
	ret = VANITY_QUEUED;	/* nothing ready yet */
	if (plat->dead(e))
		ret = -ENODEV;
	for (i = 0; ret == VANITY_QUEUED && i < a->n; i++)
		if (vanity_armed_end_ready(&a->w[i]))
			ret = a->w[i].bit;
	if (ret == VANITY_QUEUED && sqe->timeout_ns)
		return armed_queue(e, plat, a, true);
	if (ret == VANITY_QUEUED)
		ret = -ETIME;		/* a poll: nothing is ready */
out:
	/* A doorbell claimed it meanwhile: its completion is on its way. */
	if (!vanity_armed_claim(a, ret))
		return armed_queue(e, plat, a, false);
	vanity_engine_discard(e, plat, a);
	return ret;
}

/* TIMEOUT: -ETIME after timeout_ns (0: at once), armed meanwhile. */
int vanity_engine_timeout(struct vanity_engine *e,
			  const struct vanity_ring_platform *plat,
			  const struct vanity_sqe *sqe)
{
	struct vanity_armed *a;

	if (!sqe->timeout_ns)
		return -ETIME;
	if (e->closing)
		return -ENODEV;
	a = armed_new(e, plat, sqe, 0);
	if (!a)
		return -ENOMEM;
	/* A deadline past the clock's end: armed until detach, no timer. */
	return armed_queue(e, plat, a, true);
}

/*
 * IRQ_WAIT: the device's vectors must cover the mask. Watched, then one
 * look: pending events (interrupts before arming count), or -ETIME for a
 * poll, complete now; else armed with its deadline. An interrupt may
 * claim it as soon as it is watched: we own the CQ (in submit), so its
 * CQE waits on the posting stack until the op is linked and its slot
 * held, and is posted as submit lets the CQ go.
 */
int vanity_engine_irq_wait(struct vanity_engine *e,
			   const struct vanity_ring_platform *plat,
			   const struct vanity_sqe *sqe)
{
	struct vanity_armed *a;
	u32 *pending, nvec = 0;
	int d, ret;

	if (plat->dead(e) || e->closing)
		return -ENODEV;
	pending = plat->irq_vectors ? plat->irq_vectors(e, sqe->channel, &nvec) :
		  NULL;
	if (!pending || !nvec)
		return -ENODEV;
	if (nvec < 64 && sqe->mask >> nvec)
		return -EINVAL;
	a = armed_new(e, plat, sqe, 0);
	if (!a)
		return -ENOMEM;
	a->dev = sqe->channel;
	a->vmask = sqe->mask;
	VANITY_STORE_RELEASE(&a->pending, pending);
	ret = plat->irq_watch(e, a);
	if (ret) {
		plat->free(e, a);
		return ret;
	}
	a->irq_watched = true;
	d = vanity_armed_decide_irq(a, plat->dead(e), !sqe->timeout_ns);
	if (d > 0)
		return armed_queue(e, plat, a, true);
	/* Events we took and gave back: the device's other ops look again. */
	if (d == VANITY_ARMED_GAVE_BACK)
		plat->irq_kick(e, a->dev);
	if (d < 0)	/* an interrupt claimed it: its CQE is on its way */
		return armed_queue(e, plat, a, false);
	ret = a->res;
	vanity_engine_discard(e, plat, a);
	return ret;
}
