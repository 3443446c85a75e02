// SPDX-License-Identifier: GPL-2.0
/*
 * Two shard processes on the two isolated CPUs move 1 MiB through a
 * channel with libvanity's protocol; a producer or a consumer killed
 * mid-transfer attaches again and the stream resumes where the channel says.
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

/* Mode bits of a run. */
#define M_BLOCK 1	/* blocking send/recv through the doorbell */
#define M_SLOW 2	/* pause now and then, to be killed mid-stream */

static void fill(uint64_t *slot, uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < SLOT / 8; i++)
		slot[i] = word(seq, i);
}

static int producer(void *arg)
{
	uintptr_t mode = (uintptr_t)arg;
	double end = now() + DEADLINE_S;
	struct vanity_channel *ch;
	uint64_t msg[SLOT / 8];
	struct vanity *v;
	uint64_t seq;

	if (attach_retry("producer", &v))
		return 10;
	if (vanity_channel_get(v, "data", &ch))
		return 11;
	vanity_channel_set_spin(ch, 20000);
	/* The channel's head says where a restarted producer resumes. */
	for (seq = ch->pos; seq < MSGS; seq++) {
		fill(msg, seq);
		if (mode & M_BLOCK) {
			if (vanity_send_wait(ch, msg, 10000000000LL))
				return 12;
		} else {
			while (vanity_send(ch, msg))
				if (now() > end)
					return 13;
		}
		atomic_store(&prog->produced, seq + 1);
		if ((mode & M_SLOW) && seq % 256 == 0)
			usleep(2000);
	}
	vanity_detach(v);
	return 0;
}

static int consumer(void *arg)
{
	uintptr_t mode = (uintptr_t)arg;
	double end = now() + DEADLINE_S;
	struct vanity_channel *ch;
	uint64_t msg[SLOT / 8];
	struct vanity *v;
	uint64_t seq, sum;
	unsigned int i;

	if (attach_retry("consumer", &v))
		return 20;
	if (vanity_channel_get(v, "data", &ch))
		return 21;
	vanity_channel_set_spin(ch, 20000);
	/*
	 * A restarted consumer resumes at the channel's tail: the last count
	 * its predecessor recorded, or one more if it was killed between
	 * taking a message and recording it. Every message is still checked
	 * word by word, so loss or duplication fails either way.
	 */
	seq = ch->pos;
	if (seq != atomic_load(&prog->consumed) &&
	    seq != atomic_load(&prog->consumed) + 1)
		return 24;
	sum = atomic_load(&prog->sum);
	for (; seq < MSGS; seq++) {
		if (mode & M_BLOCK) {
			if (vanity_recv_wait(ch, msg, 10000000000LL))
				return 22;
		} else {
			while (vanity_recv(ch, msg))
				if (now() > end)
					return 22;
		}
		for (i = 0; i < SLOT / 8; i++) {
			if (msg[i] != word(seq, i))
				return 23;	/* lost, duplicated or torn */
			sum = sum * 31 + msg[i];
		}
		atomic_store(&prog->sum, sum);
		atomic_store(&prog->consumed, seq + 1);
		if ((mode & M_SLOW) && seq % 256 == 0)
			usleep(2000);
	}
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

static void run_pair(struct __test_metadata *_metadata, uintptr_t mode)
{
	pid_t c = vt_spawn(consumer, (void *)mode);
	pid_t p = vt_spawn(producer, (void *)mode);

	EXPECT_EQ(0, vt_wait(p, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(0, vt_wait(c, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(MSGS, atomic_load(&prog->consumed));
	EXPECT_EQ(expected_sum(), atomic_load(&prog->sum));
}

TEST_F_TIMEOUT(pair, one_mib_crosses_intact, 300)
{
	run_pair(_metadata, 0);
}

TEST_F_TIMEOUT(pair, one_mib_crosses_intact_blocking, 300)
{
	run_pair(_metadata, M_BLOCK);
}

TEST_F_TIMEOUT(pair, killed_producer_reattaches_and_finishes, 300)
{
	pid_t c = vt_spawn(consumer, (void *)(uintptr_t)M_BLOCK);
	pid_t p = vt_spawn(producer, (void *)(uintptr_t)(M_BLOCK | M_SLOW));
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
	usleep(100000);
	EXPECT_EQ(0, kill(c, 0));
	EXPECT_GE(at, MSGS / 3);

	p = vt_spawn(producer, (void *)(uintptr_t)M_BLOCK);
	EXPECT_EQ(0, vt_wait(p, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(0, vt_wait(c, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(MSGS, atomic_load(&prog->consumed));
	EXPECT_EQ(expected_sum(), atomic_load(&prog->sum));
}

TEST_F_TIMEOUT(pair, killed_consumer_resumes_where_channel_says, 300)
{
	pid_t p = vt_spawn(producer, (void *)(uintptr_t)M_BLOCK);
	pid_t c = vt_spawn(consumer, (void *)(uintptr_t)(M_BLOCK | M_SLOW));
	double end = now() + DEADLINE_S;
	uint64_t at;

	while (atomic_load(&prog->consumed) < MSGS / 3 && now() < end)
		usleep(1000);
	ASSERT_LT(atomic_load(&prog->consumed), MSGS);
	kill(c, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vt_wait(c, 10000));
	at = atomic_load(&prog->consumed);
	TH_LOG("consumer killed after %llu of %u messages", (unsigned long long)at, MSGS);
	/* The producer fills the ring and sleeps; it does not fail. */
	usleep(100000);
	EXPECT_EQ(0, kill(p, 0));
	/* The new consumer checks the channel's tail equals what was consumed. */
	c = vt_spawn(consumer, (void *)(uintptr_t)M_BLOCK);
	EXPECT_EQ(0, vt_wait(c, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(0, vt_wait(p, DEADLINE_S * 1000 + 5000));
	EXPECT_EQ(MSGS, atomic_load(&prog->consumed));
}

TEST_F(pair, channel_contents_survive_detach)
{
	struct vanity_channel *ch;
	struct vanity *v;

	ASSERT_EQ(0, vanity_attach("consumer", &v));
	char msg[SLOT] = "persist", got[SLOT];

	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	ASSERT_EQ(0, vanity_send(ch, msg));
	ASSERT_EQ(0, vanity_send(ch, msg));
	vanity_detach(v);
	ASSERT_EQ(0, vanity_attach("producer", &v));
	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	EXPECT_EQ(2, vanity_channel_used(ch));
	ASSERT_EQ(0, vanity_recv(ch, got));
	EXPECT_STREQ("persist", got);
	vanity_detach(v);
	/* Re-attached, the receiver resumes after the one it took. */
	ASSERT_EQ(0, vanity_attach("producer", &v));
	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	EXPECT_EQ(1, vanity_channel_used(ch));
	ASSERT_EQ(0, vanity_recv(ch, got));
	EXPECT_EQ(-EAGAIN, vanity_recv(ch, got));
	vanity_detach(v);
}

TEST_HARNESS_MAIN
