/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity: the shard side of Vanity. Attach to a shard by name, reach its
 * private region and the channels it is an endpoint of, detach. Every call
 * returns 0 (or a count) on success and -errno on failure; none prints.
 */
#ifndef VANITY_H
#define VANITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <linux/vanity.h>
#include <vanity/arch.h>
#include <vanity/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An attached shard. Opaque; one per process is the expected use. */
struct vanity;
struct vanity_channel;

/*
 * Attach to shard @name (NULL: $VANITY_SHARD) through /dev/vanity and map
 * its private region. The calling thread is pinned to the shard's CPUs.
 * -ENOENT no such shard or no system up, -EPERM not the shard's user,
 * -EBUSY already attached elsewhere, -ENODEV no /dev/vanity.
 */
int vanity_attach(const char *name, struct vanity **out);

/* Unmap everything and detach; the shard's regions keep their contents. */
void vanity_detach(struct vanity *v);

/* This shard's index and name in the image. */
int vanity_shard_index(const struct vanity *v);
const char *vanity_shard_name(const struct vanity *v);

/* The private region: *addr is NULL and *len 0 when it has none. */
int vanity_memory(const struct vanity *v, void **addr, size_t *len);

/* The CPUs the shard owns, as a bitmap of VANITY_CPU_WORDS words. */
const uint64_t *vanity_cpus(const struct vanity *v);

/*
 * Map channel @name (once; later calls return the same object). -ENOENT
 * unknown channel, -EACCES this shard is not one of its endpoints,
 * -EPROTO/-EPROTONOSUPPORT the region's layout is not this library's.
 */
int vanity_channel_get(struct vanity *v, const char *name,
		       struct vanity_channel **out);

/* The file descriptor of the attachment (for poll loops and tests). */
int vanity_fd(const struct vanity *v);

/* ------------------------------------------------------------------ */
/*
 * Channels: a single-producer/single-consumer queue of fixed-size slots in
 * a region shared by exactly two shards (layout: struct vanity_chan_hdr in
 * linux/vanity.h). The fast path below is inline and makes no system call
 * and no atomic read-modify-write on a shared line:
 *
 *   producer: write payload; store-release seq = pos + 1; store-release
 *             head; load cons_waiting, ring the doorbell only if it is set.
 *   consumer: load-acquire seq of its next slot; read payload;
 *             store-release tail; load prod_waiting, likewise.
 *
 * The producer reads the consumer's tail only when its cached limit says
 * the ring is full, so each side's hot lines stay in its own cache and a
 * message moves with the one line that carries it. Memory orders: the
 * seq release/acquire pair publishes the payload; the tail release/acquire
 * pair hands a slot back before it is overwritten; the *_waiting flags are
 * relaxed because the doorbell WAIT issues the full barriers (see
 * VANITY_IOC_WAIT). One thread per endpoint.
 */
/* How a blocked endpoint sleeps and wakes its peer: module or simulator. */
struct vanity_bell_ops {
	int (*wait)(struct vanity_channel *ch, uint32_t expect,
		    int64_t timeout_ns);
	int (*wake)(struct vanity_channel *ch);
};

struct vanity_channel {
	/* hot: read or written by every call */
	uint8_t *data;			/* slot 0 */
	struct vanity_chan_hdr *hdr;
	uint32_t mask;			/* slots - 1 */
	uint32_t stride;		/* bytes per slot, seq word included */
	uint32_t slot_size;		/* payload bytes per slot */
	uint32_t pos;			/* next position to write or read */
	uint32_t limit;			/* producer: positions below are free */
	uint32_t spin_ns;		/* blocking calls spin this long first */
	/* cold */
	const struct vanity_bell_ops *bell;
	void *bell_ctx;
	void *region;			/* start of the mapped region */
	size_t size;			/* bytes mapped */
	uint32_t slots;			/* slots in the ring */
	uint32_t index;			/* channel index in the image */
	uint32_t role;			/* VANITY_ROLE_FROM or VANITY_ROLE_TO */
	uint32_t peer;			/* the other endpoint's shard index */
	char name[VANITY_NAME_MAX];
};

/* Default spin budget of the blocking calls before they sleep. */
#define VANITY_SPIN_NS_DEFAULT 250000

/* Internal: bump a counter of our own side (single writer, relaxed). */
static inline void vanity__ctr_add(__u64 *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* Internal: the slot of position @pos; its payload starts 8 bytes in. */
static inline uint8_t *vanity__slot(const struct vanity_channel *ch,
				    uint32_t pos)
{
	return ch->data + (size_t)(pos & ch->mask) * ch->stride;
}

/* Internal, out of line: ring the peer's doorbell and count it. */
void vanity__ring(struct vanity_channel *ch);

/* Producer: how many of the next @n slots are free to write (0..n). */
static inline unsigned int vanity_reserve(struct vanity_channel *ch,
					  unsigned int n)
{
	uint32_t room = ch->limit - ch->pos;

	if (room < n) {
		/* Acquire: the consumer is done with those slots' bytes. */
		ch->limit = __atomic_load_n(&ch->hdr->tail, __ATOMIC_ACQUIRE) +
			    ch->mask + 1;
		room = ch->limit - ch->pos;
		if (!room)
			vanity__ctr_add(&ch->hdr->prod.stalls, 1);
	}
	return room < n ? room : n;
}

/* Producer: payload of the @i-th reserved slot (i < what reserve gave). */
static inline void *vanity_slot(struct vanity_channel *ch, unsigned int i)
{
	return vanity__slot(ch, ch->pos + i) + VANITY_CHAN_SEQ_SIZE;
}

/* Producer: publish the next @n reserved slots, in order. */
static inline void vanity_commit(struct vanity_channel *ch, unsigned int n)
{
	/* Locals: each release store is a compiler barrier for memory. */
	uint8_t *data = ch->data;
	uint32_t pos = ch->pos, end = pos + n, mask = ch->mask;
	uint32_t stride = ch->stride;

	if (!n)
		return;
	for (; pos != end; pos++)
		/* Release: the payload before the seq that publishes it. */
		__atomic_store_n((uint32_t *)(data + (size_t)(pos & mask) * stride),
				 pos + 1, __ATOMIC_RELEASE);
	ch->pos = end;
	/*
	 * Release: the doorbell compares head, and a sleeper that saw this
	 * head must also see the seq words before it (free on x86, one stlr
	 * per burst on arm64).
	 */
	__atomic_store_n(&ch->hdr->head, end, __ATOMIC_RELEASE);
	vanity__ctr_add(&ch->hdr->prod.msgs, n);
	vanity__ctr_add(&ch->hdr->prod.bursts, 1);
	/* Compiler-only: keep the flag load after the index store. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&ch->hdr->cons_waiting,
					     __ATOMIC_RELAXED), 0))
		vanity__ring(ch);
}

/* Consumer: how many of the next @n slots hold messages (0..n). */
static inline unsigned int vanity_peek(struct vanity_channel *ch,
				       unsigned int n)
{
	const uint8_t *data = ch->data;
	uint32_t pos = ch->pos, mask = ch->mask, stride = ch->stride;
	unsigned int i;

	/* Acquire: each seq before the payload it publishes. */
	for (i = 0; i < n; i++, pos++)
		if (__atomic_load_n((const uint32_t *)(data +
				    (size_t)(pos & mask) * stride),
				    __ATOMIC_ACQUIRE) != pos + 1)
			break;
	if (!i && n)
		vanity__ctr_add(&ch->hdr->cons.stalls, 1);
	return i;
}

/* Consumer: payload of the @i-th peeked slot (i < what peek gave). */
static inline const void *vanity_peek_slot(const struct vanity_channel *ch,
					   unsigned int i)
{
	return vanity__slot(ch, ch->pos + i) + VANITY_CHAN_SEQ_SIZE;
}

/* Consumer: hand the next @n peeked slots back to the producer. */
static inline void vanity_release(struct vanity_channel *ch, unsigned int n)
{
	if (!n)
		return;
	ch->pos += n;
	/* Release: our reads of those slots before the producer reuses them. */
	__atomic_store_n(&ch->hdr->tail, ch->pos, __ATOMIC_RELEASE);
	vanity__ctr_add(&ch->hdr->cons.msgs, n);
	vanity__ctr_add(&ch->hdr->cons.bursts, 1);
	/* Compiler-only: keep the flag load after the index store. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&ch->hdr->prod_waiting,
					     __ATOMIC_RELAXED), 0))
		vanity__ring(ch);
}

/*
 * Internal: copy @k slots between a dense buffer and the ring from the
 * current position, one size switch per call so each loop copies a
 * constant size. Callers pass slot_size-byte messages; gcc cannot know
 * the 64-byte case is unreachable for an 8-byte object, hence the pragmas.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#define VANITY__COPY_LOOP(SZ)						\
	for (i = 0; i < k; i++, buf += (SZ)) {				\
		uint8_t *slot = data + (size_t)((pos + i) & mask) * stride + \
				VANITY_CHAN_SEQ_SIZE;			\
		if (to_ring)						\
			__builtin_memcpy(slot, buf, (SZ));		\
		else							\
			__builtin_memcpy(buf, slot, (SZ));		\
	}

static inline void vanity__copy_slots(const struct vanity_channel *ch,
				      uint8_t *buf, unsigned int k,
				      int to_ring)
{
	uint8_t *data = ch->data;
	uint32_t pos = ch->pos, mask = ch->mask, stride = ch->stride;
	uint32_t sz = ch->slot_size;
	unsigned int i;

	switch (sz) {
	case 8:
		VANITY__COPY_LOOP(8);
		break;
	case 16:
		VANITY__COPY_LOOP(16);
		break;
	case 32:
		VANITY__COPY_LOOP(32);
		break;
	case 64:
		VANITY__COPY_LOOP(64);
		break;
	default:
		VANITY__COPY_LOOP(sz);
	}
}
#pragma GCC diagnostic pop
#undef VANITY__COPY_LOOP

/* Send up to @n slots from @msgs (slot_size bytes each): how many went. */
static inline unsigned int vanity_send_burst(struct vanity_channel *ch,
					     const void *msgs, unsigned int n)
{
	unsigned int k = vanity_reserve(ch, n);

	vanity__copy_slots(ch, (uint8_t *)(uintptr_t)msgs, k, 1);
	vanity_commit(ch, k);
	return k;
}

/* Receive up to @n slots into @msgs: how many came. */
static inline unsigned int vanity_recv_burst(struct vanity_channel *ch,
					     void *msgs, unsigned int n)
{
	unsigned int k = vanity_peek(ch, n);

	vanity__copy_slots(ch, (uint8_t *)msgs, k, 0);
	vanity_release(ch, k);
	return k;
}

/* Send one slot: 0, or -EAGAIN when the channel is full. */
static inline int vanity_send(struct vanity_channel *ch, const void *msg)
{
	return vanity_send_burst(ch, msg, 1) ? 0 : -EAGAIN;
}

/* Receive one slot: 0, or -EAGAIN when the channel is empty. */
static inline int vanity_recv(struct vanity_channel *ch, void *msg)
{
	return vanity_recv_burst(ch, msg, 1) ? 0 : -EAGAIN;
}

/*
 * Blocking forms: spin for ch->spin_ns, then sleep on the doorbell until
 * the peer moves or @timeout_ns passes (< 0: forever). 0, -ETIMEDOUT,
 * -EINTR, or -ENODEV when the system went down.
 */
int vanity_send_wait(struct vanity_channel *ch, const void *msg,
		     int64_t timeout_ns);
int vanity_recv_wait(struct vanity_channel *ch, void *msg, int64_t timeout_ns);
/* Wait until at least one slot can be reserved (producer) or peeked. */
int vanity_wait_space(struct vanity_channel *ch, int64_t timeout_ns);
int vanity_wait_data(struct vanity_channel *ch, int64_t timeout_ns);

/* Messages in the channel now, as either end sees it. */
static inline uint32_t vanity_channel_used(const struct vanity_channel *ch)
{
	return __atomic_load_n(&ch->hdr->head, __ATOMIC_RELAXED) -
	       __atomic_load_n(&ch->hdr->tail, __ATOMIC_RELAXED);
}

/* Set the spin budget of the blocking calls (0: sleep at once). */
void vanity_channel_set_spin(struct vanity_channel *ch, uint32_t spin_ns);

/*
 * Bind @ch to a region the caller mapped itself (the simulator, tests):
 * checks the layout (-EPROTO, -EPROTONOSUPPORT), takes the position from
 * head (producer) or tail (consumer). @bell may be NULL for non-blocking
 * use only.
 */
int vanity_channel_bind(struct vanity_channel *ch, void *region, size_t size,
			uint32_t role, const struct vanity_bell_ops *bell,
			void *bell_ctx);

/*
 * Initialise a zeroed region as a fresh channel whose positions start at
 * @start (tests use values near 2^32 to cross the wrap). Both ends must be
 * quiescent.
 */
void vanity_channel_format(void *region, uint32_t slot_size, uint32_t slots,
			   uint32_t start);

/* Bytes a region needs for this geometry. */
size_t vanity_channel_region_bytes(uint32_t slot_size, uint32_t slots);

/* ------------------------------------------------------------------ */
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

#endif /* VANITY_H */
