/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity's channels: the single-producer/single-consumer slot queue's
 * inline fast path, its blocking forms and its region helpers. Included by
 * <vanity.h>; usable alone.
 */
#ifndef VANITY_CHANNEL_H
#define VANITY_CHANNEL_H

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
 * the peer moves or @timeout_ns passes (< 0: forever). 0, -ETIME,
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

#ifdef __cplusplus
}
#endif

#endif /* VANITY_CHANNEL_H */
