// SPDX-License-Identifier: GPL-2.0
/*
 * The channel stress against the module: two shards on the two isolated
 * CPUs, slot sizes 8, 64 and 256, random bursts 1..64 on each side mixing
 * the copy and zero-copy calls, blocking and not; every byte is checked.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define MSGS 1000000ULL
#define DEADLINE_NS (240LL * 1000000000)

static const uint32_t sizes[] = { 8, 64, 256 };
static const char *const names[] = { "s8", "s64", "s256" };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Byte i of message k: every byte depends on k, so tears show. */
static uint8_t byte_of(uint64_t k, uint32_t i)
{
	uint64_t x = (k + 1) * 0x9e3779b97f4a7c15ULL;

	return (uint8_t)((x >> ((i % 8) * 8)) + i * 131);
}

struct job {
	unsigned int which;	/* index into sizes[] */
	int blocking;
};

static int producer(void *arg)
{
	const struct job *j = arg;
	uint32_t size = sizes[j->which];
	uint64_t seed = 0x1234 + j->which, k = 0;
	struct vanity_channel *ch;
	struct vanity *v;
	uint8_t buf[64 * 256];
	int64_t end = now_ns() + DEADLINE_NS;

	if (vanity_attach("producer", &v) ||
	    vanity_channel_get(v, names[j->which], &ch))
		return 10;
	vanity_channel_set_spin(ch, 2000);
	while (k < MSGS) {
		unsigned int n = 1 + xorshift(&seed) % 64, got, i, b;

		if (n > MSGS - k)
			n = MSGS - k;
		if (xorshift(&seed) & 1) {
			for (i = 0; i < n; i++)
				for (b = 0; b < size; b++)
					buf[i * size + b] = byte_of(k + i, b);
			got = vanity_send_burst(ch, buf, n);
		} else {
			got = vanity_reserve(ch, n);
			for (i = 0; i < got; i++) {
				uint8_t *p = vanity_slot(ch, i);

				for (b = 0; b < size; b++)
					p[b] = byte_of(k + i, b);
			}
			vanity_commit(ch, got);
		}
		k += got;
		if (!got) {
			if (now_ns() > end)
				return 11;
			if (j->blocking && vanity_wait_space(ch, 5000000000LL))
				return 12;
		}
	}
	vanity_detach(v);
	return 0;
}

static int consumer(void *arg)
{
	const struct job *j = arg;
	uint32_t size = sizes[j->which];
	uint64_t seed = 0x5678 + j->which, k = 0;
	struct vanity_channel *ch;
	struct vanity *v;
	uint8_t buf[64 * 256];
	int64_t end = now_ns() + DEADLINE_NS;

	if (vanity_attach("consumer", &v) ||
	    vanity_channel_get(v, names[j->which], &ch))
		return 20;
	vanity_channel_set_spin(ch, 2000);
	while (k < MSGS) {
		unsigned int n = 1 + xorshift(&seed) % 64, got, i, b;

		if (xorshift(&seed) & 1) {
			got = vanity_recv_burst(ch, buf, n);
			for (i = 0; i < got; i++)
				for (b = 0; b < size; b++)
					if (buf[i * size + b] != byte_of(k + i, b))
						return 23;
		} else {
			got = vanity_peek(ch, n);
			for (i = 0; i < got; i++) {
				const uint8_t *p = vanity_peek_slot(ch, i);

				for (b = 0; b < size; b++)
					if (p[b] != byte_of(k + i, b))
						return 24;
			}
			vanity_release(ch, got);
		}
		k += got;
		if (!got) {
			if (now_ns() > end)
				return 21;
			if (j->blocking && vanity_wait_data(ch, 5000000000LL))
				return 22;
		}
	}
	/* Nothing more than was sent. */
	if (vanity_peek(ch, 1))
		return 25;
	vanity_detach(v);
	return 0;
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_VARIANT(stress) {
	int blocking;
};

FIXTURE_VARIANT_ADD(stress, spinning) { .blocking = 0 };
FIXTURE_VARIANT_ADD(stress, blocking) { .blocking = 1 };

FIXTURE_SETUP(stress)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char msg[256];
	unsigned int i;

	vt_reset();
	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(&w, "stress");
	vanity_imgw_shard(&w, "producer", 0, a, 0, NULL);
	vanity_imgw_shard(&w, "consumer", 0, b, 0, NULL);
	for (i = 0; i < 3; i++)
		vanity_imgw_channel(&w, names[i], 0, 1, sizes[i], 256);
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
}

FIXTURE_TEARDOWN(stress)
{
	vt_reset();
}

TEST_F_TIMEOUT(stress, every_size_every_burst_every_byte, 900)
{
	struct vanity_status *st;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct job j = { .which = i, .blocking = variant->blocking };
		pid_t c = vt_spawn(consumer, &j);
		pid_t p = vt_spawn(producer, &j);

		EXPECT_EQ(0, vt_wait(p, 300000)) TH_LOG("size %u", sizes[i]);
		EXPECT_EQ(0, vt_wait(c, 300000)) TH_LOG("size %u", sizes[i]);
	}
	ASSERT_EQ(0, vt_get(&st));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(MSGS, st->channels[i].sent);
		EXPECT_EQ(MSGS, st->channels[i].received);
		EXPECT_EQ((uint32_t)MSGS, st->channels[i].head);
		EXPECT_EQ((uint32_t)MSGS, st->channels[i].tail);
		TH_LOG("%s: %llu moved, %llu sleeps, %llu wakeups", names[i],
		       (unsigned long long)st->channels[i].received,
		       (unsigned long long)st->channels[i].sleeps,
		       (unsigned long long)st->channels[i].wakeups);
	}
	free(st);
}

TEST_HARNESS_MAIN
