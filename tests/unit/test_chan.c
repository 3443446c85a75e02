// SPDX-License-Identifier: GPL-2.0
/*
 * Channels, single process and deterministic: region geometry and the
 * format's initial state at any start position, binding and what it
 * refuses, the full and empty edges, fill/drain across the 2^32 wrap, the
 * header's counters, and the blocking calls' wakeup protocol against a
 * scripted doorbell that plays the peer while "asleep". Both endpoints
 * are bound to one region in this one process; the two-process stress is
 * tests/stress/chan_stress.c.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <vanity.h>

#include "chan.h"

struct fx {
	void *r;
	size_t bytes;
	struct vanity_chan_hdr *h;
	struct vanity_channel p, c;
	uint32_t size, slots, start;
};

static void *zalloc(size_t bytes)
{
	void *r = aligned_alloc(VANITY_PAGE_SIZE, bytes);

	cr_assert_not_null(r);
	memset(r, 0, bytes);
	return r;
}

/* A fresh region formatted at @start, both ends bound (bell may be NULL). */
static void fx_open(struct fx *f, uint32_t size, uint32_t slots,
		    uint32_t start, const struct vanity_bell_ops *bell,
		    void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->size = size;
	f->slots = slots;
	f->start = start;
	f->bytes = vanity_channel_region_bytes(size, slots);
	f->r = zalloc(f->bytes);
	f->h = f->r;
	vanity_channel_format(f->r, size, slots, start);
	cr_assert_eq(vanity_channel_bind(&f->p, f->r, f->bytes,
					 VANITY_ROLE_FROM, bell, ctx), 0);
	cr_assert_eq(vanity_channel_bind(&f->c, f->r, f->bytes,
					 VANITY_ROLE_TO, bell, ctx), 0);
}

static void fx_close(struct fx *f)
{
	free(f->r);
	f->r = NULL;
}

/* The sequence word of position @pos, read straight from the region. */
static uint32_t seq_at(const struct fx *f, uint32_t pos)
{
	const uint8_t *data = (const uint8_t *)f->r + VANITY_CHANNEL_HDR_SIZE;

	return *(const uint32_t *)(data + (size_t)(pos & (f->slots - 1)) *
				   vanity_chan_stride(f->size));
}

/* Message @k: every byte depends on k. */
static void put(void *slot, uint32_t size, uint64_t k)
{
	uint8_t *p = slot;
	uint32_t i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)((k >> (8 * (i % 8))) + i * 131 + 7);
}

static void expect_msg(const void *slot, uint32_t size, uint64_t k)
{
	uint8_t want[4096];

	cr_assert_leq(size, sizeof(want));
	put(want, size, k);
	cr_assert_arr_eq(slot, want, size, "message %llu differs",
			 (unsigned long long)k);
}

/* A message-sized buffer for any slot size used here. */
static uint8_t zero64[64];

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ------------------------------------------------------------------ */
/* Geometry and format */

Test(chan, stride_and_region_bytes)
{
	static const uint32_t sizes[] = { 8, 13, 16, 64, 256, 4096, 65536 };
	static const uint32_t slots[] = { 2, 8, 64, 1024 };
	unsigned int i, j;

	cr_assert_eq(vanity_chan_stride(8), 16);
	cr_assert_eq(vanity_chan_stride(13), 24);
	cr_assert_eq(vanity_chan_stride(64), 72);
	cr_assert_eq(vanity_chan_stride(256), 264);
	cr_assert_eq(vanity_channel_region_bytes(8, 2), 8192);
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
		for (j = 0; j < sizeof(slots) / sizeof(*slots); j++) {
			uint64_t need = VANITY_CHANNEL_HDR_SIZE +
					(uint64_t)vanity_chan_stride(sizes[i]) *
					slots[j];
			size_t b = vanity_channel_region_bytes(sizes[i],
							       slots[j]);

			cr_assert_eq(b % VANITY_PAGE_SIZE, 0);
			cr_assert_geq(b, need);
			cr_assert_lt(b, need + VANITY_PAGE_SIZE);
			cr_assert_eq(b, vanity_chan_region_bytes(sizes[i],
								 slots[j]));
		}
}

Test(chan, format_writes_the_identity_and_positions)
{
	struct fx f;

	fx_open(&f, 64, 16, 0x12345678, NULL, NULL);
	cr_assert_eq(f.h->magic, VANITY_CHAN_MAGIC);
	cr_assert_eq(f.h->layout, VANITY_CHAN_LAYOUT);
	cr_assert_eq(f.h->hdr_size, VANITY_CHANNEL_HDR_SIZE);
	cr_assert_eq(f.h->data_off, VANITY_CHANNEL_HDR_SIZE);
	cr_assert_eq(f.h->slot_size, 64);
	cr_assert_eq(f.h->slots, 16);
	cr_assert_eq(f.h->stride, 72);
	cr_assert_eq(f.h->head, 0x12345678);
	cr_assert_eq(f.h->tail, 0x12345678);
	cr_assert_eq(f.h->cons_waiting, 0);
	cr_assert_eq(f.h->prod_waiting, 0);
	cr_assert_eq(f.h->prod.msgs + f.h->prod.bursts + f.h->prod.stalls +
		     f.h->prod.sleeps + f.h->prod.wakeups, 0);
	cr_assert_eq(f.h->cons.msgs + f.h->cons.bursts + f.h->cons.stalls +
		     f.h->cons.sleeps + f.h->cons.wakeups, 0);
	cr_assert_eq(vanity_channel_used(&f.p), 0);
	cr_assert_eq(vanity_channel_used(&f.c), 0);
	fx_close(&f);
}

/*
 * At any start, no slot reads as published, the producer has the whole
 * ring, and a full first lap is exactly what the consumer then sees.
 */
static void fresh_at(uint32_t slots, uint32_t start)
{
	struct fx f;
	uint32_t i;

	fx_open(&f, 8, slots, start, NULL, NULL);
	for (i = 0; i < slots; i++)
		cr_assert_neq(seq_at(&f, start + i), start + i + 1,
			      "slots %u start 0x%x: position 0x%x looks "
			      "published", slots, start, start + i);
	cr_assert_eq(vanity_peek(&f.c, slots), 0,
		     "slots %u start 0x%x", slots, start);
	cr_assert_eq(vanity_reserve(&f.p, slots + 1), slots,
		     "slots %u start 0x%x", slots, start);
	for (i = 0; i < slots; i++)
		put(vanity_slot(&f.p, i), 8, i);
	vanity_commit(&f.p, slots);
	cr_assert_eq(vanity_peek(&f.c, 2 * slots), slots,
		     "slots %u start 0x%x: not one full lap", slots, start);
	for (i = 0; i < slots; i++)
		expect_msg(vanity_peek_slot(&f.c, i), 8, i);
	fx_close(&f);
}

Test(chan, format_publishes_no_slot_at_any_start, .timeout = 60)
{
	static const uint32_t nslots[] = { 2, 4, 8, 64, 1024 };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned int i, j;

	for (i = 0; i < sizeof(nslots) / sizeof(*nslots); i++) {
		uint32_t n = nslots[i];
		const uint32_t starts[] = {
			0, 1, n - 1, n, n + 1, 0x7fffffff, 0x80000000,
			0xffffffff, 0xfffffffe, (uint32_t)(0x100000000ULL - n),
			(uint32_t)(0x100000000ULL - n + 1),
			(uint32_t)(0x100000000ULL - n - 1),
		};

		for (j = 0; j < sizeof(starts) / sizeof(*starts); j++)
			fresh_at(n, starts[j]);
		for (j = 0; j < 32; j++)
			fresh_at(n, (uint32_t)rng_next(&rng));
	}
	/* The largest ring, across the wrap. */
	fresh_at(VANITY_SLOTS_MAX, 0xffffffff);
	fresh_at(VANITY_SLOTS_MAX, (uint32_t)(0x100000000ULL -
					      VANITY_SLOTS_MAX));
}

/* ------------------------------------------------------------------ */
/* Binding */

static int bind_mut(void (*mutate)(struct vanity_chan_hdr *), size_t trim,
		    uint32_t role)
{
	struct vanity_channel ch;
	size_t bytes = vanity_channel_region_bytes(64, 8);
	void *r = zalloc(bytes);
	int ret;

	vanity_channel_format(r, 64, 8, 0);
	if (mutate)
		mutate(r);
	memset(&ch, 0, sizeof(ch));
	ret = vanity_channel_bind(&ch, r, bytes - trim, role, NULL, NULL);
	free(r);
	return ret;
}

static void bad_magic(struct vanity_chan_hdr *h) { h->magic ^= 1; }
static void zero_magic(struct vanity_chan_hdr *h) { h->magic = 0; }
static void next_layout(struct vanity_chan_hdr *h) { h->layout++; }
static void zero_layout(struct vanity_chan_hdr *h) { h->layout = 0; }
static void bad_stride(struct vanity_chan_hdr *h) { h->stride += 8; }
static void short_stride(struct vanity_chan_hdr *h) { h->stride = 64; }
static void bad_data_off(struct vanity_chan_hdr *h) { h->data_off = 8192; }
static void bad_hdr_size(struct vanity_chan_hdr *h) { h->hdr_size = 896; }
static void odd_slots(struct vanity_chan_hdr *h) { h->slots = 6; }
static void zero_slots(struct vanity_chan_hdr *h) { h->slots = 0; }
static void more_slots(struct vanity_chan_hdr *h) { h->slots = 1024; }
static void bigger_slot(struct vanity_chan_hdr *h)
{
	/* A consistent stride, but the ring no longer fits the region. */
	h->slot_size = 4096;
	h->stride = vanity_chan_stride(4096);
}

Test(chan, bind_refuses_a_foreign_or_inconsistent_region)
{
	cr_assert_eq(bind_mut(NULL, 0, VANITY_ROLE_FROM), 0);
	cr_assert_eq(bind_mut(NULL, 0, VANITY_ROLE_TO), 0);
	cr_assert_eq(bind_mut(bad_magic, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(zero_magic, 0, VANITY_ROLE_FROM), -EPROTO);
	cr_assert_eq(bind_mut(next_layout, 0, VANITY_ROLE_TO),
		     -EPROTONOSUPPORT);
	cr_assert_eq(bind_mut(zero_layout, 0, VANITY_ROLE_FROM),
		     -EPROTONOSUPPORT);
	cr_assert_eq(bind_mut(bad_stride, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(short_stride, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(bad_data_off, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(bad_hdr_size, 0, VANITY_ROLE_FROM), -EPROTO);
	cr_assert_eq(bind_mut(odd_slots, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(zero_slots, 0, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(more_slots, 0, VANITY_ROLE_FROM), -EPROTO);
	cr_assert_eq(bind_mut(bigger_slot, 0, VANITY_ROLE_FROM), -EPROTO);
	/* The mapping is shorter than the geometry says. */
	cr_assert_eq(bind_mut(NULL, VANITY_PAGE_SIZE, VANITY_ROLE_TO),
		     -EPROTO);
	cr_assert_eq(bind_mut(NULL, 1, VANITY_ROLE_TO), -EPROTO);
	cr_assert_eq(bind_mut(NULL, vanity_channel_region_bytes(64, 8) -
			      VANITY_CHANNEL_HDR_SIZE + 1, VANITY_ROLE_TO),
		     -EPROTO);
	/* The magic is checked first: a bad one wins over a bad layout. */
	cr_assert_eq(bind_mut(bad_magic, VANITY_PAGE_SIZE, VANITY_ROLE_TO),
		     -EPROTO);
}

Test(chan, bind_refuses_bad_arguments)
{
	struct vanity_channel ch;
	size_t bytes = vanity_channel_region_bytes(8, 4);
	void *r = zalloc(bytes);

	vanity_channel_format(r, 8, 4, 0);
	cr_assert_eq(vanity_channel_bind(NULL, r, bytes, VANITY_ROLE_TO,
					 NULL, NULL), -EINVAL);
	cr_assert_eq(vanity_channel_bind(&ch, NULL, bytes, VANITY_ROLE_TO,
					 NULL, NULL), -EINVAL);
	cr_assert_eq(vanity_channel_bind(&ch, r, bytes, VANITY_ROLE_NONE,
					 NULL, NULL), -EINVAL);
	cr_assert_eq(vanity_channel_bind(&ch, r, bytes, 3, NULL, NULL),
		     -EINVAL);
	free(r);
}

static int dummy_wait(struct vanity_channel *ch, uint32_t expect,
		      int64_t timeout_ns)
{
	(void)ch, (void)expect, (void)timeout_ns;
	return -ENOSYS;
}

static int dummy_wake(struct vanity_channel *ch)
{
	(void)ch;
	return -ENOSYS;
}

static const struct vanity_bell_ops dummy_bell = { dummy_wait, dummy_wake };

Test(chan, bind_takes_geometry_and_positions_from_the_header)
{
	struct fx f;
	int ctx;

	fx_open(&f, 32, 32, 0xfffffff0, NULL, NULL);
	/* Move both ends, then bind fresh endpoints as a restart would. */
	cr_assert_eq(vanity_reserve(&f.p, 20), 20);
	vanity_commit(&f.p, 20);
	cr_assert_eq(vanity_peek(&f.c, 7), 7);
	vanity_release(&f.c, 7);
	f.h->prod_waiting = 1;
	f.h->cons_waiting = 1;
	memset(&f.p, 0xa5, sizeof(f.p));
	memset(&f.c, 0x5a, sizeof(f.c));
	cr_assert_eq(vanity_channel_bind(&f.p, f.r, f.bytes, VANITY_ROLE_FROM,
					 &dummy_bell, &ctx), 0);
	cr_assert_eq(f.p.hdr, f.h);
	cr_assert_eq(f.p.region, f.r);
	cr_assert_eq(f.p.size, f.bytes);
	cr_assert_eq((void *)f.p.data,
		     (void *)((uint8_t *)f.r + VANITY_CHANNEL_HDR_SIZE));
	cr_assert_eq(f.p.mask, 31);
	cr_assert_eq(f.p.slots, 32);
	cr_assert_eq(f.p.slot_size, 32);
	cr_assert_eq(f.p.stride, 40);
	cr_assert_eq(f.p.role, VANITY_ROLE_FROM);
	cr_assert_eq(f.p.bell, &dummy_bell);
	cr_assert_eq(f.p.bell_ctx, &ctx);
	cr_assert_eq(f.p.spin_ns, VANITY_SPIN_NS_DEFAULT);
	cr_assert_eq(f.p.pos, 0xfffffff0 + 20);
	cr_assert_eq(f.h->prod_waiting, 0, "a stale waiting flag survived");
	cr_assert_eq(f.h->cons_waiting, 1, "the producer cleared the peer's");
	cr_assert_eq(vanity_channel_bind(&f.c, f.r, f.bytes, VANITY_ROLE_TO,
					 NULL, NULL), 0);
	cr_assert_eq(f.c.pos, 0xfffffff0 + 7);
	cr_assert_eq(f.c.role, VANITY_ROLE_TO);
	cr_assert_null(f.c.bell);
	cr_assert_eq(f.h->cons_waiting, 0);
	/* The restarted ends carry on: 13 in flight, 19 free. */
	cr_assert_eq(vanity_channel_used(&f.c), 13);
	cr_assert_eq(vanity_peek(&f.c, 32), 13);
	cr_assert_eq(vanity_reserve(&f.p, 32), 19);
	fx_close(&f);
}

Test(chan, rebinding_the_consumer_redelivers_what_it_did_not_release)
{
	struct fx f;
	uint8_t buf[64];
	unsigned int i;

	fx_open(&f, 64, 8, 0xfffffffc, NULL, NULL);
	for (i = 0; i < 6; i++) {
		put(buf, 64, i);
		cr_assert_eq(vanity_send(&f.p, buf), 0);
	}
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 64, 0);
	cr_assert_eq(vanity_peek(&f.c, 8), 5);
	/* Crash before the release: a new consumer starts at message 1. */
	cr_assert_eq(vanity_channel_bind(&f.c, f.r, f.bytes, VANITY_ROLE_TO,
					 NULL, NULL), 0);
	for (i = 1; i < 6; i++) {
		cr_assert_eq(vanity_recv(&f.c, buf), 0);
		expect_msg(buf, 64, i);
	}
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	/* A producer that crashed between reserve and commit published nothing. */
	cr_assert_eq(vanity_reserve(&f.p, 3), 3);
	put(vanity_slot(&f.p, 0), 64, 99);
	cr_assert_eq(vanity_channel_bind(&f.p, f.r, f.bytes, VANITY_ROLE_FROM,
					 NULL, NULL), 0);
	cr_assert_eq(vanity_peek(&f.c, 1), 0);
	put(buf, 64, 6);
	cr_assert_eq(vanity_send(&f.p, buf), 0);
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 64, 6);
	fx_close(&f);
}

/* ------------------------------------------------------------------ */
/* Full and empty edges */

static void fill_exactly(uint32_t size, uint32_t slots, uint32_t start)
{
	uint8_t *buf = calloc(1, size);
	struct fx f;
	uint32_t i;

	fx_open(&f, size, slots, start, NULL, NULL);
	for (i = 0; i < slots; i++) {
		put(buf, size, i);
		cr_assert_eq(vanity_send(&f.p, buf), 0,
			     "size %u slots %u: message %u refused", size,
			     slots, i);
	}
	put(buf, size, slots);
	cr_assert_eq(vanity_send(&f.p, buf), -EAGAIN,
		     "size %u slots %u: one more than slots fit", size, slots);
	cr_assert_eq(vanity_reserve(&f.p, 1), 0);
	cr_assert_eq(vanity_reserve(&f.p, 64), 0);
	cr_assert_eq(vanity_send_burst(&f.p, buf, 1), 0);
	cr_assert_eq(vanity_channel_used(&f.p), slots);
	cr_assert_eq(f.h->head, start + slots);
	/* One out, exactly one more in. */
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, size, 0);
	cr_assert_eq(vanity_reserve(&f.p, 64), 1);
	put(buf, size, slots);
	cr_assert_eq(vanity_send(&f.p, buf), 0);
	cr_assert_eq(vanity_send(&f.p, buf), -EAGAIN);
	for (i = 1; i <= slots; i++) {
		cr_assert_eq(vanity_recv(&f.c, buf), 0);
		expect_msg(buf, size, i);
	}
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	cr_assert_eq(vanity_peek(&f.c, 64), 0);
	cr_assert_eq(vanity_reserve(&f.p, 2 * slots), slots);
	fx_close(&f);
	free(buf);
}

Test(chan, exactly_slots_messages_fit)
{
	static const uint32_t sizes[] = { 8, 64, 256, 32 };
	static const uint32_t nslots[] = { 2, 8, 64 };
	unsigned int i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
		for (j = 0; j < sizeof(nslots) / sizeof(*nslots); j++) {
			fill_exactly(sizes[i], nslots[j], 0);
			fill_exactly(sizes[i], nslots[j], 0xffffffff);
			fill_exactly(sizes[i], nslots[j],
				     (uint32_t)(0x100000000ULL - nslots[j]));
		}
}

Test(chan, reserve_gives_what_is_free_and_keeps_it_until_commit)
{
	struct fx f;

	fx_open(&f, 8, 16, 0, NULL, NULL);
	cr_assert_eq(vanity_reserve(&f.p, 10), 10);
	cr_assert_eq(vanity_reserve(&f.p, 100), 16);
	cr_assert_eq(vanity_reserve(&f.p, 0), 0);
	/* Reserving publishes nothing and moves nothing. */
	cr_assert_eq(f.h->head, 0);
	cr_assert_eq(vanity_peek(&f.c, 16), 0);
	vanity_commit(&f.p, 10);
	cr_assert_eq(vanity_reserve(&f.p, 100), 6);
	cr_assert_eq(vanity_peek(&f.c, 100), 10);
	cr_assert_eq(vanity_peek(&f.c, 4), 4);
	vanity_release(&f.c, 4);
	cr_assert_eq(vanity_reserve(&f.p, 100), 10);
	vanity_commit(&f.p, 10);
	cr_assert_eq(vanity_reserve(&f.p, 1), 0);
	cr_assert_eq(vanity_peek(&f.c, 100), 16);
	fx_close(&f);
}

Test(chan, empty_ring_gives_nothing)
{
	struct fx f;
	uint8_t buf[64 * 4];

	fx_open(&f, 64, 4, 0xfffffffe, NULL, NULL);
	cr_assert_eq(vanity_peek(&f.c, 1), 0);
	cr_assert_eq(vanity_peek(&f.c, 64), 0);
	cr_assert_eq(vanity_peek(&f.c, 0), 0);
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	cr_assert_eq(vanity_recv_burst(&f.c, buf, 4), 0);
	cr_assert_eq(f.h->tail, 0xfffffffe);
	/* Reserved but not committed is still empty. */
	cr_assert_eq(vanity_reserve(&f.p, 4), 4);
	cr_assert_eq(vanity_peek(&f.c, 4), 0);
	/* Drained is empty again. */
	vanity_commit(&f.p, 2);
	cr_assert_eq(vanity_recv_burst(&f.c, buf, 4), 2);
	cr_assert_eq(vanity_peek(&f.c, 4), 0);
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	fx_close(&f);
}

struct tbell {
	int waits;
	int wakes[3];		/* by role of the ringer */
	uint32_t expect;
	int64_t timeout;
	uint32_t flag;		/* the sleeper's *_waiting flag at WAIT */
	uint32_t word;		/* the index word it sleeps on, at WAIT */
	int (*act)(struct tbell *, struct vanity_channel *);
	struct fx *f;
	int act_on;		/* act at this WAIT only (0: at every one) */
	int ret;		/* what WAIT returns */
	int wake_ret;		/* what WAKE returns */
};

static int tb_wait(struct vanity_channel *ch, uint32_t expect,
		   int64_t timeout_ns)
{
	struct tbell *b = ch->bell_ctx;
	bool prod = ch->role == VANITY_ROLE_FROM;

	if (++b->waits > 100)
		return -EIO;	/* the caller loops: fail, do not hang */
	b->expect = expect;
	b->timeout = timeout_ns;
	b->flag = prod ? ch->hdr->prod_waiting : ch->hdr->cons_waiting;
	b->word = prod ? ch->hdr->tail : ch->hdr->head;
	if (b->act && (!b->act_on || b->waits == b->act_on))
		b->act(b, ch);
	return b->ret;
}

static int tb_wake(struct vanity_channel *ch)
{
	struct tbell *b = ch->bell_ctx;

	b->wakes[ch->role]++;
	return b->wake_ret;
}

static const struct vanity_bell_ops test_bell = { tb_wait, tb_wake };

Test(chan, commit_and_release_of_zero_do_nothing)
{
	struct tbell b = { 0 };
	struct vanity_chan_hdr before;
	struct fx f;

	fx_open(&f, 8, 8, 0xfffffffa, &test_bell, &b);
	cr_assert_eq(vanity_reserve(&f.p, 3), 3);
	vanity_commit(&f.p, 3);
	cr_assert_eq(vanity_peek(&f.c, 3), 3);
	/* Even with both peers asking to be woken. */
	f.h->cons_waiting = 1;
	f.h->prod_waiting = 1;
	memcpy(&before, f.h, sizeof(before));
	vanity_commit(&f.p, 0);
	vanity_release(&f.c, 0);
	cr_assert_arr_eq(f.h, &before, sizeof(before));
	cr_assert_eq(f.p.pos, 0xfffffffa + 3);
	cr_assert_eq(f.c.pos, 0xfffffffa);
	cr_assert_eq(b.wakes[VANITY_ROLE_FROM] + b.wakes[VANITY_ROLE_TO], 0);
	fx_close(&f);
}

/* ------------------------------------------------------------------ */
/* Across the 2^32 wrap */

static void walk(uint32_t slots, uint32_t start, uint64_t seed)
{
	uint8_t buf[16 * 70];
	uint64_t rng = seed, sent = 0, rcvd = 0;
	struct fx f;
	unsigned int step, i;

	fx_open(&f, 16, slots, start, NULL, NULL);
	for (step = 0; step < 3000 || (uint32_t)(start + sent) >= start;
	     step++) {
		uint64_t r = rng_next(&rng);
		unsigned int n = (unsigned int)((r >> 8) % (slots + 3)), k;
		uint64_t used = sent - rcvd;

		cr_assert_lt(step, 100000, "never crossed the wrap");
		if (r & 1) {
			unsigned int room = slots - (unsigned int)used;

			if (r & 2) {
				k = vanity_reserve(&f.p, n);
				cr_assert_eq(k, n < room ? n : room);
				for (i = 0; i < k; i++)
					put(vanity_slot(&f.p, i), 16, sent + i);
				if (k > 1 && (r & 4)) {
					vanity_commit(&f.p, k / 2);
					vanity_commit(&f.p, k - k / 2);
				} else {
					vanity_commit(&f.p, k);
				}
			} else {
				n = n > 64 ? 64 : n;
				for (i = 0; i < n; i++)
					put(buf + 16 * i, 16, sent + i);
				k = vanity_send_burst(&f.p, buf, n);
				cr_assert_eq(k, n < room ? n : room);
			}
			sent += k;
		} else {
			if (r & 2) {
				k = vanity_peek(&f.c, n);
				cr_assert_eq(k, n < used ? n : used);
				for (i = 0; i < k; i++)
					expect_msg(vanity_peek_slot(&f.c, i), 16,
						   rcvd + i);
				vanity_release(&f.c, k);
			} else {
				n = n > 64 ? 64 : n;
				k = vanity_recv_burst(&f.c, buf, n);
				cr_assert_eq(k, n < used ? n : used);
				for (i = 0; i < k; i++)
					expect_msg(buf + 16 * i, 16, rcvd + i);
			}
			rcvd += k;
		}
		cr_assert_eq(f.h->head, (uint32_t)(start + sent));
		cr_assert_eq(f.h->tail, (uint32_t)(start + rcvd));
		cr_assert_eq(vanity_channel_used(&f.c), sent - rcvd);
		cr_assert_eq(f.h->prod.msgs, sent);
		cr_assert_eq(f.h->cons.msgs, rcvd);
	}
	/* Drain what is left: still in order after the wrap. */
	while (rcvd < sent) {
		cr_assert_eq(vanity_recv(&f.c, buf), 0);
		expect_msg(buf, 16, rcvd++);
	}
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	cr_assert_eq(vanity_reserve(&f.p, slots), slots);
	fx_close(&f);
}

Test(chan, fill_and_drain_across_the_wrap)
{
	static const uint32_t nslots[] = { 2, 8, 64 };
	unsigned int i, j;

	for (i = 0; i < sizeof(nslots) / sizeof(*nslots); i++) {
		uint32_t n = nslots[i];
		const uint32_t starts[] = {
			0xffffffff, 0xfffffffe, (uint32_t)(0x100000000ULL - n),
			(uint32_t)(0x100000000ULL - n / 2),
			(uint32_t)(0x100000000ULL - 3 * n - 1),
			0xffffff00 - 7,
		};

		for (j = 0; j < sizeof(starts) / sizeof(*starts); j++)
			walk(n, starts[j], 0x1234567ULL + i * 31 + j);
	}
}

/* ------------------------------------------------------------------ */
/* Counters */

Test(chan, header_counters_count_what_they_say)
{
	struct tbell b = { 0 };
	uint8_t buf[8 * 16];
	struct fx f;

	fx_open(&f, 8, 8, 0xfffffffd, &test_bell, &b);
	cr_assert_eq(vanity_send_burst(&f.p, buf, 5), 5);
	cr_assert_eq(f.h->prod.msgs, 5);
	cr_assert_eq(f.h->prod.bursts, 1);
	cr_assert_eq(vanity_reserve(&f.p, 10), 3);	/* short, not a stall */
	vanity_commit(&f.p, 2);
	vanity_commit(&f.p, 1);
	cr_assert_eq(f.h->prod.msgs, 8);
	cr_assert_eq(f.h->prod.bursts, 3);
	cr_assert_eq(f.h->prod.stalls, 0);
	cr_assert_eq(vanity_send(&f.p, buf), -EAGAIN);
	cr_assert_eq(f.h->prod.stalls, 1);
	cr_assert_eq(vanity_reserve(&f.p, 4), 0);
	cr_assert_eq(f.h->prod.stalls, 2);
	cr_assert_eq(vanity_send_burst(&f.p, buf, 3), 0);
	cr_assert_eq(f.h->prod.stalls, 3);
	cr_assert_eq(f.h->prod.msgs, 8);
	cr_assert_eq(f.h->prod.bursts, 3);

	cr_assert_eq(vanity_peek(&f.c, 3), 3);
	cr_assert_eq(f.h->cons.msgs, 0, "peek counted as received");
	vanity_release(&f.c, 2);
	cr_assert_eq(f.h->cons.msgs, 2);
	cr_assert_eq(f.h->cons.bursts, 1);
	cr_assert_eq(vanity_recv_burst(&f.c, buf, 16), 6);
	cr_assert_eq(f.h->cons.msgs, 8);
	cr_assert_eq(f.h->cons.bursts, 2);
	cr_assert_eq(f.h->cons.stalls, 0);
	cr_assert_eq(vanity_peek(&f.c, 0), 0);
	cr_assert_eq(f.h->cons.stalls, 0, "peek of 0 counted as a stall");
	cr_assert_eq(vanity_peek(&f.c, 1), 0);
	cr_assert_eq(vanity_recv(&f.c, buf), -EAGAIN);
	cr_assert_eq(vanity_recv_burst(&f.c, buf, 4), 0);
	cr_assert_eq(f.h->cons.stalls, 3);
	cr_assert_eq(f.h->cons.msgs, 8);
	cr_assert_eq(f.h->cons.bursts, 2);

	/* Nobody asked to be woken: nothing rang, nothing slept. */
	cr_assert_eq(f.h->prod.sleeps + f.h->cons.sleeps, 0);
	cr_assert_eq(f.h->prod.wakeups + f.h->cons.wakeups, 0);
	cr_assert_eq(b.wakes[VANITY_ROLE_FROM] + b.wakes[VANITY_ROLE_TO], 0);

	/* A waiting peer is rung once per call that moved something. */
	f.h->cons_waiting = 1;
	cr_assert_eq(vanity_send_burst(&f.p, buf, 4), 4);
	cr_assert_eq(vanity_send(&f.p, buf), 0);
	cr_assert_eq(f.h->prod.wakeups, 2);
	cr_assert_eq(b.wakes[VANITY_ROLE_FROM], 2);
	f.h->prod_waiting = 1;
	cr_assert_eq(vanity_recv_burst(&f.c, buf, 3), 3);
	cr_assert_eq(f.h->cons.wakeups, 1);
	cr_assert_eq(b.wakes[VANITY_ROLE_TO], 1);
	/* A doorbell that failed is not counted as rung. */
	b.wake_ret = -EIO;
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	cr_assert_eq(b.wakes[VANITY_ROLE_TO], 2);
	cr_assert_eq(f.h->cons.wakeups, 1);
	/* Each side wrote only its own block. */
	cr_assert_eq(f.h->prod.sleeps + f.h->cons.sleeps, 0);
	fx_close(&f);
}

/* ------------------------------------------------------------------ */
/* The blocking calls and the doorbell protocol */

/* While the consumer "sleeps", the producer sends message 42. */
static int act_send(struct tbell *b, struct vanity_channel *ch)
{
	uint8_t buf[64];

	(void)ch;
	put(buf, b->f->size, 42);
	cr_assert_eq(vanity_send(&b->f->p, buf), 0);
	return 0;
}

/* While the producer "sleeps", the consumer takes one message. */
static int act_recv(struct tbell *b, struct vanity_channel *ch)
{
	uint8_t buf[64];

	(void)ch;
	cr_assert_eq(vanity_recv(&b->f->c, buf), 0);
	return 0;
}

Test(chan, consumer_sleeps_on_head_and_the_producer_wakes_it)
{
	struct tbell b = { .act = act_send };
	uint8_t buf[64];
	struct fx f;

	b.f = &f;
	fx_open(&f, 64, 8, 0xffffffff, &test_bell, &b);
	vanity_channel_set_spin(&f.c, 0);
	cr_assert_eq(vanity_wait_data(&f.c, -1), 0);
	cr_assert_eq(b.waits, 1);
	cr_assert_eq(b.expect, 0xffffffff, "slept on head %#x", b.expect);
	cr_assert_eq(b.word, b.expect);
	cr_assert_eq(b.timeout, -1);
	cr_assert_eq(b.flag, 1, "slept without raising cons_waiting");
	cr_assert_eq(f.h->cons_waiting, 0, "cons_waiting left raised");
	cr_assert_eq(f.h->cons.sleeps, 1);
	cr_assert_eq(b.wakes[VANITY_ROLE_FROM], 1, "the producer did not ring");
	cr_assert_eq(f.h->prod.wakeups, 1);
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 64, 42);
	/* Data already there: no sleep, no flag. */
	b.act = NULL;
	cr_assert_eq(vanity_send(&f.p, buf), 0);
	cr_assert_eq(vanity_wait_data(&f.c, -1), 0);
	cr_assert_eq(b.waits, 1);
	cr_assert_eq(f.h->cons.sleeps, 1);
	fx_close(&f);
}

Test(chan, producer_sleeps_on_tail_and_the_consumer_wakes_it)
{
	struct tbell b = { .act = act_recv };
	uint8_t buf[64];
	struct fx f;
	unsigned int i;

	b.f = &f;
	fx_open(&f, 8, 4, 0xfffffffe, &test_bell, &b);
	vanity_channel_set_spin(&f.p, 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(vanity_send(&f.p, buf), 0);
	cr_assert_eq(vanity_wait_space(&f.p, -1), 0);
	cr_assert_eq(b.waits, 1);
	cr_assert_eq(b.expect, 0xfffffffe, "slept on tail %#x", b.expect);
	cr_assert_eq(b.word, b.expect);
	cr_assert_eq(b.flag, 1, "slept without raising prod_waiting");
	cr_assert_eq(f.h->prod_waiting, 0);
	cr_assert_eq(f.h->prod.sleeps, 1);
	cr_assert_eq(b.wakes[VANITY_ROLE_TO], 1, "the consumer did not ring");
	cr_assert_eq(f.h->cons.wakeups, 1);
	cr_assert_eq(vanity_reserve(&f.p, 4), 1);
	fx_close(&f);
}

Test(chan, send_wait_and_recv_wait_go_through_the_doorbell)
{
	struct tbell b = { .act = act_send };
	uint8_t buf[64];
	struct fx f;
	unsigned int i;

	b.f = &f;
	fx_open(&f, 16, 2, 0, &test_bell, &b);
	vanity_channel_set_spin(&f.c, 0);
	vanity_channel_set_spin(&f.p, 0);
	cr_assert_eq(vanity_recv_wait(&f.c, buf, 1000000000), 0);
	expect_msg(buf, 16, 42);
	cr_assert_eq(b.waits, 1);
	cr_assert_gt(b.timeout, 0);
	cr_assert_leq(b.timeout, 1000000000);
	b.act = act_recv;
	for (i = 0; i < 2; i++) {
		put(buf, 16, i);
		cr_assert_eq(vanity_send(&f.p, buf), 0);
	}
	put(buf, 16, 2);
	cr_assert_eq(vanity_send_wait(&f.p, buf, -1), 0);
	cr_assert_eq(b.waits, 2);
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 16, 1);
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 16, 2);
	fx_close(&f);
}

Test(chan, a_wakeup_without_progress_sleeps_again)
{
	/* Two spurious wakeups; the message comes during the third WAIT. */
	struct tbell b = { .act = act_send, .act_on = 3 };
	uint8_t buf[64];
	struct fx f;

	b.f = &f;
	fx_open(&f, 64, 8, 7, &test_bell, &b);
	vanity_channel_set_spin(&f.c, 0);
	cr_assert_eq(vanity_wait_data(&f.c, -1), 0);
	cr_assert_eq(b.waits, 3);
	cr_assert_eq(f.h->cons.sleeps, 3);
	cr_assert_eq(b.flag, 1);
	cr_assert_eq(f.h->cons_waiting, 0);
	cr_assert_eq(vanity_recv(&f.c, buf), 0);
	expect_msg(buf, 64, 42);
	fx_close(&f);
}

Test(chan, waits_time_out_and_report_errors)
{
	struct tbell b = { .ret = -ETIME };
	struct fx f;

	b.f = &f;
	fx_open(&f, 8, 4, 0, &test_bell, &b);
	vanity_channel_set_spin(&f.c, 0);
	vanity_channel_set_spin(&f.p, 0);
	cr_assert_eq(vanity_wait_data(&f.c, 1000000), -ETIME);
	cr_assert_eq(b.waits, 1);
	cr_assert_gt(b.timeout, 0);
	cr_assert_leq(b.timeout, 1000000);
	cr_assert_eq(f.h->cons_waiting, 0, "flag left raised on timeout");
	/* Timed out, but the message came: that is success. */
	b.act = act_send;
	cr_assert_eq(vanity_wait_data(&f.c, 1000000), 0);
	b.act = NULL;
	/* Signals and doorbell failures reach the caller. */
	cr_assert_eq(vanity_recv(&f.c, zero64), 0);
	b.ret = -EINTR;
	cr_assert_eq(vanity_wait_data(&f.c, -1), -EINTR);
	cr_assert_eq(f.h->cons_waiting, 0);
	b.ret = -ENODEV;
	cr_assert_eq(vanity_wait_data(&f.c, -1), -ENODEV);
	cr_assert_eq(f.h->cons_waiting, 0);
	b.ret = -EINTR;
	cr_assert_eq(vanity_recv_wait(&f.c, zero64, -1), -EINTR);
	/* A zero timeout never sleeps. */
	b.waits = 0;
	cr_assert_eq(vanity_wait_data(&f.c, 0), -ETIME);
	cr_assert_eq(b.waits, 0);
	/* The producer likewise. */
	while (!vanity_send(&f.p, zero64))
		;
	b.ret = -ETIME;
	cr_assert_eq(vanity_wait_space(&f.p, 1000), -ETIME);
	cr_assert_eq(f.h->prod_waiting, 0);
	cr_assert_eq(vanity_send_wait(&f.p, zero64, 1000),
		     -ETIME);
	b.ret = -ENODEV;
	cr_assert_eq(vanity_send_wait(&f.p, zero64, -1), -ENODEV);
	fx_close(&f);
}

/*
 * A timeout near INT64_MAX is no deadline (the core's saturated rule), not
 * a sum that wraps into the past: the wait sleeps with no limit.
 */
Test(chan, a_timeout_past_the_clocks_end_is_none)
{
	struct tbell b = { .ret = -EINTR };
	struct fx f;

	b.f = &f;
	fx_open(&f, 8, 4, 0, &test_bell, &b);
	vanity_channel_set_spin(&f.c, 200000);
	cr_assert_eq(vanity_wait_data(&f.c, INT64_MAX), -EINTR,
		     "timed out instead of sleeping");
	cr_assert_eq(b.waits, 1);
	cr_assert_lt(b.timeout, 0, "the doorbell was given a limit: %lld",
		     (long long)b.timeout);
	cr_assert_eq(vanity_wait_data(&f.c, INT64_MAX - 1), -EINTR);
	cr_assert_eq(b.waits, 2);
	fx_close(&f);
}

Test(chan, blocking_calls_check_role_and_bell)
{
	struct fx f;

	fx_open(&f, 8, 2, 0, NULL, NULL);
	cr_assert_eq(vanity_wait_space(&f.c, 0), -EINVAL);
	cr_assert_eq(vanity_wait_data(&f.p, 0), -EINVAL);
	/* Without a doorbell a wait that would sleep cannot. */
	vanity_channel_set_spin(&f.c, 0);
	cr_assert_eq(vanity_wait_data(&f.c, -1), -EOPNOTSUPP);
	vanity_channel_set_spin(&f.c, 1000);
	cr_assert_eq(vanity_wait_data(&f.c, -1), -EOPNOTSUPP);
	cr_assert_eq(vanity_recv_wait(&f.c, zero64, -1),
		     -EOPNOTSUPP);
	/* ...but one that need not sleep works. */
	cr_assert_eq(vanity_wait_space(&f.p, -1), 0);
	cr_assert_eq(vanity_send_wait(&f.p, zero64, -1), 0);
	cr_assert_eq(vanity_wait_data(&f.c, -1), 0);
	/* Spinning until the deadline times out without a bell. */
	cr_assert_eq(vanity_send_wait(&f.p, zero64, -1), 0);
	vanity_channel_set_spin(&f.p, 1000000000);
	cr_assert_eq(vanity_wait_space(&f.p, 1000000), -ETIME);
	fx_close(&f);
}
