/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity's submission ring: get, prep and submit SQEs, peek and reap
 * CQEs, inline as in liburing. Included by <vanity.h>; usable alone.
 */
#ifndef VANITY_RING_H
#define VANITY_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <linux/vanity.h>
#include <vanity/arch.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vanity;
struct vanity_channel;

/*
 * The submission ring, liburing style: get an SQE, prep it, submit (one
 * ENTER for the batch, or none under SQPOLL unless the poller sleeps),
 * then peek or wait for CQEs and mark them seen. One thread per ring.
 * Under SQPOLL submitting stamps each SQE; peeking reads each CQE's stamp
 * (see VANITY_STAMP in the UAPI), so each side polls the line it is
 * about to read, not an index on a line of its own.
 */
struct vanity_ring {
	uint32_t *sq_head, *sq_tail, *sq_flags;
	uint32_t sq_mask, sq_entries;
	uint32_t sqe_tail;		/* SQEs handed out, maybe not submitted */
	uint32_t sq_head_seen;		/* *sq_head as last read */
	struct vanity_sqe *sqes;
	uint32_t *cq_head, *cq_tail, *cq_overflow;
	uint32_t cq_mask;
	struct vanity_cqe *cqes;
	int fd;
	int sqpoll;
	int hosted;			/* served by the simulator, not the module */
	void *mem;
	size_t size;
};

/* Attach with VANITY_ATTACH_* flags (SQPOLL, with its idle time in µs). */
int vanity_attach_flags(const char *name, uint32_t flags, uint32_t sq_idle_us,
			struct vanity **out);

/* The attached shard's ring. */
struct vanity_ring *vanity_ring(struct vanity *v);

/* Internal, out of line: the ENTER ioctl. */
int vanity__enter(struct vanity_ring *r, uint32_t to_submit,
		  uint32_t min_complete, uint32_t flags);

/*
 * SQEs that can be handed out now. Reads the module's head (under SQPOLL
 * a line the poller keeps writing): once per batch, not once per SQE.
 */
static inline uint32_t vanity_sq_space_left(struct vanity_ring *r)
{
	/* Acquire: the module is done reading SQEs below sq_head. */
	r->sq_head_seen = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	return r->sq_entries - (r->sqe_tail - r->sq_head_seen);
}

/*
 * Whether @n SQEs can be handed out now: on the head as last read, which
 * is re-read only when it says no.
 */
static inline bool vanity_sq_room(struct vanity_ring *r, uint32_t n)
{
	return r->sq_entries - (r->sqe_tail - r->sq_head_seen) >= n ||
	       vanity_sq_space_left(r) >= n;
}

/* Next free SQE, or NULL when the SQ is full (check before prepping it). */
static inline struct vanity_sqe *vanity_get_sqe(struct vanity_ring *r)
{
	/* The head as last read, until it says the SQ is full. */
	if (r->sqe_tail - r->sq_head_seen >= r->sq_entries &&
	    !vanity_sq_space_left(r))
		return NULL;
	return &r->sqes[r->sqe_tail++ & r->sq_mask];
}

/* Every prep writes the whole SQE, reserved words included. */
static inline void vanity_prep(struct vanity_sqe *sqe, uint8_t op,
			       uint32_t channel, uint64_t mask,
			       int64_t timeout_ns, uint64_t user_data)
{
	/* One store per word, the reserved ones zero. */
	*sqe = (struct vanity_sqe){
		.opcode = op,
		.channel = channel,
		.mask = mask,
		.timeout_ns = timeout_ns,
		.user_data = user_data,
	};
}

static inline void vanity_prep_nop(struct vanity_sqe *sqe, uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_NOP, 0, 0, 0, ud);
}

/* Ring channel @channel's doorbell for its other end. */
static inline void vanity_prep_notify(struct vanity_sqe *sqe, uint32_t channel,
				      uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_NOTIFY, channel, 0, 0, ud);
}

/* Until one of channels @base + bit is ready for us (res: the bit). */
static inline void vanity_prep_wait(struct vanity_sqe *sqe, uint32_t base,
				    uint64_t mask, int64_t timeout_ns,
				    uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_WAIT, base, mask, timeout_ns, ud);
}

static inline void vanity_prep_yield(struct vanity_sqe *sqe, uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_YIELD, 0, 0, 0, ud);
}

/* Completes with -ETIME after @ns. */
static inline void vanity_prep_timeout(struct vanity_sqe *sqe, int64_t ns,
				       uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_TIMEOUT, 0, 0, ns, ud);
}

/*
 * Until a vector of @vectors (bit i: vector i) of passed device @device
 * (its index: vanity_device_info()->index) fires (res: the lowest such
 * vector), or @timeout_ns (< 0: none, 0: a poll). vanity_device_irq_arm()
 * checks the vectors against the device's first.
 */
static inline void vanity_prep_irq_wait(struct vanity_sqe *sqe, uint32_t device,
					uint64_t vectors, int64_t timeout_ns,
					uint64_t ud)
{
	vanity_prep(sqe, VANITY_OP_IRQ_WAIT, device, vectors, timeout_ns, ud);
}

/* Internal, out of line: what vanity_submit_and_wait does past its fast path. */
int vanity__submit(struct vanity_ring *r, uint32_t wait_nr, uint32_t published);

/*
 * Publish the SQEs handed out so far and, unless SQPOLL, have the module
 * consume them, waiting for @wait_nr CQEs. Returns SQEs consumed (under
 * SQPOLL: published) or -errno (-EBUSY: the CQ is full, reap first).
 * Under SQPOLL with a poller awake and nothing to wait for, it is a stamp
 * per SQE, the tail, a fence and a load, inlined whatever the compiler's
 * mood: under an emulator a call and return in a polling loop can cost
 * more than the ring's whole round trip.
 */
static inline __attribute__((__always_inline__)) int
vanity_submit_and_wait(struct vanity_ring *r, uint32_t wait_nr)
{
	uint32_t tail = *r->sq_tail, i = r->sqe_tail, published = i - tail;

	/*
	 * Under SQPOLL, stamp each SQE, the last first: the poller, which
	 * looks at the first, then finds the whole batch stamped. Release:
	 * each SQE's contents (and the later ones' stamps) before its own.
	 */
	while (r->sqpoll && i != tail) {
		i--;
		__atomic_store_n(&r->sqes[i & r->sq_mask].stamp,
				 VANITY_STAMP(i), __ATOMIC_RELEASE);
	}
	/* Release: the SQEs' contents before the tail that publishes them. */
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	if (r->sqpoll && !wait_nr) {
		/* Tail before the flag check; pairs with the poller's fence. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!(__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) &
		      VANITY_SQ_NEED_WAKEUP))
			return (int)published;
	}
	return vanity__submit(r, wait_nr, published);
}

static inline int vanity_submit(struct vanity_ring *r)
{
	return vanity_submit_and_wait(r, 0);
}

/*
 * The CQE of ring index @index, or NULL while it is not posted. By its
 * stamp: no look at cq_tail, and CQEs are posted in order, so the ones
 * before it are posted too.
 */
static inline struct vanity_cqe *vanity__cqe_posted(struct vanity_ring *r,
						    uint32_t index)
{
	struct vanity_cqe *cqe = &r->cqes[index & r->cq_mask];

	/* Acquire: the CQE's other words were stored before its stamp. */
	if (__atomic_load_n(&cqe->stamp, __ATOMIC_ACQUIRE) !=
	    VANITY_STAMP(index))
		return NULL;
	return cqe;
}

/* The unseen CQE @i places after the oldest, or NULL while not posted. */
static inline struct vanity_cqe *vanity_cqe_at(struct vanity_ring *r,
					       uint32_t i)
{
	return vanity__cqe_posted(r, *r->cq_head + i);
}

/*
 * Each unseen CQE in turn, oldest first (@index: its ring index), as
 * liburing's io_uring_for_each_cqe; then vanity_cq_advance() by how many.
 * It ends within a lap: a slot a lap on holds a CQE with another stamp.
 */
#define vanity_for_each_cqe(r, index, cqe)				\
	for ((index) = *(r)->cq_head;					\
	     ((cqe) = vanity__cqe_posted((r), (index))) != NULL;	\
	     (index)++)

/* The oldest unseen CQE: 0 and *cqe set, or -EAGAIN when none. */
static inline int vanity_peek_cqe(struct vanity_ring *r,
				  struct vanity_cqe **cqe)
{
	*cqe = vanity_cqe_at(r, 0);
	return *cqe ? 0 : -EAGAIN;
}

/* Hand the @n oldest CQEs back to the module. */
static inline void vanity_cq_advance(struct vanity_ring *r, uint32_t n)
{
	/* Release: our reads of the CQEs before the module reuses them. */
	__atomic_store_n(r->cq_head, *r->cq_head + n, __ATOMIC_RELEASE);
}

/* Hand the oldest CQE back to the module. */
static inline void vanity_cqe_seen(struct vanity_ring *r)
{
	vanity_cq_advance(r, 1);
}

/*
 * CQEs posted and not yet seen, by cq_tail: it may trail the CQEs that
 * peeking already took by their stamps (then 0, not a negative count).
 */
static inline uint32_t vanity_cq_ready(const struct vanity_ring *r)
{
	int32_t n = (int32_t)(__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) -
			      *r->cq_head);

	return n > 0 ? (uint32_t)n : 0;
}

/* Wait for a CQE (submitting nothing): 0 and *cqe set, or -errno. */
static inline int vanity_wait_cqe(struct vanity_ring *r,
				  struct vanity_cqe **cqe)
{
	int ret;

	while (vanity_peek_cqe(r, cqe)) {
		ret = vanity__enter(r, 0, 1, VANITY_ENTER_GETEVENTS);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* VANITY_RING_H */
