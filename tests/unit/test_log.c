// SPDX-License-Identifier: GPL-2.0
/*
 * The run page's log ring (lib/log.c producer, tools/ctl/runlog.c
 * consumer): records keep their bytes across wrap-around, a full ring
 * drops and counts, the longest text fits and longer is cut, each side
 * survives a hostile other (wild indices and lengths, a bad header), a
 * producer and a consumer thread move a bounded count byte for byte, and
 * run's output helpers make hostile text safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <vanity.h>

#include "lib.h"
#include "runlog.h"

/* ------------------------------------------------------------ helpers */

/*
 * A run page whose mapping sits between two PROT_NONE pages, so that any
 * access outside it, by either side, faults and fails the test.
 */
static void guarded_page(struct vanity_runpage *p, uint32_t ring_size)
{
	uint8_t *area;
	void *m;

	cr_assert_eq(vanity_runpage_create(p, "t", ring_size), 0);
	munmap(p->map, p->size);
	area = mmap(NULL, p->size + 2 * 4096, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(area, MAP_FAILED);
	m = mmap(area + 4096, p->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, p->fd, 0);
	cr_assert_eq(m, area + 4096);
	p->map = m;
}

static struct vanity_runpage_hdr *hdr_of_page(struct vanity_runpage *p)
{
	return p->map;
}

/* Deterministic text for record @seq: its length and bytes. */
static uint32_t text_len(uint32_t seq, uint32_t max)
{
	return (seq * 37u + 11u) % (max + 1);
}

static void text_fill(char *buf, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('!' + (seq + i * 7u) % 90u);
}

static bool text_ok(const char *buf, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (char)('!' + (seq + i * 7u) % 90u))
			return false;
	return true;
}

/* What a drain delivered. */
#define KEEP_MAX 64
struct got {
	unsigned int n;
	struct vanity_logline l[KEEP_MAX];
	/* checking mode: records must be seq-numbered texts */
	bool check;
	uint32_t next_seq, max;
	unsigned int bad;
};

static void collect(void *ctx, const struct vanity_logline *l)
{
	struct got *g = ctx;

	if (g->check) {
		uint32_t want = text_len(g->next_seq, g->max);

		if (l->len != want || l->ts_ns != g->next_seq ||
		    l->level != VANITY_LOG_INFO ||
		    !text_ok(l->text, g->next_seq, l->len) ||
		    l->text[l->len] != '\0')
			g->bad++;
		g->next_seq++;
	}
	if (g->n < KEEP_MAX)
		g->l[g->n] = *l;
	g->n++;
}

static int put_seq(struct vanity__logprod *pr, uint32_t seq, uint32_t max)
{
	char buf[VANITY_LOG_MSG_MAX];
	uint32_t len = text_len(seq, max);

	text_fill(buf, seq, len);
	return vanity__logprod_put(pr, VANITY_LOG_INFO, 0, seq, buf, len);
}

/* ------------------------------------------------------------ the ring */

Test(log, records_keep_text_level_flags_and_time)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct got g = { 0 };

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_ERR, 0, 42, "hello", 5), 0);
	cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_DEBUG, 0, 43, "", 0), 0);
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 2);
	cr_assert_eq(g.n, 2);
	cr_expect_eq(g.l[0].level, VANITY_LOG_ERR);
	cr_expect_eq(g.l[0].ts_ns, 42);
	cr_expect_eq(g.l[0].len, 5);
	cr_expect_str_eq(g.l[0].text, "hello");
	cr_expect_eq(g.l[0].flags, 0);
	cr_expect_eq(g.l[1].level, VANITY_LOG_DEBUG);
	cr_expect_eq(g.l[1].len, 0);
	cr_expect_str_eq(g.l[1].text, "");
	/* 16 + 8 and 16 bytes consumed, handed back to the producer. */
	cr_expect_eq(hdr_of_page(&p)->tail, 40);
	cr_expect_eq(hdr_of_page(&p)->head, 40);
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), 0);
	vanity_runpage_destroy(&p);
}

Test(log, records_wrap_around_the_ring_many_times)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct got g = { .check = true, .max = 300 };
	uint32_t seq = 0, round;
	uint64_t bytes = 0;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	/* Bursts of 1..7 records, drained after each: > 50 times round. */
	for (round = 0; bytes < 50ull * VANITY_LOG_RING_MIN; round++) {
		uint32_t k, burst = round % 7 + 1;

		for (k = 0; k < burst; k++, seq++) {
			cr_assert_eq(put_seq(&pr, seq, g.max), 0, "seq %u", seq);
			bytes += VANITY_LOG_REC_BYTES(text_len(seq, g.max));
		}
		cr_assert_eq(vanity_runpage_drain(&p, collect, &g), (int)burst);
	}
	cr_expect_eq(g.n, seq);
	cr_expect_eq(g.bad, 0, "%u records with wrong bytes", g.bad);
	cr_expect_eq(hdr_of_page(&p)->dropped, 0);
	vanity_runpage_destroy(&p);
}

Test(log, head_and_tail_wrap_past_4g)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct got g = { .check = true, .max = 200 };
	uint32_t seq;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	/* Both counters just below 2^32, as run sets them at a restart. */
	p.tail = 0xfffff000u;
	vanity_runpage_restart(&p);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	for (seq = 0; seq < 100; seq++) {
		cr_assert_eq(put_seq(&pr, seq, g.max), 0);
		cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 1);
	}
	cr_expect_lt(hdr_of_page(&p)->head, 0x10000u, "head wrapped");
	cr_expect_eq(g.bad, 0);
	vanity_runpage_destroy(&p);
}

Test(log, full_ring_drops_counts_and_recovers)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct got g = { .check = true, .max = 100 };
	uint32_t seq, ok = 0, dropped = 0;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	/* Nobody drains: records fit until the ring is full, then drop. */
	for (seq = 0; seq < 500; seq++) {
		int ret = put_seq(&pr, ok, g.max);

		if (!ret) {
			ok++;
		} else {
			cr_assert_eq(ret, -ENOBUFS);
			dropped++;
		}
	}
	cr_assert_gt(ok, 0);
	cr_assert_gt(dropped, 0);
	cr_expect_eq(hdr_of_page(&p)->dropped, dropped);
	cr_expect_leq(hdr_of_page(&p)->head - hdr_of_page(&p)->tail,
		      VANITY_LOG_RING_MIN);
	/* What went in comes out intact, then there is room again. */
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), (int)ok);
	cr_expect_eq(g.bad, 0);
	cr_expect_eq(put_seq(&pr, ok, g.max), 0);
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), 1);
	cr_expect_eq(g.bad, 0);
	vanity_runpage_destroy(&p);
}

Test(log, longest_text_fits_and_longer_is_cut)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	static char big[VANITY_LOG_MSG_MAX + 100];
	struct got g = { 0 };
	unsigned int i, fit = VANITY_LOG_RING_MIN /
			      VANITY_LOG_REC_BYTES(VANITY_LOG_MSG_MAX);

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* The smallest ring takes this many of the longest records, no more. */
	for (i = 0; i < fit; i++)
		cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, i, big,
						 VANITY_LOG_MSG_MAX), 0, "record %u", i);
	cr_expect_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, i, big,
					 VANITY_LOG_MSG_MAX), -ENOBUFS);
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), (int)fit);
	for (i = 0; i < fit; i++) {
		cr_expect_eq(g.l[i].len, VANITY_LOG_MSG_MAX);
		cr_expect_eq(memcmp(g.l[i].text, big, VANITY_LOG_MSG_MAX), 0);
		cr_expect_eq(g.l[i].flags, 0);
	}
	/* Longer than msg_max: cut there and flagged. */
	g.n = 0;
	cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, 9, big,
					 sizeof(big)), 0);
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 1);
	cr_expect_eq(g.l[0].len, VANITY_LOG_MSG_MAX);
	cr_expect_eq(g.l[0].flags, VANITY_LOG_F_TRUNC);
	cr_expect_eq(memcmp(g.l[0].text, big, VANITY_LOG_MSG_MAX), 0);
	vanity_runpage_destroy(&p);
}

/* ------------------------------------------------ a hostile producer */

/* Publish raw bytes as if a producer had, at the current head. */
static void raw_publish(struct vanity_runpage *p, const void *bytes,
			uint32_t n, uint32_t new_head)
{
	uint8_t *ring = (uint8_t *)p->map + VANITY_RUNPAGE_HDR_SIZE;
	uint32_t i, head = hdr_of_page(p)->head;

	for (i = 0; i < n; i++)
		ring[(head + i) & (p->ring_size - 1)] = ((const uint8_t *)bytes)[i];
	hdr_of_page(p)->head = new_head;
}

static void good_record(struct vanity_runpage *p, const char *text)
{
	struct vanity__logprod pr;

	cr_assert_eq(vanity__logprod_bind(&pr, p->map, p->size), 0);
	cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, 1, text,
					 (uint32_t)strlen(text)), 0);
}

Test(log, drain_refuses_a_head_beyond_the_ring)
{
	struct vanity_runpage p;
	struct got g = { 0 };

	guarded_page(&p, VANITY_LOG_RING_MIN);
	hdr_of_page(&p)->head = VANITY_LOG_RING_MIN + 8;
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), -EPROTO);
	cr_expect_eq(g.n, 0);
	cr_expect_eq(p.corrupt, 1);
	/* Resynchronised at that head: good records after it drain. */
	cr_expect_eq(hdr_of_page(&p)->tail, VANITY_LOG_RING_MIN + 8);
	good_record(&p, "after");
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), 1);
	cr_expect_str_eq(g.l[0].text, "after");
	/* A head behind the tail is the same: 2^32 - 8 bytes "available". */
	hdr_of_page(&p)->head = p.tail - 8;
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), -EPROTO);
	cr_expect_eq(p.corrupt, 2);
	vanity_runpage_destroy(&p);
}

Test(log, drain_refuses_an_unaligned_or_partial_head)
{
	struct vanity_runpage p;
	struct got g = { 0 };

	guarded_page(&p, VANITY_LOG_RING_MIN);
	hdr_of_page(&p)->head = 13;
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), -EPROTO);
	/* 8 bytes: less than a record header. */
	hdr_of_page(&p)->head = p.tail + 8;
	cr_expect_eq(vanity_runpage_drain(&p, collect, &g), -EPROTO);
	cr_expect_eq(g.n, 0);
	vanity_runpage_destroy(&p);
}

Test(log, drain_refuses_bad_record_headers_after_the_good_ones)
{
	struct vanity_log_rec bad[] = {
		{ .magic = 0x1234, .level = 6, .len = 8 },		/* magic */
		{ .magic = VANITY_LOG_REC_MAGIC, .level = 6, .len = 0xffffffffu },
		{ .magic = VANITY_LOG_REC_MAGIC, .level = 6,
		  .len = VANITY_LOG_MSG_MAX + 1 },
		{ .magic = VANITY_LOG_REC_MAGIC, .level = 200, .len = 8 },
		{ .magic = VANITY_LOG_REC_MAGIC, .level = 6, .flags = 0x80, .len = 8 },
		/* longer than what was published */
		{ .magic = VANITY_LOG_REC_MAGIC, .level = 6, .len = 64 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vanity_runpage p;
		struct got g = { 0 };
		uint8_t rec[24] = { 0 };

		guarded_page(&p, VANITY_LOG_RING_MIN);
		good_record(&p, "first");
		memcpy(rec, &bad[i], sizeof(bad[i]));
		raw_publish(&p, rec, sizeof(rec), hdr_of_page(&p)->head + 24);
		cr_expect_eq(vanity_runpage_drain(&p, collect, &g), -EPROTO,
			     "bad record %u accepted", i);
		cr_expect_eq(g.n, 1, "record %u: the good one before it", i);
		cr_expect_str_eq(g.l[0].text, "first");
		cr_expect_eq(p.tail, hdr_of_page(&p)->head);
		vanity_runpage_destroy(&p);
	}
}

/* Random heads and ring bytes: the drain stays inside and bounded. */
Test(log, drain_survives_random_garbage)
{
	struct vanity_runpage p;
	uint8_t *ring;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned int it, i, delivered = 0, refused = 0;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	ring = (uint8_t *)p.map + VANITY_RUNPAGE_HDR_SIZE;
	for (it = 0; it < 20000; it++) {
		struct got g = { 0 };
		int ret;

		for (i = 0; i < 64; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			ring[(x >> 20) & (p.ring_size - 1)] = (uint8_t)x;
		}
		/* Sometimes framed like a record, so some get through. */
		if (it % 3 == 0) {
			struct vanity_log_rec r = {
				.magic = VANITY_LOG_REC_MAGIC, .level = (uint8_t)(x % 9),
				.len = (uint32_t)(x >> 40) % 1100,
			};
			uint32_t t = p.tail;

			for (i = 0; i < sizeof(r); i++)
				ring[(t + i) & (p.ring_size - 1)] = ((uint8_t *)&r)[i];
		}
		hdr_of_page(&p)->head = it % 2 ? p.tail + (uint32_t)(x % 4200) :
					(uint32_t)x;
		ret = vanity_runpage_drain(&p, collect, &g);
		cr_assert(ret == -EPROTO || ret >= 0);
		if (ret < 0)
			refused++;
		for (i = 0; i < g.n && i < KEEP_MAX; i++) {
			cr_assert_leq(g.l[i].len, VANITY_LOG_MSG_MAX);
			cr_assert_eq(g.l[i].text[g.l[i].len], '\0');
		}
		delivered += g.n;
		cr_assert_eq(p.tail, hdr_of_page(&p)->tail);
	}
	cr_expect_gt(refused, 0);
	cr_expect_gt(delivered, 0, "no framed record ever got through");
	vanity_runpage_destroy(&p);
}

/* ------------------------------------------------ a hostile consumer */

Test(log, producer_treats_a_wild_tail_as_full)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	uint32_t tails[] = { 0x80000000u, 1, 0xffffe000u, 5000 };
	unsigned int i;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		uint32_t head = hdr_of_page(&p)->head;

		hdr_of_page(&p)->tail = tails[i];
		cr_expect_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, 0, "x", 1),
			     -ENOBUFS, "tail %#x", tails[i]);
		cr_expect_eq(hdr_of_page(&p)->head, head, "nothing published");
	}
	cr_expect_eq(hdr_of_page(&p)->dropped, i);
	vanity_runpage_destroy(&p);
}

Test(log, producer_writes_inside_the_ring_whatever_head_it_finds)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	static char big[VANITY_LOG_MSG_MAX];
	uint32_t heads[] = { 0xfffffffbu, 4093, 0x7fffffffu };
	unsigned int i;

	memset(big, 'z', sizeof(big));
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		guarded_page(&p, VANITY_LOG_RING_MIN);
		hdr_of_page(&p)->head = heads[i];
		hdr_of_page(&p)->tail = heads[i];
		cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
		/* The guard pages fault on any byte outside. */
		cr_expect_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, 0, big,
						 sizeof(big)), 0);
		cr_expect_eq(hdr_of_page(&p)->head,
			     heads[i] + VANITY_LOG_REC_BYTES(sizeof(big)));
		vanity_runpage_destroy(&p);
	}
}

Test(log, producer_refuses_a_bad_header)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct vanity_runpage_hdr *h;

	guarded_page(&p, 2 * VANITY_LOG_RING_MIN);
	h = hdr_of_page(&p);
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size - 1), -EPROTO,
		     "a mapping shorter than the header says");
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, 4096), -EINVAL);
	cr_expect_eq(vanity__logprod_bind(&pr, NULL, p.size), -EINVAL);
	h->magic ^= 1;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTO);
	vanity_runpage_restart(&p);
	h->version = 2;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTONOSUPPORT);
	vanity_runpage_restart(&p);
	h->ring_size = 3000;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTO);
	vanity_runpage_restart(&p);
	h->ring_size = 16384;	/* the mapping has 8192 */
	h->size = 4096 + 16384;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTO);
	vanity_runpage_restart(&p);
	h->msg_max = VANITY_LOG_MSG_MAX + 1;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTO);
	vanity_runpage_restart(&p);
	h->hdr_size = 256;
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), -EPROTO);
	vanity_runpage_restart(&p);
	cr_expect_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	vanity_runpage_destroy(&p);
}

/* ------------------------------------------------ restart */

Test(log, restart_cleans_the_ring_and_keeps_the_counters)
{
	struct vanity_runpage p;
	struct vanity__logprod pr;
	struct vanity_runctrs c;
	struct got g = { 0 };

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__log_bind_page(p.map, p.size), 0);
	vanity_loop_add(41);
	vanity_loop_tick();
	vanity_loop_idle();
	cr_assert_eq(vanity_log(NULL, VANITY_LOG_INFO, "one"), 0);
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 1);
	/* Killed mid-write: a record written, its head never published. */
	cr_assert_eq(vanity__logprod_bind(&pr, p.map, p.size), 0);
	cr_assert_eq(vanity__logprod_put(&pr, VANITY_LOG_INFO, 0, 0, "half", 4), 0);
	hdr_of_page(&p)->head = 0xdeadbeefu;	/* and scribbled on */
	hdr_of_page(&p)->magic = 0;
	vanity__log_unbind();
	vanity_runpage_restart(&p);
	cr_expect_eq(hdr_of_page(&p)->head, p.tail);
	cr_expect_eq(hdr_of_page(&p)->tail, p.tail);
	vanity_runpage_ctrs(&p, &c);
	cr_expect_eq(c.loops, 42);
	cr_expect_eq(c.idle, 1);
	/* The next process binds and goes on from there. */
	cr_assert_eq(vanity__log_bind_page(p.map, p.size), 0);
	vanity_loop_tick();
	cr_assert_eq(vanity_log(NULL, VANITY_LOG_WARN, "two"), 0);
	g.n = 0;
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 1);
	cr_expect_str_eq(g.l[0].text, "two");
	cr_expect_eq(g.l[0].level, VANITY_LOG_WARN);
	vanity_runpage_ctrs(&p, &c);
	cr_expect_eq(c.loops, 43);
	vanity__log_unbind();
	vanity_runpage_destroy(&p);
}

/* ------------------------------------------------ vanity_log() */

Test(log, vanity_log_formats_drops_newlines_and_cuts)
{
	struct vanity_runpage p;
	static char big[3000];
	struct got g = { 0 };

	guarded_page(&p, VANITY_LOG_RING_DEFAULT);
	cr_assert_eq(vanity__log_bind_page(p.map, p.size), 0);
	cr_assert_eq(vanity_log_to_run(), 1);
	cr_assert_eq(vanity_log(NULL, VANITY_LOG_INFO, "x=%d %s\n\n", 5, "y"), 0);
	memset(big, 'q', sizeof(big) - 1);
	cr_assert_eq(vanity_log(NULL, VANITY_LOG_DEBUG, "%s", big), 0);
	cr_expect_eq(vanity_log(NULL, 8, "bad level"), -EINVAL);
	cr_expect_eq(vanity_log(NULL, -1, "bad level"), -EINVAL);
	cr_assert_eq(vanity_runpage_drain(&p, collect, &g), 2);
	cr_expect_str_eq(g.l[0].text, "x=5 y");
	cr_expect_eq(g.l[0].flags, 0);
	cr_expect_eq(g.l[1].len, VANITY_LOG_MSG_MAX);
	cr_expect_eq(g.l[1].flags, VANITY_LOG_F_TRUNC);
	cr_expect_gt(g.l[1].ts_ns, 0);
	vanity__log_unbind();
	cr_expect_eq(vanity_log_to_run(), 0);
	vanity_runpage_destroy(&p);
}

Test(log, vanity_log_full_ring_returns_enobufs_without_blocking)
{
	struct vanity_runpage p;
	unsigned int i, dropped = 0;
	struct vanity_runctrs c;

	guarded_page(&p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__log_bind_page(p.map, p.size), 0);
	for (i = 0; i < 1000; i++) {
		int ret = vanity_log(NULL, VANITY_LOG_INFO, "line %u", i);

		cr_assert(ret == 0 || ret == -ENOBUFS);
		dropped += ret == -ENOBUFS;
	}
	vanity_runpage_ctrs(&p, &c);
	cr_expect_gt(dropped, 0);
	cr_expect_eq(c.dropped, dropped);
	vanity__log_unbind();
	vanity_runpage_destroy(&p);
}

/* stderr into a pipe while @fn runs; what it wrote, NUL-terminated. */
static void capture_stderr(void (*fn)(void), char *out, size_t len)
{
	int fds[2], saved;
	ssize_t n;

	cr_assert_eq(pipe(fds), 0);
	saved = dup(2);
	dup2(fds[1], 2);
	close(fds[1]);
	fn();
	dup2(saved, 2);
	close(saved);
	n = read(fds[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
}

static void log_two(void)
{
	vanity_log(NULL, VANITY_LOG_INFO, "plain %d\n", 1);
	vanity_log(NULL, VANITY_LOG_ERR, "{\"k\":2}");
}

Test(log, without_run_lines_go_to_stderr_with_the_shard_name)
{
	char out[256];

	setenv("VANITY_SHARD", "left", 1);
	vanity__log_unbind();
	capture_stderr(log_two, out, sizeof(out));
	cr_expect_str_eq(out, "[left] plain 1\n[left] error: {\"k\":2}\n");
	/* Loop ticks still count, locally. */
	vanity_loop_tick();
	cr_expect_geq(vanity_loop_count(), 1);
}

Test(log, env_fd_is_mapped_only_when_it_checks_out)
{
	struct vanity_runpage p;
	char num[16];
	int fds[2], fd, plain;

	cr_assert_eq(vanity_runpage_create(&p, "env", VANITY_LOG_RING_MIN), 0);
	vanity__log_close();
	unsetenv(VANITY_RUN_FD_ENV);
	cr_expect_eq(vanity__log_open_env(), -ENOENT);
	setenv(VANITY_RUN_FD_ENV, "3x", 1);
	cr_expect_eq(vanity__log_open_env(), -EINVAL);
	setenv(VANITY_RUN_FD_ENV, "-1", 1);
	cr_expect_eq(vanity__log_open_env(), -EINVAL);
	setenv(VANITY_RUN_FD_ENV, "99999999999", 1);
	cr_expect_eq(vanity__log_open_env(), -EINVAL);
	setenv(VANITY_RUN_FD_ENV, "1000", 1);
	cr_expect_eq(vanity__log_open_env(), -EBADF);
	/* A pipe is not a memfd. */
	cr_assert_eq(pipe(fds), 0);
	snprintf(num, sizeof(num), "%d", fds[0]);
	setenv(VANITY_RUN_FD_ENV, num, 1);
	cr_expect_eq(vanity__log_open_env(), -EINVAL);
	/* A memfd its creator did not seal could shrink under the mapping. */
	plain = memfd_create("unsealed", MFD_ALLOW_SEALING);
	cr_assert_geq(plain, 0);
	cr_assert_eq(ftruncate(plain, (off_t)p.size), 0);
	snprintf(num, sizeof(num), "%d", plain);
	setenv(VANITY_RUN_FD_ENV, num, 1);
	cr_expect_eq(vanity__log_open_env(), -EPERM);
	cr_expect_eq(vanity_log_to_run(), 0);
	/* run's page: mapped, bound, and the fd closed. */
	fd = fcntl(p.fd, F_DUPFD, 3);
	snprintf(num, sizeof(num), "%d", fd);
	setenv(VANITY_RUN_FD_ENV, num, 1);
	cr_expect_eq(vanity__log_open_env(), 0);
	cr_expect_eq(vanity_log_to_run(), 1);
	cr_expect_eq(fcntl(fd, F_GETFD), -1, "the inherited fd is closed");
	cr_expect_eq(vanity__log_open_env(), -EBADF);
	vanity__log_close();
	close(fds[0]);
	close(fds[1]);
	close(plain);
	vanity_runpage_destroy(&p);
}

/* ------------------------------------------------ two threads */

#define STRESS_RECORDS 200000
#define STRESS_TRIES 2000000000ull	/* bound on failed attempts, not time */

struct stress {
	struct vanity_runpage p;
	struct vanity__logprod pr;
	uint64_t full;			/* puts refused: ring full */
	bool gave_up;
	struct got g;
	int drains_refused;
};

static void *producer(void *arg)
{
	struct stress *s = arg;
	uint64_t tries = 0;
	uint32_t seq = 0;

	while (seq < STRESS_RECORDS && tries < STRESS_TRIES) {
		if (put_seq(&s->pr, seq, s->g.max) == 0) {
			seq++;
		} else {
			s->full++;
			tries++;
			sched_yield();
		}
	}
	s->gave_up = seq < STRESS_RECORDS;
	return NULL;
}

Test(log, producer_and_consumer_threads_move_every_byte, .timeout = 120)
{
	static struct stress s = { .g = { .check = true, .max = 700 } };
	uint64_t idle = 0;
	pthread_t t;

	guarded_page(&s.p, VANITY_LOG_RING_MIN);
	cr_assert_eq(vanity__logprod_bind(&s.pr, s.p.map, s.p.size), 0);
	cr_assert_eq(pthread_create(&t, NULL, producer, &s), 0);
	while (s.g.next_seq < STRESS_RECORDS && idle < STRESS_TRIES) {
		int ret = vanity_runpage_drain(&s.p, collect, &s.g);

		if (ret < 0)
			s.drains_refused++;
		if (ret <= 0) {
			idle++;
			sched_yield();
		}
		if (s.drains_refused)
			break;
	}
	pthread_join(t, NULL);
	cr_expect_not(s.gave_up);
	cr_expect_eq(s.drains_refused, 0);
	cr_expect_eq(s.g.next_seq, STRESS_RECORDS);
	cr_expect_eq(s.g.bad, 0, "%u records with wrong bytes", s.g.bad);
	cr_expect_eq(hdr_of_page(&s.p)->dropped, s.full);
	vanity_runpage_destroy(&s.p);
}

/* ------------------------------------------------ run's output */

Test(log, json_object_check_is_strict)
{
	static const char *const yes[] = {
		"{}", " {\"a\":1} ", "{\"a\":[1,2.5e-3,-0,true,false,null,\"x\\u00e9\\n\"]}",
		"{\"shard\":\"gen\",\"tx\":123,\"bad\":{\"checksum\":1}}",
		"{\"k\":\"caf\xc3\xa9\"}",
	};
	static const char *const no[] = {
		"", "[]", "\"s\"", "{", "{\"a\":1", "{\"a\":1}}", "{\"a\":1} x",
		"{a:1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":tru}",
		"{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
		"{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\",1}",
		"{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":\"x\"} {\"b\":2}",
	};
	char deep[200];
	unsigned int i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(vanity_json_is_object(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_not(vanity_json_is_object(no[i], strlen(no[i])), "%s", no[i]);
	/* A NUL inside is not JSON, whatever follows. */
	cr_expect_not(vanity_json_is_object("{\"a\":1}\0", 8));
	/* Nesting is bounded: 21 levels are fine, 36 are not. */
	memset(deep, 0, sizeof(deep));
	memcpy(deep, "{\"a\":", 5);
	memset(deep + 5, '[', 20);
	memset(deep + 25, ']', 20);
	deep[45] = '}';
	cr_expect(vanity_json_is_object(deep, 46));
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	memcpy(deep, "{\"a\":", 5);
	for (i = 0; i < 35; i++)
		deep[40 + i] = ']';
	deep[75] = '}';
	cr_expect_not(vanity_json_is_object(deep, 76));
}

Test(log, json_escape_quotes_controls_and_bad_utf8)
{
	char out[128];
	const char in[] = "a\"b\\c\nd\te\x01" "f\x7f" "g\xff" "h\xc3\xa9" "i\xc2\x9b";

	vanity_json_escape(out, sizeof(out), in, sizeof(in) - 1);
	cr_expect_str_eq(out, "a\\\"b\\\\c\\nd\\te\\u0001f\\u007fg\\ufffdh\xc3\xa9i\\u009b");
	/* Cut between escapes, never inside one, and always terminated. */
	cr_expect_eq(vanity_json_escape(out, 4, "\"\"\"", 3), 2);
	cr_expect_str_eq(out, "\\\"");
	cr_expect_eq(vanity_json_escape(out, 1, "abc", 3), 0);
	cr_expect_str_eq(out, "");
}

Test(log, terminal_text_loses_escapes_and_keeps_utf8)
{
	char out[64];
	const char in[] = "ok\x1b[2Jx\xc3\xa9\x9b\xc2\x9b\tz\n";

	vanity_log_sanitize(out, sizeof(out), in, sizeof(in) - 1);
	cr_expect_str_eq(out, "ok?[2Jx\xc3\xa9??\tz\n");
	cr_expect_eq(vanity_log_sanitize(out, 3, "abcdef", 6), 2);
	cr_expect_str_eq(out, "ab");
	/* A NUL in the text is a control like any other. */
	vanity_log_sanitize(out, sizeof(out), "a\0b", 3);
	cr_expect_str_eq(out, "a?b");
}

Test(log, level_names)
{
	cr_expect_str_eq(vanity_log_level_name(VANITY_LOG_ERR), "error");
	cr_expect_str_eq(vanity_log_level_name(0), "error");
	cr_expect_str_eq(vanity_log_level_name(VANITY_LOG_WARN), "warning");
	cr_expect_str_eq(vanity_log_level_name(5), "notice");
	cr_expect_str_eq(vanity_log_level_name(VANITY_LOG_INFO), "info");
	cr_expect_str_eq(vanity_log_level_name(VANITY_LOG_DEBUG), "debug");
}
