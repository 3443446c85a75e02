// SPDX-License-Identifier: GPL-2.0
/*
 * Two shard processes on the two isolated CPUs move 1 MiB through a
 * channel region; a producer killed mid-transfer attaches again and ends it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define SLOT 64
#define SLOTS 64
#define TOTAL_BYTES (1 << 20)
#define MSGS (TOTAL_BYTES / SLOT)
#define DEADLINE_S 120

/*
 * A minimal single-producer/single-consumer ring private to this test:
 * the library's own channel protocol is tested elsewhere. head counts
 * published slots, tail consumed ones; both live in the region header,
 * so a restarted producer resumes where the channel says.
 */
struct ring_hdr {
	_Atomic uint64_t head;
	char pad0[56];
	_Atomic uint64_t tail;
	char pad1[56];
};

/* Progress visible to the test parent, which is not a shard. */
struct progress {
	_Atomic uint64_t produced;
	_Atomic uint64_t consumed;
	_Atomic uint64_t sum;
	_Atomic int stop;
};

static struct progress *prog;

static uint64_t word(uint64_t seq, unsigned int i)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ULL + i * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return x * 0x94d049bb133111ebULL;
}

static uint64_t expected_sum(void)
{
	uint64_t s = 0, seq;
	unsigned int i;

	for (seq = 0; seq < MSGS; seq++)
		for (i = 0; i < SLOT / 8; i++)
			s = s * 31 + word(seq, i);
	return s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int attach_retry(const char *name, struct vanity **v)
{
	double end = now() + 10;
	int ret;

	/* A killed predecessor detaches when its exit completes. */
	while ((ret = vanity_attach(name, v)) == -EBUSY && now() < end)
		usleep(1000);
	return ret;
}

static int producer(void *arg)
{
	uint64_t throttle = (uintptr_t)arg, seq;
	struct vanity_channel *ch;
	struct ring_hdr *h;
	struct vanity *v;
	double end = now() + DEADLINE_S;
	unsigned int i;

	if (attach_retry("producer", &v))
		return 10;
	if (vanity_channel_get(v, "data", &ch))
		return 11;
	h = ch->region;
	seq = atomic_load_explicit(&h->head, memory_order_relaxed);
	for (; seq < MSGS; seq++) {
		uint64_t *slot = (uint64_t *)((char *)ch->region +
			VANITY_CHANNEL_HDR_SIZE + (seq % SLOTS) * SLOT);

		while (seq - atomic_load_explicit(&h->tail, memory_order_acquire) >= SLOTS)
			if (now() > end)
				return 12;
		for (i = 0; i < SLOT / 8; i++)
			slot[i] = word(seq, i);
		/* Release: the slot's bytes before the new head. */
		atomic_store_explicit(&h->head, seq + 1, memory_order_release);
		atomic_store(&prog->produced, seq + 1);
		if (throttle && seq % 256 == 0)
			usleep(throttle);
	}
	vanity_detach(v);
	return 0;
}

static int consumer(void *arg)
{
	struct vanity_channel *ch;
	struct ring_hdr *h;
	struct vanity *v;
	double end = now() + DEADLINE_S;
	uint64_t seq, sum = 0;
	unsigned int i;

	(void)arg;
	if (attach_retry("consumer", &v))
		return 20;
	if (vanity_channel_get(v, "data", &ch))
		return 21;
	h = ch->region;
	for (seq = 0; seq < MSGS; seq++) {
		const uint64_t *slot = (const uint64_t *)((char *)ch->region +
			VANITY_CHANNEL_HDR_SIZE + (seq % SLOTS) * SLOT);

		while (atomic_load_explicit(&h->head, memory_order_acquire) <= seq)
			if (now() > end)
				return 22;
		for (i = 0; i < SLOT / 8; i++) {
			if (slot[i] != word(seq, i))
				return 23;	/* lost, duplicated or torn */
			sum = sum * 31 + slot[i];
		}
		atomic_store_explicit(&h->tail, seq + 1, memory_order_release);
		atomic_store(&prog->consumed, seq + 1);
	}
	atomic_store(&prog->sum, sum);
	vanity_detach(v);
	return 0;
}

FIXTURE(pair) {
	int unused;
};

FIXTURE_SETUP(pair)
{
	struct vanity_imgw w;
	char msg[256];

	vt_reset();
	vt_pair(&w, 4096, SLOT, SLOTS);
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, prog);
	memset(prog, 0, sizeof(*prog));
}

FIXTURE_TEARDOWN(pair)
{
	munmap(prog, sizeof(*prog));
	vt_reset();
}

TEST_F_TIMEOUT(pair, one_mib_crosses_intact, 300)
{
	pid_t c = vt_spawn(consumer, NULL);
	pid_t p = vt_spawn(producer, NULL);

	EXPECT_EQ(0, vt_wait(p, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(0, vt_wait(c, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(MSGS, atomic_load(&prog->consumed));
	EXPECT_EQ(expected_sum(), atomic_load(&prog->sum));
}

TEST_F_TIMEOUT(pair, killed_producer_reattaches_and_finishes, 300)
{
	pid_t c = vt_spawn(consumer, NULL);
	pid_t p = vt_spawn(producer, (void *)(uintptr_t)2000);
	double end = now() + DEADLINE_S;
	uint64_t at;

	while (atomic_load(&prog->produced) < MSGS / 3 && now() < end)
		usleep(1000);
	ASSERT_LT(atomic_load(&prog->produced), MSGS)
		TH_LOG("producer finished before it could be killed");
	kill(p, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vt_wait(p, 10000));
	at = atomic_load(&prog->produced);
	TH_LOG("producer killed after %llu of %u messages", (unsigned long long)at, MSGS);
	/* The consumer keeps running: it is still attached and waiting. */
	EXPECT_EQ(0, kill(c, 0));
	EXPECT_GE(at, MSGS / 3);

	p = vt_spawn(producer, NULL);
	EXPECT_EQ(0, vt_wait(p, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(0, vt_wait(c, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(MSGS, atomic_load(&prog->consumed));
	EXPECT_EQ(expected_sum(), atomic_load(&prog->sum));
}

TEST_F(pair, channel_contents_survive_detach)
{
	struct vanity_channel *ch;
	struct vanity *v;

	ASSERT_EQ(0, vanity_attach("consumer", &v));
	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	memcpy((char *)ch->region + VANITY_CHANNEL_HDR_SIZE, "persist", 8);
	vanity_detach(v);
	ASSERT_EQ(0, vanity_attach("producer", &v));
	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	EXPECT_STREQ("persist", (char *)ch->region + VANITY_CHANNEL_HDR_SIZE);
	vanity_detach(v);
}

TEST_HARNESS_MAIN
