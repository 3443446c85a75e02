// SPDX-License-Identifier: GPL-2.0
/*
 * The submission ring on both backends, from one source: against the
 * module in the VM, against the hosted simulator natively (no /dev/vanity,
 * or VANITY_BACKEND=hosted; ring_backend.c serves it from a thread of each
 * test). Every op and its CQE, malformed SQEs, ENTER's arguments, batches,
 * CQ overflow, WAIT and TIMEOUT armed while the ring goes on and cancelled
 * by detach, stamps, SQPOLL and its idle/wake edge under stress, two
 * shards at once, signals, a forced DOWN, the counters of status. What
 * only one backend has is ring_module_test.c's (the ioctl structs, fsync,
 * mmap, debugfs, tracepoints, kernel memory) or tests/unit/test_sim_ring.c's
 * (the hosted client's checks, the control page, a killed shard's poller).
 *
 * The standard image (ring_backend.h): "producer" (0), "consumer" (1),
 * "third" (2); channels "data" 0: producer -> consumer, "back" 1: consumer
 * -> producer, "side" 2: consumer -> third (foreign to the producer). The
 * test is the producer; its peers are child processes attached as the
 * consumer. Nothing here asserts on speed; waits are bounded and say what
 * hung. One test orders events with a clock in them (a 0.3 s WAIT must end
 * while 8 s of doorbells are still ringing): a 25x margin.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/ring_util.h"
#include "kselftest_harness.h"
#include "common.h"
#include "ring_backend.h"

#define BOUND_S 20.0

/* ------------------------------------------------------------ helpers */

/* The next SQE where the caller knows there is room (aborts if not). */
static struct vanity_sqe *next_sqe(struct vanity_ring *r)
{
	struct vanity_sqe *sqe = get_sqe_expecting_room(r);

	if (!sqe) {
		fprintf(stderr, "# the SQ is unexpectedly full\n");
		abort();
	}
	return sqe;
}

/* Queue @s without submitting it. */
static void put_sqe(struct vanity_ring *r, struct vanity_sqe s)
{
	*next_sqe(r) = s;
}

static int nop_ok(struct vanity_ring *r, uint64_t ud)
{
	struct vanity_sqe s = sqe_of(VANITY_OP_NOP, 0, 0, 0, ud);

	return ring_res_of(r, &s);
}

/* Status counters of shard @idx, or all ones when status failed. */
static struct vanity_status_shard shard_st(unsigned int idx)
{
	struct vanity_status_shard s;

	if (vtb_shard(idx, &s))
		memset(&s, 0xff, sizeof(s));
	return s;
}

static struct vanity_status_channel chan_st(unsigned int idx)
{
	struct vanity_status_channel c;

	if (vtb_channel(idx, &c))
		memset(&c, 0xff, sizeof(c));
	return c;
}

/* Until vtb_inflight(@shard) == @want: false after the bound. */
static bool inflight_becomes(const char *shard, long want)
{
	double end = now() + BOUND_S;

	while (vtb_inflight(shard) != want) {
		if (now() > end)
			return false;
		usleep(2000);
	}
	return true;
}

/* Shared memory for a child's results (MAP_SHARED, zeroed). */
static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------- peers (children) */

/* Attach as the consumer and map channel @name: 0, or the failing step. */
static int consumer(struct vanity **v, const char *name,
		    struct vanity_channel **ch)
{
	if (vanity_attach("consumer", v))
		return 10;
	if (vanity_channel_get(*v, name, ch))
		return 11;
	return 0;
}

/* Send one message on back after @arg µs. */
static int consumer_sends_back(void *arg)
{
	struct vanity_channel *ch;
	char buf[SLOT_SIZE] = "b";
	struct vanity *v;
	int ret = consumer(&v, "back", &ch);

	if (ret)
		return ret;
	usleep((useconds_t)(uintptr_t)arg);
	/* The fast path rings because an armed WAIT raised cons_waiting. */
	if (vanity_send(ch, buf))
		return 12;
	vanity_detach(v);
	return 0;
}

/* Read one message from data after @arg µs. */
static int consumer_reads_data(void *arg)
{
	struct vanity_channel *ch;
	char buf[SLOT_SIZE];
	struct vanity *v;
	int ret = consumer(&v, "data", &ch);

	if (ret)
		return ret;
	usleep((useconds_t)(uintptr_t)arg);
	if (vanity_recv(ch, buf))
		return 12;
	vanity_detach(v);
	return 0;
}

/* Send @arg messages on back, blocking when full, with short gaps. */
static int consumer_floods_back(void *arg)
{
	unsigned long n = (unsigned long)(uintptr_t)arg, i;
	struct vanity_channel *ch;
	char buf[SLOT_SIZE] = "f";
	struct vanity *v;
	int ret = consumer(&v, "back", &ch);

	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (vanity_send_wait(ch, buf, 20000000000LL))
			return 12;
		/* Often into an empty channel: the send races the arming. */
		spin_us(i % 7 * 3);
	}
	vanity_detach(v);
	return 0;
}

/*
 * Make data ready for its producer without ringing (the consumer's tail
 * stored as a library that never rings would), then send on back, whose
 * doorbell rings: a WAIT on both is woken by back's.
 */
static int consumer_frees_data_quietly_then_sends_back(void *arg)
{
	struct vanity_channel *data, *back;
	char buf[SLOT_SIZE] = "q";
	struct vanity *v;
	uint32_t tail;

	(void)arg;
	if (vanity_attach("consumer", &v) ||
	    vanity_channel_get(v, "data", &data) ||
	    vanity_channel_get(v, "back", &back))
		return 10;
	tail = __atomic_load_n(&data->hdr->tail, __ATOMIC_RELAXED);
	__atomic_store_n(&data->hdr->tail, tail + 1, __ATOMIC_RELEASE);
	if (vanity_send(back, buf))
		return 11;
	vanity_detach(v);
	return 0;
}

struct sleeper {
	int attach_ret;
	int wait_ret;
};

/* Sleep in data's doorbell, which only a NOTIFY ends (nobody sends). */
static int consumer_sleeps_on_data(void *arg)
{
	struct sleeper *out = arg;
	struct vanity_channel *ch;
	struct vanity *v;
	uint32_t head;

	out->attach_ret = consumer(&v, "data", &ch);
	if (out->attach_ret)
		return 10;
	head = __atomic_load_n(&ch->hdr->head, __ATOMIC_ACQUIRE);
	out->wait_ret = ch->bell->wait(ch, head, 20000000000LL);
	vanity_detach(v);
	return out->wait_ret ? 11 : 0;
}

/* @arg[0]: the stop flag; @arg[1] counts the NOTIFYs so far. */
static int consumer_notifies_back(void *arg)
{
	volatile int *stop = arg;
	struct vanity_ring *r;
	struct vanity_sqe s;
	struct vanity *v;
	int i;

	if (vanity_attach("consumer", &v))
		return 10;
	r = vanity_ring(v);
	/* Doorbells on back without data: wakeups that make nothing ready. */
	for (i = 0; i < 400 && !*stop; i++) {
		s = sqe_of(VANITY_OP_NOTIFY, CH_BACK, 0, 0, i);
		if (ring_res_of(r, &s))
			return 11;
		__atomic_fetch_add(&stop[1], 1, __ATOMIC_RELAXED);
		usleep(20000);
	}
	vanity_detach(v);
	return *stop ? 0 : 12;
}

/* ------------------------------------------------------ the fixture */

FIXTURE(ring) {
	struct vanity *v;
	struct vanity_ring *r;
};

FIXTURE_SETUP(ring)
{
	char msg[256];

	ASSERT_EQ(0, vtb_up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	ASSERT_EQ(0, vanity_attach("producer", &self->v));
	self->r = vanity_ring(self->v);
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(ring)
{
	if (self->v)
		vanity_detach(self->v);
	vtb_reset();
}

/* ------------------------------------------------------------- ops */

TEST_F(ring, nop_completes_with_zero)
{
	struct vanity_ring *r = self->r;
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	struct vanity_cqe c;

	ASSERT_NE(NULL, sqe);
	vanity_prep_nop(sqe, 0x1122334455667788ULL);
	ASSERT_EQ(1, vanity_submit_and_wait(r, 1));
	ASSERT_EQ(1, cq_ready(r));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x1122334455667788ULL, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	EXPECT_EQ(1, *r->sq_head);
}

TEST_F(ring, notify_own_channels_completes_with_zero_and_counts_a_wakeup)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 1);
	EXPECT_EQ(0, ring_res_of(self->r, &s));	/* producer end */
	s = sqe_of(VANITY_OP_NOTIFY, CH_BACK, 0, 0, 2);
	EXPECT_EQ(0, ring_res_of(self->r, &s));	/* consumer end */
	/* Status counts each NOTIFY as a wakeup of the channel it rang. */
	EXPECT_EQ(1, chan_st(CH_DATA).wakeups);
	EXPECT_EQ(1, chan_st(CH_BACK).wakeups);
	EXPECT_EQ(0, chan_st(CH_SIDE).wakeups);
}

TEST_F(ring, notify_wakes_a_peer_sleeping_in_its_doorbell)
{
	struct sleeper *res = shared(sizeof(*res));
	struct vanity_sqe s;
	bool asleep = false;
	double end;
	pid_t pid;

	ASSERT_NE(NULL, res);
	res->wait_ret = 1;
	pid = vt_spawn(consumer_sleeps_on_data, res);
	ASSERT_LT(0, pid);
	for (end = now() + BOUND_S; !asleep && now() < end; usleep(10000))
		asleep = vtb_sleeps_in_doorbell(pid);
	ASSERT_TRUE(asleep) TH_LOG("the consumer never slept in its doorbell");
	usleep(300000);
	ASSERT_EQ(0, waitpid(pid, NULL, WNOHANG)) TH_LOG("the sleeper returned early");
	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 0xbe11);
	EXPECT_EQ(0, ring_res_of(self->r, &s));
	EXPECT_EQ(0, vt_wait(pid, 15000));
	EXPECT_EQ(0, res->attach_ret);
	EXPECT_EQ(0, res->wait_ret) TH_LOG("the wait ended with %d, not by the doorbell",
					   res->wait_ret);
	EXPECT_EQ(1, chan_st(CH_DATA).wakeups);
	munmap(res, sizeof(*res));
}

TEST_F(ring, wait_returns_the_bit_of_a_ready_channel)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *data;
	char buf[SLOT_SIZE] = "d";
	struct vanity_sqe s;
	unsigned int i;
	pid_t pid;

	/* data (we produce) has room: bit 0 of base 0. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 1);
	EXPECT_EQ(0, ring_res_of(r, &s));
	/* back (we consume) is empty: a poll finds nothing. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 0, 2);
	EXPECT_EQ(-ETIME, ring_res_of(r, &s));

	/* Fill data: no longer ready for us; neither is. */
	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &data));
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, vanity_send(data, buf));
	ASSERT_EQ(-EAGAIN, vanity_send(data, buf));
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x1, 0, 3);
	EXPECT_EQ(-ETIME, ring_res_of(r, &s));
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, 0, 4);
	EXPECT_EQ(-ETIME, ring_res_of(r, &s));

	/* A message on back: of data and back, only back (bit 1) is ready. */
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_EQ(0, vt_wait(pid, 20000));
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 5);
	EXPECT_EQ(1, ring_res_of(r, &s));
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 6);
	EXPECT_EQ(0, ring_res_of(r, &s));
	EXPECT_EQ(0, nop_ok(r, 7));
}

/*
 * A WAIT woken by a doorbell says which of its channels is ready, the
 * lowest one, whichever rang: back's doorbell completes a WAIT on data
 * and back when data (bit 0) turned ready quietly before it.
 */
TEST_F(ring, a_doorbell_completes_a_wait_with_its_lowest_ready_bit)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *data;
	char buf[SLOT_SIZE] = "d";
	struct vanity_cqe c;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &data));
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, vanity_send(data, buf));
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 0x10b));
	ASSERT_EQ(1, vanity_submit(r));
	usleep(50000);
	ASSERT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("the WAIT completed with nothing ready");
	pid = vt_spawn(consumer_frees_data_quietly_then_sends_back, NULL);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("back's doorbell did not complete the WAIT");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x10b, c.user_data);
	EXPECT_EQ(0, c.res) TH_LOG("res %d: the rung channel's bit, not the lowest ready one",
				   c.res);
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

TEST_F(ring, wait_sleeps_until_a_peers_send)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *back;
	struct vanity_cqe *cqe;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	/* back is bit 1 of base data; empty: the WAIT is armed. */
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 20000000000LL, 7));
	ASSERT_EQ(1, vanity_submit(r));
	EXPECT_EQ(0, cq_ready(r));
	EXPECT_TRUE(ld(&back->hdr->cons_waiting) & VANITY_WAITING_RING)
		TH_LOG("the armed WAIT raised no flag");
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)300000);
	ASSERT_LT(0, pid);
	/* GETEVENTS sleeps until the send completes the WAIT (20 s at most). */
	ASSERT_EQ(0, vanity_wait_cqe(r, &cqe));
	EXPECT_EQ(7, cqe->user_data);
	EXPECT_EQ(1, cqe->res) TH_LOG("not the bit of back");
	vanity_cqe_seen(r);
	EXPECT_EQ(0, ld(&back->hdr->cons_waiting)) TH_LOG("the WAIT left its flag up");
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

TEST_F(ring, wait_for_room_sleeps_until_the_peer_reads)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *data;
	char buf[SLOT_SIZE] = "d";
	struct vanity_cqe *cqe;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &data));
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, vanity_send(data, buf));
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_DATA, 0x1, 20000000000LL, 8));
	ASSERT_EQ(1, vanity_submit(r));
	EXPECT_EQ(0, cq_ready(r));
	EXPECT_TRUE(ld(&data->hdr->prod_waiting) & VANITY_WAITING_RING)
		TH_LOG("the armed WAIT raised no flag");
	pid = vt_spawn(consumer_reads_data, (void *)(uintptr_t)300000);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, vanity_wait_cqe(r, &cqe));
	EXPECT_EQ(8, cqe->user_data);
	EXPECT_EQ(0, cqe->res);
	vanity_cqe_seen(r);
	EXPECT_EQ(0, ld(&data->hdr->prod_waiting));
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

TEST_F(ring, wait_times_out_with_etime)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 0, 1);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 2000000, 2);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	EXPECT_EQ(0, nop_ok(self->r, 3));
}

/* Vanity has one timeout errno: the channels' blocking calls say -ETIME too. */
TEST_F(ring, blocking_channel_calls_time_out_with_etime)
{
	struct vanity_channel *back, *data;
	char buf[SLOT_SIZE] = "d";
	unsigned int i;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &data));
	EXPECT_EQ(-ETIME, back->bell->wait(back, ld(&back->hdr->head), 2000000));
	vanity_channel_set_spin(back, 0);
	EXPECT_EQ(-ETIME, vanity_recv_wait(back, buf, 2000000));
	EXPECT_EQ(-ETIME, vanity_wait_data(back, 2000000));
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, vanity_send(data, buf));
	vanity_channel_set_spin(data, 0);
	EXPECT_EQ(-ETIME, vanity_send_wait(data, buf, 2000000));
	EXPECT_EQ(-ETIME, vanity_wait_space(data, 2000000));
}

/*
 * A WAIT's timeout runs from its issue: doorbells that wake it without
 * making a channel ready must not restart it. The WAIT (0.3 s) must end
 * while the peer is still ringing every 20 ms (for 8 s in all).
 */
TEST_F_TIMEOUT(ring, wait_timeout_is_not_restarted_by_doorbells, 60)
{
	volatile int *stop = shared(2 * sizeof(int));
	struct vanity_sqe s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 300000000, 9);
	int res, running, i;
	pid_t pid;

	ASSERT_NE(NULL, (void *)stop);
	pid = vt_spawn(consumer_notifies_back, (void *)stop);
	ASSERT_LT(0, pid);
	/* The bells have started (bounded: the child rings within 10 s). */
	for (i = 0; i < 2000 && !__atomic_load_n(&stop[1], __ATOMIC_RELAXED); i++)
		usleep(5000);
	ASSERT_NE(0, stop[1]) TH_LOG("the peer never rang");
	res = ring_res_of(self->r, &s);
	running = waitpid(pid, NULL, WNOHANG) == 0;
	*stop = 1;
	EXPECT_EQ(-ETIME, res);
	EXPECT_TRUE(running) TH_LOG("the WAIT outlived 8 s of doorbells: its "
				    "timeout restarts at every wakeup");
	if (running)
		EXPECT_EQ(0, vt_wait(pid, 20000));
	munmap((void *)stop, 2 * sizeof(int));
}

/* YIELD completes with 0, each of a batch (the yield itself is ENTER's). */
TEST_F(ring, yield_completes_with_zero)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c;
	unsigned int i;

	for (i = 0; i < 8; i++)
		vanity_prep_yield(next_sqe(r), 0x71e1d0 + i);
	vanity_prep_nop(next_sqe(r), 0x71e1d8);
	ASSERT_EQ(9, vanity_submit_and_wait(r, 9));
	ASSERT_TRUE(spin_cqes(r, 9, BOUND_S));
	for (i = 0; i < 9; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(0x71e1d0 + i, c.user_data);
		EXPECT_EQ(0, c.res) TH_LOG("SQE %u", i);
	}
	EXPECT_EQ(8, shard_st(0).ops[VANITY_OP_YIELD]);
}

/*
 * Deadlines past the clock's end saturate to none (kmod/core/deadline.h):
 * a TIMEOUT and a WAIT on back (which nothing makes ready) of INT64_MAX
 * ns, or near it, stay armed, with no CQE, while a NOP behind them
 * completes. A wrapped deadline would be in the past: -ETIME at once.
 */
TEST_F(ring, deadlines_past_the_clocks_end_never_fire)
{
	static const int64_t never[] = {
		INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000000000LL,
	};
	struct vanity_ring *r = self->r;
	struct vanity_cqe c;
	unsigned int i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		ASSERT_TRUE(vanity_sq_room(r, 3));
		vanity_prep_timeout(next_sqe(r), never[i], 0x7e01);
		vanity_prep_wait(next_sqe(r), CH_BACK, 1, never[i], 0x7e02);
		vanity_prep_nop(next_sqe(r), 0x7e03);
		ASSERT_LE(0, vanity_submit_and_wait(r, 1));
		ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("no CQE at all");
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(0x7e03, c.user_data)
			TH_LOG("timeout %lld: a deadline fired at once (res %d)",
			       (long long)never[i], c.res);
		EXPECT_EQ(0, c.res);
		spin_us(200000);
		EXPECT_EQ(-EAGAIN, pop(r, &c))
			TH_LOG("timeout %lld: a deadline past the clock's end fired",
			       (long long)never[i]);
	}
	EXPECT_EQ(6, vtb_inflight("producer"));
}

TEST_F(ring, timeout_completes_with_etime)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 5000000, 1);	/* 5 ms */
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 0, 2);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	EXPECT_EQ(0, nop_ok(self->r, 3));
}

/* What the library says of channels, ours or not. */
TEST_F(ring, channel_lookup_of_a_foreign_channel_says_role_none)
{
	struct vanity_channel_info ci;
	struct vanity_channel *ch;
	struct vanity_sqe s;

	ASSERT_EQ(0, vanity_channel_lookup(self->v, "side", &ci));
	EXPECT_EQ(VANITY_ROLE_NONE, ci.role);
	EXPECT_EQ(CH_SIDE, ci.index);
	EXPECT_EQ(1, ci.from);
	EXPECT_EQ(2, ci.to);
	EXPECT_EQ(SLOTS, ci.slots);
	EXPECT_EQ(SLOT_SIZE, ci.slot_size);
	EXPECT_EQ(-EACCES, vanity_channel_get(self->v, "side", &ch));
	ASSERT_EQ(0, vanity_channel_lookup(self->v, "data", &ci));
	EXPECT_EQ(VANITY_ROLE_FROM, ci.role);
	EXPECT_EQ(CH_DATA, ci.index);
	ASSERT_EQ(0, vanity_channel_lookup(self->v, "back", &ci));
	EXPECT_EQ(VANITY_ROLE_TO, ci.role);
	EXPECT_EQ(CH_BACK, ci.index);
	EXPECT_EQ(-ENOENT, vanity_channel_lookup(self->v, "nosuch", &ci));
	/* The ring refuses the foreign channel as the lookup says. */
	s = sqe_of(VANITY_OP_NOTIFY, CH_SIDE, 0, 0, 1);
	EXPECT_EQ(-EACCES, ring_res_of(self->r, &s));
}

/* The public calls refuse what they cannot use, before any request. */
TEST_F(ring, probe_and_lookup_refuse_bad_arguments)
{
	char longname[VANITY_NAME_MAX + 1];
	struct vanity_channel_info ci;
	struct vanity_probe p;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-EINVAL, vanity_probe(NULL, &p));
	EXPECT_EQ(-EINVAL, vanity_probe(self->v, NULL));
	EXPECT_EQ(-EINVAL, vanity_channel_lookup(self->v, longname, &ci));
	EXPECT_EQ(-EINVAL, vanity_channel_lookup(self->v, NULL, &ci));
	EXPECT_EQ(-EINVAL, vanity_channel_lookup(self->v, "data", NULL));
	ASSERT_EQ(0, vanity_probe(self->v, &p));
	EXPECT_TRUE(vanity_op_supported(&p, VANITY_OP_LAST - 1));
	EXPECT_FALSE(vanity_op_supported(&p, VANITY_OP_LAST));
}

/* ------------------------------------------------------- bad SQEs */

struct bad_sqe {
	const char *what;
	struct vanity_sqe sqe;
	int res;
};

#define NBAD 28

/* Every malformed class, each with its expected CQE result. */
static unsigned int bad_sqes(struct bad_sqe *b)
{
	unsigned int n = 0, i;

#define BAD(w, op, ch, mask, tmo, err) do {				\
		b[n].what = (w);					\
		b[n].sqe = sqe_of((op), (ch), (mask), (tmo), 0xbad00 + n); \
		b[n].res = (err);					\
		n++;							\
	} while (0)
	BAD("opcode LAST", VANITY_OP_LAST, 0, 0, 0, -EINVAL);
	BAD("opcode LAST+1", VANITY_OP_LAST + 1, 0, 0, 0, -EINVAL);
	BAD("opcode 128", 128, 0, 0, 0, -EINVAL);
	BAD("opcode 255", 255, 0, 0, 0, -EINVAL);
	BAD("flags 1", VANITY_OP_NOP, 0, 0, 0, -EINVAL);
	b[n - 1].sqe.flags = 1;
	BAD("flags 0x80", VANITY_OP_NOTIFY, CH_DATA, 0, 0, -EINVAL);
	b[n - 1].sqe.flags = 0x80;
	for (i = 0; i < 4; i++) {
		BAD("resv[i]", VANITY_OP_NOP, 0, 0, 0, -EINVAL);
		b[n - 1].sqe.resv[i] = 1ULL << (i * 16 + 3);
	}
	BAD("nop with channel", VANITY_OP_NOP, 1, 0, 0, -EINVAL);
	BAD("nop with mask", VANITY_OP_NOP, 0, 1, 0, -EINVAL);
	BAD("nop with timeout", VANITY_OP_NOP, 0, 0, 1, -EINVAL);
	BAD("nop with negative timeout", VANITY_OP_NOP, 0, 0, -1, -EINVAL);
	BAD("yield with channel", VANITY_OP_YIELD, 1, 0, 0, -EINVAL);
	BAD("yield with mask", VANITY_OP_YIELD, 0, 4, 0, -EINVAL);
	BAD("notify foreign channel", VANITY_OP_NOTIFY, CH_SIDE, 0, 0, -EACCES);
	BAD("notify channel past the end", VANITY_OP_NOTIFY, NCHANNELS, 0, 0, -EINVAL);
	BAD("notify channel ~0", VANITY_OP_NOTIFY, 0xffffffffU, 0, 0, -EINVAL);
	BAD("notify with mask", VANITY_OP_NOTIFY, CH_DATA, 1, 0, -EINVAL);
	BAD("wait empty mask", VANITY_OP_WAIT, 0, 0, 0, -EINVAL);
	BAD("wait foreign bit", VANITY_OP_WAIT, 0, 1ULL << CH_SIDE, 0, -EACCES);
	BAD("wait own and foreign bits", VANITY_OP_WAIT, CH_BACK, 0x3, 0, -EACCES);
	BAD("wait bit past the end", VANITY_OP_WAIT, 0, 1ULL << NCHANNELS, 0, -EINVAL);
	BAD("wait bit 63", VANITY_OP_WAIT, 0, 1ULL << 63, 0, -EINVAL);
	BAD("wait base past the end", VANITY_OP_WAIT, NCHANNELS, 1, 0, -EINVAL);
	BAD("timeout negative", VANITY_OP_TIMEOUT, 0, 0, -1, -EINVAL);
	BAD("timeout INT64_MIN", VANITY_OP_TIMEOUT, 0, 0, INT64_MIN, -EINVAL);
#undef BAD
	return n;
}

TEST_F(ring, each_malformed_sqe_fails_in_its_cqe_and_the_ring_goes_on)
{
	struct vanity_status_shard st;
	struct bad_sqe b[NBAD + 4];
	unsigned int n = bad_sqes(b), i, op;

	ASSERT_EQ(NBAD, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(b[i].res, ring_res_of(self->r, &b[i].sqe))
			TH_LOG("case %u: %s", i, b[i].what);
		EXPECT_EQ(0, nop_ok(self->r, 0x900d00 + i))
			TH_LOG("NOP after case %u: %s", i, b[i].what);
	}
	/* Malformed SQEs count as submitted and completed, not as an op. */
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(2 * n, st.submitted);
	EXPECT_EQ(2 * n, st.completed);
	EXPECT_EQ(n, st.ops[VANITY_OP_NOP]);
	for (op = 1; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(0, st.ops[op]) TH_LOG("op %u", op);
}

TEST_F(ring, malformed_sqes_in_one_batch_each_get_their_cqe)
{
	struct vanity_ring *r = self->r;
	struct bad_sqe b[NBAD + 4];
	unsigned int n = bad_sqes(b), i;
	struct vanity_cqe c;

	/* bad, NOP, bad, NOP, ...: 2n SQEs in one submission. */
	for (i = 0; i < n; i++) {
		put_sqe(r, b[i].sqe);
		vanity_prep_nop(next_sqe(r), 0x900d00 + i);
	}
	ASSERT_EQ(2 * n, vanity_submit_and_wait(r, 2 * n));
	ASSERT_EQ(2 * n, cq_ready(r));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(b[i].sqe.user_data, c.user_data);
		EXPECT_EQ(b[i].res, c.res) TH_LOG("case %u: %s", i, b[i].what);
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(0x900d00 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
	EXPECT_EQ(0, nop_ok(r, 1));
}

/* ---------------------------------------------------------- ENTER */

TEST_F(ring, enter_rejects_bad_flags_and_min_complete)
{
	struct vanity_ring *r = self->r;
	uint32_t cqn = r->cq_mask + 1;

	EXPECT_EQ(-EINVAL, vanity__enter(r, 0, 0, 1U << 2));
	EXPECT_EQ(-EINVAL, vanity__enter(r, 0, 0, 1U << 31));
	EXPECT_EQ(-EINVAL, vanity__enter(r, 0, cqn + 1, 0));
	EXPECT_EQ(-EINVAL, vanity__enter(r, 0, cqn + 1, VANITY_ENTER_GETEVENTS));
	EXPECT_EQ(-EINVAL, vanity__enter(r, 0, ~0U, 0));
	/* The limits themselves are fine. */
	EXPECT_EQ(0, vanity__enter(r, 0, cqn, 0));
	EXPECT_EQ(0, vanity__enter(r, 0, 0, VANITY_ENTER_GETEVENTS));
	EXPECT_EQ(0, nop_ok(r, 1));
}

TEST_F(ring, enter_consumes_no_more_than_was_published)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c;
	unsigned int i;

	for (i = 0; i < 3; i++)
		vanity_prep_nop(next_sqe(r), 40 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(3, vanity__enter(r, 1000, 0, 0));
	EXPECT_EQ(3, cq_ready(r));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(40 + i, c.user_data);
	}
	EXPECT_EQ(0, vanity__enter(r, 1000, 0, 0));
	/* to_submit bounds a batch too. */
	for (i = 0; i < 5; i++)
		vanity_prep_nop(next_sqe(r), 50 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(2, vanity__enter(r, 2, 0, 0));
	EXPECT_EQ(3, vanity__enter(r, 10, 0, 0));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(50 + i, c.user_data);
	}
}

/* ENTER takes what the tail publishes: a stamp alone publishes nothing. */
TEST_F(ring, enter_takes_only_what_the_tail_publishes)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c;

	vanity_prep_nop(next_sqe(r), 0x5d01);
	stamp_unpublished(r);
	EXPECT_EQ(0, vanity__enter(r, r->sq_entries, 0, 0))
		TH_LOG("ENTER took an SQE the tail does not publish");
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(1, vanity__enter(r, r->sq_entries, 0, 0));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x5d01, c.user_data);
}

/* Three laps of the CQ: every CQE carries its index's stamp, in order. */
TEST_F(ring, cqes_carry_the_stamps_of_their_indices)
{
	struct vanity_ring *r = self->r;
	uint32_t cqn = r->cq_mask + 1, head = *r->cq_head, index, n, k;
	uint64_t ud = 0x5c000;
	struct vanity_cqe *c;

	for (n = 0; n < 3 * cqn; n += 32) {
		for (k = 0; k < 32; k++)
			vanity_prep_nop(next_sqe(r), ud + k);
		ASSERT_EQ(32, vanity_submit_and_wait(r, 32));
		ASSERT_TRUE(spin_cqes(r, 32, BOUND_S));
		/* Half one at a time, half in one walk. */
		for (k = 0; k < 16; k++, head++) {
			ASSERT_EQ(0, vanity_peek_cqe(r, &c)) TH_LOG("a posted CQE has no stamp");
			ASSERT_EQ(VANITY_STAMP(head), c->stamp);
			ASSERT_EQ(0, c->flags);
			ASSERT_EQ(ud + k, c->user_data);
			ASSERT_EQ(0, c->res);
			vanity_cqe_seen(r);
		}
		vanity_for_each_cqe(r, index, c) {
			ASSERT_EQ(head, index);
			ASSERT_EQ(VANITY_STAMP(head), c->stamp);
			ASSERT_EQ(0, c->flags);
			ASSERT_EQ(ud + k, c->user_data);
			ASSERT_EQ(0, c->res);
			k++;
			head++;
		}
		ASSERT_EQ(32, k) TH_LOG("the walk did not end at the last CQE");
		vanity_cq_advance(r, 16);
		ud += 32;
	}
}

/* ---------------------------------------------------------- batches */

TEST_F(ring, batches_complete_in_order_and_are_counted)
{
	static const unsigned int sizes[] = { 1, 8, 32, 128 };
	struct vanity_ring *r = self->r;
	unsigned int s, round, i, total = 0;
	struct vanity_status_shard st;
	struct vanity_cqe c;

	for (s = 0; s < 4; s++) {
		for (round = 0; round < 5; round++) {
			uint64_t base = ((uint64_t)sizes[s] << 40) | ((uint64_t)round << 20);

			for (i = 0; i < sizes[s]; i++) {
				struct vanity_sqe *sqe = vanity_get_sqe(r);

				ASSERT_NE(NULL, sqe);
				vanity_prep_nop(sqe, base + i);
			}
			ASSERT_EQ(sizes[s], vanity_submit_and_wait(r, sizes[s]));
			ASSERT_EQ(sizes[s], cq_ready(r));
			for (i = 0; i < sizes[s]; i++) {
				ASSERT_EQ(0, pop(r, &c));
				ASSERT_EQ(base + i, c.user_data)
					TH_LOG("batch %u round %u cqe %u", sizes[s], round, i);
				ASSERT_EQ(0, c.res);
			}
			ASSERT_EQ(-EAGAIN, pop(r, &c));
			total += sizes[s];
		}
	}
	/* The SQ is full after 128 unsubmitted SQEs. */
	for (i = 0; i < r->sq_entries; i++)
		ASSERT_NE(NULL, vanity_get_sqe(r));
	EXPECT_EQ(NULL, vanity_get_sqe(r));
	r->sqe_tail -= r->sq_entries;	/* hand them back unsubmitted */
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(total, st.submitted);
	EXPECT_EQ(total, st.completed);
	EXPECT_EQ(total, st.ops[VANITY_OP_NOP]);
	EXPECT_EQ(0, st.overflows);
	/* Nothing leaks into another shard's counters. */
	ASSERT_EQ(0, vtb_shard(1, &st));
	EXPECT_EQ(0, st.submitted);
	EXPECT_EQ(0, st.ops[VANITY_OP_NOP]);
}

TEST_F(ring, per_op_counters_match_what_was_submitted)
{
	static const unsigned int want[VANITY_OP_LAST] = {
		[VANITY_OP_NOP] = 7, [VANITY_OP_NOTIFY] = 3, [VANITY_OP_WAIT] = 2,
		[VANITY_OP_YIELD] = 4, [VANITY_OP_TIMEOUT] = 5,
	};
	struct vanity_status_shard st;
	struct bad_sqe b[NBAD + 4];
	unsigned int nbad = bad_sqes(b), i, op, total = 0;
	struct vanity_sqe s;

	for (op = 0; op < VANITY_OP_LAST; op++) {
		for (i = 0; i < want[op]; i++) {
			switch (op) {
			case VANITY_OP_NOTIFY:
				s = sqe_of(op, i % 2, 0, 0, i);
				break;
			case VANITY_OP_WAIT:
				s = sqe_of(op, CH_BACK, 1, 0, i);	/* -ETIME */
				break;
			default:
				s = sqe_of(op, 0, 0, 0, i);
			}
			ASSERT_LT(-1000, ring_res_of(self->r, &s));
			total++;
		}
	}
	/* Malformed SQEs count as submitted and completed, not as an op. */
	for (i = 0; i < nbad; i++)
		ASSERT_EQ(b[i].res, ring_res_of(self->r, &b[i].sqe));
	total += nbad;

	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(VANITY_RING_ENTRIES_DEFAULT, st.ring_entries);
	EXPECT_FALSE(st.sqpoll);
	EXPECT_EQ(total, st.submitted);
	EXPECT_EQ(total, st.completed);
	EXPECT_EQ(0, st.overflows);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(want[op], st.ops[op]) TH_LOG("op %u", op);
	/* Nothing leaks into the other shards' counters. */
	ASSERT_EQ(0, vtb_shard(1, &st));
	EXPECT_EQ(0, st.submitted);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(0, st.ops[op]);
}

/* ------------------------------------------------ CQ overflow */

/* Fill SQ and CQ until a submit says -EBUSY; *next is the next user_data. */
static int fill_to_ebusy(struct vanity_ring *r, uint64_t *next)
{
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	int ret;

	for (k = 0; k < cqn / sqn; k++) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(next_sqe(r), (*next)++);
		ret = vanity_submit(r);
		if (ret != (int)sqn)
			return ret < 0 ? ret : -EIO;
	}
	for (i = 0; i < sqn; i++)
		vanity_prep_nop(next_sqe(r), (*next)++);
	return vanity_submit(r);
}

TEST_F(ring, cq_overflow_is_ebusy_counted_and_loses_nothing)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, ov;
	struct vanity_status_shard st;
	uint64_t next = 0, want = 0;
	uint8_t seen[1024];
	struct vanity_cqe c;

	ASSERT_EQ(128, sqn);
	ASSERT_EQ(256, cqn);
	EXPECT_EQ(0, *r->cq_overflow);
	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	ASSERT_EQ(384, next);
	EXPECT_EQ(cqn, cq_ready(r));
	/* The last batch is published, not consumed. */
	EXPECT_EQ(sqn, *r->sq_tail - *r->sq_head);
	ov = *r->cq_overflow;
	EXPECT_LE(1, ov);
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(ov, st.overflows);
	EXPECT_EQ(cqn, st.submitted);
	EXPECT_EQ(cqn, st.completed);

	/* Still full: -EBUSY again, each refusal counted, whole or part. */
	EXPECT_EQ(-EBUSY, vanity__enter(r, sqn, 0, 0));
	EXPECT_EQ(ov + 1, *r->cq_overflow);
	EXPECT_EQ(-EBUSY, vanity__enter(r, 1, 0, 0));
	EXPECT_EQ(ov + 2, *r->cq_overflow);
	/* The word is the backend's count, written, never read back. */
	*r->cq_overflow = 1000;
	EXPECT_EQ(-EBUSY, vanity__enter(r, sqn, 0, 0));
	EXPECT_EQ(ov + 3, *r->cq_overflow) TH_LOG("a scribbled count was believed");
	ov = *r->cq_overflow;
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(ov, st.overflows);

	/* Reap half, have the pending SQEs consumed, reap everything. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sqn; i++) {
		ASSERT_EQ(0, pop(r, &c));
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
		seen[c.user_data]++;
	}
	EXPECT_EQ(sqn, vanity__enter(r, *r->sq_tail - *r->sq_head, 0, 0));
	EXPECT_EQ(*r->sq_tail, *r->sq_head);
	EXPECT_EQ(cqn, cq_ready(r));
	while (!pop(r, &c)) {
		ASSERT_GT(sizeof(seen), c.user_data);
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
		seen[c.user_data]++;
	}
	ASSERT_EQ(384, want);
	for (i = 0; i < 384; i++)
		ASSERT_EQ(1, seen[i]) TH_LOG("user_data %u", i);
	EXPECT_EQ(0, nop_ok(r, 1000));
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(385, st.submitted);
	EXPECT_EQ(385, st.completed);
	EXPECT_EQ(ov, st.overflows);
}

/*
 * The library's documented recovery: "-EBUSY: the CQ is full, reap
 * first", then submit again. The SQEs that met -EBUSY must then go.
 */
TEST_F(ring, library_submits_again_after_ebusy)
{
	struct vanity_ring *r = self->r;
	uint64_t next = 0;
	struct vanity_cqe c;
	uint32_t n = 0;

	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	while (!pop(r, &c))
		n++;
	ASSERT_EQ(256, n);
	EXPECT_EQ(128, vanity_submit(r))
		TH_LOG("vanity_submit after reaping returned without consuming the "
		       "SQEs that met -EBUSY (sq_head %u, sq_tail %u)",
		       *r->sq_head, *r->sq_tail);
	EXPECT_EQ(*r->sq_tail, *r->sq_head);
	ASSERT_TRUE(spin_cqes(r, 128, BOUND_S));
	while (!pop(r, &c))
		n++;
	EXPECT_EQ(384, n);
}

/* ------------------------------------------------ async WAIT and TIMEOUT */

/*
 * A TIMEOUT does not block the ring: the NOP behind it completes in the
 * same submission, the TIMEOUT later (out of submission order) with
 * -ETIME, waking a GETEVENTS wait; meanwhile it holds one CQE slot.
 */
TEST_F(ring, timeout_does_not_hold_back_later_sqes)
{
	struct vanity_ring *r = self->r;
	struct vanity_status_shard st;
	struct vanity_cqe c, *cqe;

	put_sqe(r, sqe_of(VANITY_OP_TIMEOUT, 0, 0, 2000000000LL, 1));
	put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 2));
	ASSERT_EQ(2, vanity_submit(r));
	ASSERT_EQ(1, cq_ready(r));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(1, vtb_inflight("producer"));
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(2, st.submitted);
	EXPECT_EQ(1, st.completed);
	/* GETEVENTS is woken by the CQE posted later (2 s). */
	ASSERT_EQ(0, vanity_wait_cqe(r, &cqe));
	EXPECT_EQ(1, cqe->user_data);
	EXPECT_EQ(-ETIME, cqe->res);
	vanity_cqe_seen(r);
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	EXPECT_EQ(0, vtb_inflight("producer"));
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(2, st.completed);
	/* TIMEOUT 0 is not armed: -ETIME at once, in order. */
	put_sqe(r, sqe_of(VANITY_OP_TIMEOUT, 0, 0, 0, 3));
	put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 4));
	ASSERT_EQ(2, vanity_submit(r));
	ASSERT_EQ(2, cq_ready(r));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(-ETIME, c.res);
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(4, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, vtb_inflight("producer"));
}

/*
 * An end's waiting flag has one bit per sleeper kind (kmod/core/bell.h): a
 * blocking call on back (our consumer end) that times out lowers only its
 * own bit, so an armed ring WAIT on the same end keeps its bit up, the
 * peer's send rings, and the WAIT completes. With one flag for both, the
 * timed-out call took the WAIT's down and the peer's send rang nobody.
 */
TEST_F(ring, a_timed_out_blocking_call_leaves_an_armed_waits_flag_up)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *rx;
	char buf[SLOT_SIZE];
	struct vanity_cqe c;
	uint32_t *flag;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &rx));
	flag = &rx->hdr->cons_waiting;
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 1, -1, 0x7e11));
	ASSERT_EQ(1, vanity_submit(r));
	spin_us(50000);
	ASSERT_EQ(0, cq_ready(r)) TH_LOG("the WAIT completed with nothing sent");
	ASSERT_TRUE(ld(flag) & VANITY_WAITING_RING) TH_LOG("the armed WAIT raised no flag");
	vanity_channel_set_spin(rx, 0);
	ASSERT_EQ(-ETIME, vanity_wait_data(rx, 1000000));
	EXPECT_TRUE(ld(flag) & VANITY_WAITING_RING)
		TH_LOG("a blocking call took the armed WAIT's flag down");
	EXPECT_FALSE(ld(flag) & VANITY_WAITING_LIB)
		TH_LOG("the blocking call left its own bit up");
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	EXPECT_EQ(0, vt_wait(pid, 20000)) TH_LOG("the peer could not send");
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the armed WAIT missed the peer's ring");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x7e11, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, ld(flag)) TH_LOG("a flag bit stayed up after both sleepers left");
	EXPECT_EQ(0, vanity_recv(rx, buf)) TH_LOG("the message is not there");
}

/*
 * Status's sleeps and wakeups of a channel, one definition on both
 * backends (vanity_chan_bell_counts): what the ends counted in the header
 * plus the NOTIFY ops that rang it. The header is bumped here as a
 * shard's library would count.
 */
TEST_F(ring, status_counts_sleeps_and_wakeups_as_header_plus_notifies)
{
	struct vanity_status_channel c0, c1;
	struct vanity_channel *tx;
	struct vanity_sqe s;

	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &tx));
	ASSERT_EQ(0, vtb_channel(CH_DATA, &c0));
	__atomic_fetch_add(&tx->hdr->prod.sleeps, 3, __ATOMIC_RELAXED);
	__atomic_fetch_add(&tx->hdr->prod.wakeups, 5, __ATOMIC_RELAXED);
	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 0x7e21);
	ASSERT_EQ(0, ring_res_of(self->r, &s));
	ASSERT_EQ(0, vtb_channel(CH_DATA, &c1));
	EXPECT_EQ(c0.sleeps + 3, c1.sleeps) TH_LOG("sleeps are not what the header counted");
	EXPECT_EQ(c0.wakeups + 5 + 1, c1.wakeups)
		TH_LOG("wakeups are not the header's plus the NOTIFY");
}

TEST_F(ring, an_armed_wait_lets_the_ring_go_on_and_completes_on_data)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *back;
	struct vanity_cqe c;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	/* back (we consume) is empty: the WAIT is armed, no deadline. */
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 10));
	for (i = 0; i < 3; i++)
		put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 11 + i));
	ASSERT_EQ(4, vanity_submit(r));
	ASSERT_EQ(3, cq_ready(r));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(11 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
	EXPECT_EQ(1, vtb_inflight("producer"));
	EXPECT_EQ(VANITY_WAITING_RING, ld(&back->hdr->cons_waiting))
		TH_LOG("the armed WAIT's bit, the only one up");
	/* More ops go on past it. */
	EXPECT_EQ(0, nop_ok(r, 14));
	/* The peer's send rings for the armed WAIT. */
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the send did not complete the WAIT");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(10, c.user_data);
	EXPECT_EQ(0, c.res) TH_LOG("not the bit of back");
	EXPECT_EQ(0, vt_wait(pid, 20000));
	EXPECT_EQ(0, ld(&back->hdr->cons_waiting)) TH_LOG("the flag stayed up");
	EXPECT_EQ(0, vtb_inflight("producer"));
	EXPECT_EQ(5, shard_st(0).completed);
}

/*
 * WAITs armed while the peer sends: doorbells claim ops in the middle of
 * their arming. Every WAIT completes exactly once, with the bit or
 * -ETIME, and every message is received.
 */
TEST_F_TIMEOUT(ring, waits_armed_under_a_flood_complete_once, 240)
{
	const unsigned long msgs = 10000;
	struct vanity_ring *r = self->r;
	struct vanity_channel *back;
	unsigned long got = 0, waits = 0, timeouts = 0;
	char buf[SLOT_SIZE];
	struct vanity_cqe c;
	double end = now() + 120;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	pid = vt_spawn(consumer_floods_back, (void *)(uintptr_t)msgs);
	ASSERT_LT(0, pid);
	while (got < msgs) {
		ASSERT_GT(end, now()) TH_LOG("%lu of %lu received", got, msgs);
		put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 50000000, waits));
		put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 1ULL << 40));
		ASSERT_EQ(2, vanity_submit_and_wait(r, 2));
		ASSERT_EQ(2, cq_ready(r));
		while (!pop(r, &c)) {
			if (c.user_data == 1ULL << 40) {
				ASSERT_EQ(0, c.res);
				continue;
			}
			ASSERT_EQ(waits, c.user_data);
			ASSERT_TRUE(c.res == 0 || c.res == -ETIME)
				TH_LOG("WAIT %lu: res %d", waits, c.res);
			timeouts += c.res == -ETIME;
		}
		waits++;
		while (!vanity_recv(back, buf))
			got++;
	}
	EXPECT_EQ(0, vt_wait(pid, 20000));
	usleep(100000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a WAIT completed twice");
	TH_LOG("%lu messages, %lu WAITs, %lu timed out", got, waits, timeouts);
}

/*
 * Armed ops hold their CQE slots (a CQ full of them refuses more, counted)
 * and detach cancels them: their flags come down, the next attachment
 * sees none of their CQEs, and none counts as completed.
 */
TEST_F_TIMEOUT(ring, armed_ops_hold_cq_slots_and_die_with_the_attachment, 240)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	struct vanity_status_shard st;
	struct vanity_channel *back;
	struct vanity_cqe c;
	int cycle;

	for (cycle = 0; cycle < 20; cycle++) {
		ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
		for (k = 0; k < cqn / sqn; k++) {
			for (i = 0; i < sqn; i++)
				put_sqe(r, sqe_of(i % 2 ? VANITY_OP_TIMEOUT :
						  VANITY_OP_WAIT,
						  i % 2 ? 0 : CH_BACK,
						  i % 2 ? 0 : 1, 60000000000LL,
						  k * sqn + i));
			ASSERT_EQ((int)sqn, vanity_submit(r)) TH_LOG("cycle %d", cycle);
		}
		ASSERT_EQ(0, cq_ready(r));
		ASSERT_EQ(cqn, vtb_inflight("producer")) TH_LOG("cycle %d", cycle);
		ASSERT_EQ(VANITY_WAITING_RING, ld(&back->hdr->cons_waiting));
		if (!cycle) {
			/* Every slot is held: a NOP meets a full CQ. */
			put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 999));
			EXPECT_EQ(-EBUSY, vanity_submit(r));
			EXPECT_LE(1, *r->cq_overflow);
			ASSERT_EQ(0, vtb_shard(0, &st));
			EXPECT_EQ(*r->cq_overflow, st.overflows);
			EXPECT_EQ(cqn, st.submitted);
			EXPECT_EQ(0, st.completed);
			r->sqe_tail--;		/* take the NOP back */
			__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		}
		vanity_detach(self->v);
		self->v = NULL;
		ASSERT_TRUE(inflight_becomes("producer", 0))
			TH_LOG("cycle %d: detach left armed ops", cycle);
		ASSERT_EQ(0, vanity_attach("producer", &self->v));
		r = self->r = vanity_ring(self->v);
		ASSERT_EQ(0, cq_ready(r));
		ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
		ASSERT_EQ(0, ld(&back->hdr->cons_waiting))
			TH_LOG("cycle %d: a cancelled WAIT's flag stayed up", cycle);
	}
	EXPECT_EQ(0, nop_ok(r, 7));
	usleep(100000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a cancelled op posted a CQE");
	/* A cancelled op completes nothing: counted submitted, never completed. */
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(20 * cqn + 1, st.submitted);
	EXPECT_EQ(1, st.completed);
}

/* ------------------------------------------------ signals, DOWN */

static void on_usr1(int sig)
{
	(void)sig;
}

struct enterer {
	struct vanity_ring *r;
	uint32_t to_submit, min_complete, flags;
	int ret;
	atomic_int done;
	pthread_t t;
};

static void *enter_thread(void *arg)
{
	struct enterer *e = arg;

	e->ret = vanity__enter(e->r, e->to_submit, e->min_complete, e->flags);
	atomic_store(&e->done, 1);
	return NULL;
}

/* Until @e's ENTER returned (joined): false after the bound. */
static bool entered(struct enterer *e)
{
	double end = now() + BOUND_S;

	while (!atomic_load(&e->done)) {
		if (now() > end)
			return false;
		usleep(1000);
	}
	pthread_join(e->t, NULL);
	return true;
}

/* Signal @e's thread until its ENTER returns: false after the bound. */
static bool interrupted(struct enterer *e)
{
	double end = now() + BOUND_S;

	while (!atomic_load(&e->done)) {
		if (now() > end)
			return false;
		pthread_kill(e->t, SIGUSR1);
		usleep(20000);
	}
	pthread_join(e->t, NULL);
	return true;
}

/* Until status counts @want ops @op of shard 0: false after the bound. */
static bool op_issued(unsigned int op, uint64_t want)
{
	double end = now() + BOUND_S;

	while (shard_st(0).ops[op] < want) {
		if (now() > end)
			return false;
		usleep(2000);
	}
	return true;
}

TEST_F(ring, a_signal_ends_enter_with_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct vanity_ring *r = self->r;
	struct enterer e = { .r = r };
	struct vanity_cqe c;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	/* An armed TIMEOUT and a NOP behind it, waiting for both CQEs. */
	vanity_prep_timeout(next_sqe(r), 20000000000LL, 1);
	vanity_prep_nop(next_sqe(r), 2);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	e.to_submit = 2;
	e.min_complete = 2;
	e.flags = VANITY_ENTER_GETEVENTS;
	ASSERT_EQ(0, pthread_create(&e.t, NULL, enter_thread, &e));
	ASSERT_TRUE(op_issued(VANITY_OP_TIMEOUT, 1));
	usleep(20000);
	EXPECT_EQ(0, atomic_load(&e.done)) TH_LOG("ENTER returned with one CQE of two");
	ASSERT_TRUE(interrupted(&e)) TH_LOG("a signal did not end ENTER");
	/*
	 * Both were consumed; the wait for the second CQE ends with the
	 * signal: the NOP's CQE is there, the TIMEOUT stays armed (a signal
	 * is no cancellation) until detach.
	 */
	EXPECT_EQ(2, e.ret);
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	EXPECT_EQ(1, vtb_inflight("producer"));

	/* Waiting for CQEs that never come: a signal ends it with -EINTR. */
	e.to_submit = 0;
	e.min_complete = 1;
	atomic_store(&e.done, 0);
	ASSERT_EQ(0, pthread_create(&e.t, NULL, enter_thread, &e));
	usleep(50000);
	EXPECT_EQ(0, atomic_load(&e.done)) TH_LOG("GETEVENTS returned with no CQE");
	ASSERT_TRUE(interrupted(&e)) TH_LOG("a signal did not end ENTER");
	EXPECT_EQ(-EINTR, e.ret);
	/* The ring goes on. */
	EXPECT_EQ(0, nop_ok(r, 3));
	vanity_detach(self->v);
	self->v = NULL;
	EXPECT_TRUE(inflight_becomes("producer", 0)) TH_LOG("detach left the TIMEOUT armed");
}

/*
 * A forced DOWN under an attached shard: a GETEVENTS wait in progress
 * ends with -ENODEV rather than hanging, and every later ENTER says
 * -ENODEV. (The module revokes the ring's mapping: nothing here reads
 * the ring after the DOWN.)
 */
TEST_F(ring, a_forced_down_ends_enter_with_enodev)
{
	struct vanity_ring *r = self->r;
	struct enterer e = { .r = r, .min_complete = 1,
			     .flags = VANITY_ENTER_GETEVENTS };

	ASSERT_EQ(0, nop_ok(r, 1));
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 2));
	ASSERT_EQ(1, vanity_submit(r));
	ASSERT_EQ(1, vtb_inflight("producer"));
	ASSERT_EQ(0, pthread_create(&e.t, NULL, enter_thread, &e));
	usleep(50000);
	EXPECT_EQ(0, atomic_load(&e.done)) TH_LOG("GETEVENTS returned with no CQE");
	ASSERT_EQ(0, vtb_force_down());
	ASSERT_TRUE(entered(&e)) TH_LOG("an ENTER waiting for CQEs hangs after the DOWN");
	EXPECT_EQ(-ENODEV, e.ret);
	EXPECT_EQ(-ENODEV, vanity__enter(r, 0, 0, VANITY_ENTER_GETEVENTS));
	EXPECT_EQ(-ENODEV, vanity__enter(r, 0, 1, VANITY_ENTER_GETEVENTS));
}

/* ------------------------------------------- attach, the image's sizes */

TEST(attach_refuses_unknown_flags)
{
	struct vanity_status_shard st;
	struct vanity *v = NULL;
	char msg[256];

	ASSERT_EQ(0, vtb_up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	EXPECT_EQ(-EINVAL, vanity_attach_flags("producer", 1U << 1, 0, &v));
	EXPECT_EQ(-EINVAL, vanity_attach_flags("producer", 1U << 31, 0, &v));
	EXPECT_EQ(NULL, v);
	/* Nothing was attached by those. */
	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, 0, &v));
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_TRUE(st.sqpoll);
	EXPECT_EQ(getpid(), (pid_t)st.pid);
	vanity_detach(v);
	vtb_reset();
}

TEST(ring_entries_come_from_the_image)
{
	struct vanity_status_shard st;
	struct vanity_ring *r;
	struct vanity *v;
	char msg[256];
	unsigned int i;

	/* Not a power of two, too small, too large: refused at UP. */
	EXPECT_EQ(-EINVAL, vtb_up_std(24, msg, sizeof(msg)));
	EXPECT_EQ(-EINVAL, vtb_up_std(1, msg, sizeof(msg)));
	EXPECT_EQ(-EINVAL, vtb_up_std(VANITY_RING_ENTRIES_MAX * 2, msg, sizeof(msg)));
	ASSERT_EQ(0, vtb_up_std(VANITY_RING_ENTRIES_MAX, msg, sizeof(msg))) TH_LOG("%s", msg);
	ASSERT_EQ(0, vanity_attach("producer", &v));
	r = vanity_ring(v);
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, r->sq_entries);
	EXPECT_EQ(2 * VANITY_RING_ENTRIES_MAX - 1, r->cq_mask);
	for (i = 0; i < VANITY_RING_ENTRIES_MAX; i++)
		vanity_prep_nop(next_sqe(r), i);
	EXPECT_EQ(NULL, vanity_get_sqe(r));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, vanity_submit_and_wait(r, VANITY_RING_ENTRIES_MAX));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, cq_ready(r));
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, st.ring_entries);
	ASSERT_EQ(0, vtb_shard(1, &st));
	EXPECT_EQ(VANITY_RING_ENTRIES_DEFAULT, st.ring_entries);
	vanity_detach(v);
	vtb_reset();
}

/* --------------------------------------------------------- SQPOLL */

FIXTURE(sq) {
	struct vanity *v;
	struct vanity_ring *r;
};

FIXTURE_SETUP(sq)
{
	char msg[256];

	ASSERT_EQ(0, vtb_up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
}

FIXTURE_TEARDOWN(sq)
{
	if (self->v)
		vanity_detach(self->v);
	vtb_reset();
}

/* Attach the producer with SQPOLL, idle @idle_us. */
static int sq_attach(FIXTURE_DATA(sq) *self, uint32_t idle_us)
{
	int ret = vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, idle_us,
				      &self->v);

	self->r = ret ? NULL : vanity_ring(self->v);
	return ret;
}

TEST_F(sq, submissions_complete_without_enter)
{
	struct vanity_status_shard st;
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i, round;

	/* Idle 5 s: the poller stays awake through the test. */
	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_TRUE(st.sqpoll);
	for (round = 0; round < 20; round++) {
		/* Plain stores and loads only: no system call at all. */
		for (i = 0; i < 32; i++)
			vanity_prep_nop(next_sqe(r), round * 100 + i);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		ASSERT_TRUE(spin_cqes(r, 32, BOUND_S))
			TH_LOG("round %u: %u of 32 CQEs, sq_flags %#x", round,
			       cq_ready(r), *r->sq_flags);
		for (i = 0; i < 32; i++) {
			ASSERT_EQ(0, pop(r, &c));
			ASSERT_EQ(round * 100 + i, c.user_data);
			ASSERT_EQ(0, c.res);
		}
	}
	EXPECT_EQ(0, *r->sq_flags & VANITY_SQ_NEED_WAKEUP);
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(640, st.submitted);
	EXPECT_EQ(640, st.ops[VANITY_OP_NOP]);
	/* ENTER submits nothing under SQPOLL; GETEVENTS still waits. */
	vanity_prep_nop(next_sqe(r), 7);
	EXPECT_EQ(1, vanity_submit_and_wait(r, 1));
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(7, c.user_data);
}

TEST_F(sq, yield_completes_with_zero_from_the_poller)
{
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	for (i = 0; i < 4; i++)
		vanity_prep_yield(next_sqe(r), 0x71e1d0 + i);
	ASSERT_EQ(4, vanity_submit(r));
	ASSERT_TRUE(spin_cqes(r, 4, BOUND_S));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(0x71e1d0 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
}

TEST_F(sq, need_wakeup_after_idle_and_submit_wakes)
{
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_cqe c;
	uint32_t head;
	double end;
	unsigned int k;

	ASSERT_EQ(0, sq_attach(self, 1000));
	r = self->r;
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, nop_ok(r, 10 + k));
		/*
		 * Idle: the flag must appear (1 ms idle; give it 20 s) and
		 * stay, the poller asleep (no wakeup counted for 50 ms).
		 */
		for (end = now() + BOUND_S;; usleep(1000)) {
			ASSERT_GT(end, now()) TH_LOG("no lasting NEED_WAKEUP");
			if (!(ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP))
				continue;
			ASSERT_EQ(0, vtb_shard(0, &g0));
			usleep(50000);
			ASSERT_EQ(0, vtb_shard(0, &g1));
			if (g0.poller_wakeups == g1.poller_wakeups &&
			    ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP)
				break;
		}
		/* The flag is true: a bare tail store is not consumed... */
		head = *r->sq_head;
		vanity_prep_nop(next_sqe(r), 20 + k);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		usleep(200000);
		EXPECT_EQ(head, ld(r->sq_head)) TH_LOG("the poller ran while flagged asleep");
		/* ...until a submit sees the flag and wakes the poller. */
		vanity_prep_nop(next_sqe(r), 30 + k);
		ASSERT_EQ(1, vanity_submit(r));
		ASSERT_TRUE(spin_cqes(r, 2, BOUND_S)) TH_LOG("the wakeup was lost");
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(20 + k, c.user_data);
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(30 + k, c.user_data);
		ASSERT_EQ(0, vtb_shard(0, &g1));
		EXPECT_LT(g0.poller_wakeups, g1.poller_wakeups);
	}
}

/*
 * The poller awake: an SQE published by its stamp alone is taken and
 * answered, and the tail covering it later runs nothing again.
 */
TEST_F(sq, a_stamped_sqe_is_taken_before_the_tail_moves)
{
	struct vanity_status_shard st;
	struct vanity_ring *r;
	struct vanity_cqe c;
	double end;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	vanity_prep_nop(next_sqe(r), 0x5a01);
	stamp_unpublished(r);
	ASSERT_TRUE(spin_peek(r, BOUND_S)) TH_LOG("an SQE published by its stamp was not taken");
	/* sq_head is published after the CQE. */
	for (end = now() + BOUND_S; ld(r->sq_head) != 1 && now() < end;)
		vanity_cpu_relax();
	EXPECT_EQ(1, ld(r->sq_head)) TH_LOG("sq_head did not move past it");
	EXPECT_EQ(0, *r->sq_tail);
	ASSERT_EQ(0, pop(r, &c)) TH_LOG("its CQE has no stamp");
	EXPECT_EQ(0x5a01, c.user_data);
	EXPECT_EQ(0, c.res);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	spin_us(100000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("it ran again once the tail covered it");
	EXPECT_EQ(1, ld(r->sq_head));
	EXPECT_EQ(0, nop_ok(r, 0x5a02));
	/* Two SQEs, each run once. */
	ASSERT_EQ(0, vtb_shard(0, &st));
	EXPECT_EQ(2, st.submitted);
	EXPECT_EQ(2, st.ops[VANITY_OP_NOP]);
}

/*
 * The poller awake: an SQE with no stamp, or with the stamp of another
 * index, is not taken until the tail covers it.
 */
TEST_F(sq, unstamped_or_misstamped_sqes_wait_for_the_tail)
{
	struct vanity_ring *r;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	unsigned int k;
	uint32_t i;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	i = r->sqe_tail;
	{
		const uint16_t wrong[] = {
			0,				/* none */
			VANITY_STAMP(i + 1),		/* the next SQE's */
			VANITY_STAMP(i - 1),		/* the last one's */
			VANITY_STAMP(i + r->sq_entries), /* a lap on */
			VANITY_STAMP(i) & 0x7fff,	/* no valid bit */
		};

		ASSERT_EQ(i, ld(r->sq_head));
		ASSERT_EQ(i, *r->sq_tail);
		sqe = next_sqe(r);
		vanity_prep_nop(sqe, 0x5b01);
		for (k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
			__atomic_store_n(&sqe->stamp, wrong[k], __ATOMIC_RELEASE);
			spin_us(50000);
			EXPECT_EQ(i, ld(r->sq_head)) TH_LOG("stamp %#x was taken", wrong[k]);
			EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("stamp %#x was taken", wrong[k]);
		}
	}
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the tail did not publish it");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x5b01, c.user_data);
	EXPECT_EQ(1, shard_st(0).submitted);
}

/* @n NOPs through @r, a batch at a time, each CQE checked and seen. */
static bool run_nops(struct vanity_ring *r, uint32_t n)
{
	uint32_t batch = r->sq_entries < 64 ? r->sq_entries : 64, k, b;
	uint64_t ud = 0;
	struct vanity_cqe c;

	while (n) {
		b = n < batch ? n : batch;
		for (k = 0; k < b; k++)
			vanity_prep_nop(next_sqe(r), ud + k);
		if (vanity_submit_and_wait(r, b) != (int)b ||
		    !spin_cqes(r, b, BOUND_S))
			return false;
		for (k = 0; k < b; k++)
			if (pop(r, &c) || c.user_data != ud + k || c.res)
				return false;
		ud += b;
		n -= b;
	}
	return true;
}

/*
 * Attach zeroes the ring: SQE and CQE 32768 of the last attachment sit in
 * slot 0 with the stamp index 0 has, and must not be taken for new ones.
 */
TEST_F_TIMEOUT(sq, a_new_attachment_takes_no_stale_stamp, 240)
{
	struct vanity_ring *r;
	struct vanity_cqe c;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	ASSERT_TRUE(run_nops(r, 32769));
	ASSERT_EQ(VANITY_STAMP(0), r->sqes[0].stamp);
	ASSERT_EQ(VANITY_STAMP(0), r->cqes[0].stamp);
	vanity_detach(self->v);
	self->v = NULL;
	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	spin_us(200000);
	EXPECT_EQ(0, ld(r->sq_head)) TH_LOG("the poller ran an old SQE");
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("an old CQE was taken as new");
	EXPECT_EQ(0, r->sqes[0].stamp);
	EXPECT_EQ(0, r->cqes[0].stamp);
	EXPECT_EQ(0, nop_ok(r, 1));
}

/*
 * The poller holds the ring's lock while it polls; an async op's
 * completion needs that lock. It must get it between batches, while the
 * shard keeps the poller busy, not only when the poller idles: a 1 ms
 * TIMEOUT completes in the middle of a stream of NOPs that runs far
 * longer (until the TIMEOUT's CQE shows up, or 100,000 batches).
 */
TEST_F_TIMEOUT(sq, a_timeout_completes_while_the_poller_is_kept_busy, 120)
{
	uint64_t ud = 100, nops_before = 0;
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i, batch;
	bool fired = false;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	put_sqe(r, sqe_of(VANITY_OP_TIMEOUT, 0, 0, 1000000, 1));
	ASSERT_EQ(1, vanity_submit(r));
	for (batch = 0; batch < 100000 && !fired; batch++) {
		for (i = 0; i < 8; i++)
			vanity_prep_nop(next_sqe(r), ud++);
		ASSERT_EQ(8, vanity_submit(r));
		/* Reap as they come, keeping at most 16 NOPs in flight. */
		for (;;) {
			while (!pop(r, &c)) {
				if (c.user_data == 1) {
					EXPECT_EQ(-ETIME, c.res);
					fired = true;
					continue;
				}
				ASSERT_EQ(100 + nops_before, c.user_data);
				ASSERT_EQ(0, c.res);
				nops_before++;
			}
			if (ud - 100 - nops_before <= 16)
				break;
			ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the poller stopped");
		}
	}
	EXPECT_TRUE(fired) TH_LOG("no TIMEOUT CQE after %u busy batches", batch);
	EXPECT_LT(batch, 100000);
	/* Drain the rest; every NOP accounted for, in order. */
	ASSERT_TRUE(spin_cqes(r, (uint32_t)(ud - 100 - nops_before), BOUND_S));
	while (!pop(r, &c)) {
		ASSERT_EQ(100 + nops_before, c.user_data);
		nops_before++;
	}
	EXPECT_EQ(ud - 100, nops_before);
}

/* An armed WAIT does not occupy the poller: later SQEs go on. */
TEST_F(sq, an_armed_wait_does_not_stall_the_poller)
{
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 1));
	ASSERT_EQ(1, vanity_submit(r));
	for (i = 0; i < 100; i++)
		put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 2 + i));
	ASSERT_EQ(100, vanity_submit(r));
	ASSERT_TRUE(spin_cqes(r, 100, BOUND_S)) TH_LOG("the poller is stuck in WAIT");
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(2 + i, c.user_data);
	}
	EXPECT_EQ(1, vtb_inflight("producer"));
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the WAIT never completed");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, vt_wait(pid, 20000));
	EXPECT_EQ(0, vtb_inflight("producer"));
}

/*
 * A poller asleep past sq_idle (NEED_WAKEUP up) still completes an armed
 * WAIT when the peer sends, with no call from the shard; and an armed
 * WAIT's deadline completes it too.
 */
TEST_F(sq, a_sleeping_poller_completes_armed_ops_without_a_call)
{
	struct vanity_channel *back;
	struct vanity_ring *r;
	struct vanity_cqe c;
	double end;
	pid_t pid;

	ASSERT_EQ(0, sq_attach(self, 1000));
	r = self->r;
	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 1));
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 300000000, 2));
	ASSERT_EQ(2, vanity_submit(r));
	/* The second WAIT's deadline: -ETIME, while the first stays armed. */
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the deadline never completed the WAIT");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-ETIME, c.res);
	for (end = now() + BOUND_S; !(ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP);
	     usleep(1000))
		ASSERT_GT(end, now()) TH_LOG("the poller never went to sleep");
	usleep(50000);
	EXPECT_EQ(0, cq_ready(r));
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_TRUE(spin_cqes(r, 1, BOUND_S)) TH_LOG("the send did not complete the WAIT");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, ld(&back->hdr->cons_waiting));
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

/*
 * A full CQ under SQPOLL: the poller stops consuming (nothing is dropped
 * or overwritten), counts the overflow, and resumes once the shard reaps.
 */
TEST_F(sq, full_cq_stalls_the_poller_and_loses_nothing)
{
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_cqe c;
	uint32_t sqn, cqn, i, ov0;
	uint64_t next = 0, want = 0;

	ASSERT_EQ(0, sq_attach(self, 5000000));
	r = self->r;
	sqn = r->sq_entries;
	cqn = r->cq_mask + 1;
	ASSERT_EQ(0, vtb_shard(0, &g0));
	/* Fill the CQ: two SQs' worth, each consumed before the next. */
	for (; next < cqn;) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(next_sqe(r), next++);
		ASSERT_EQ((int)sqn, vanity_submit(r));
		ASSERT_TRUE(spin_cqes(r, (uint32_t)next, BOUND_S));
	}
	/* One more SQ's worth: it must wait, not overwrite a CQE. */
	for (i = 0; i < sqn; i++)
		vanity_prep_nop(next_sqe(r), next++);
	ASSERT_EQ((int)sqn, vanity_submit(r));
	usleep(300000);
	EXPECT_EQ(cqn, ld(r->sq_head));
	EXPECT_EQ(cqn, cq_ready(r));
	ov0 = ld(r->cq_overflow);
	EXPECT_LE(1, ov0);
	ASSERT_EQ(0, vtb_shard(0, &g1));
	EXPECT_EQ(ov0, g1.overflows - g0.overflows) TH_LOG("one per episode");
	/* Reap: the poller resumes by itself (a submit would wake it if asleep). */
	for (i = 0; i < cqn; i++) {
		ASSERT_EQ(0, pop(r, &c));
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
	}
	ASSERT_LE(0, vanity_submit(r));
	ASSERT_TRUE(spin_cqes(r, (uint32_t)(next - want), BOUND_S))
		TH_LOG("the poller did not resume");
	while (!pop(r, &c)) {
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
	}
	EXPECT_EQ(next, want);
	ASSERT_EQ(0, vtb_shard(0, &g1));
	EXPECT_EQ(next, g1.submitted - g0.submitted);
	EXPECT_EQ(next, g1.completed - g0.completed);
}

/*
 * The idle/wake edge: NOP submissions in random batches with random pauses
 * (none, a few µs, longer than sq_idle) so the poller is caught at every
 * stage of going to sleep, and now and then a wait for every outstanding
 * completion without submitting (where a stranded SQE stays stranded).
 * Every user_data must complete exactly once, in order. Runs to
 * RING_STRESS_OPS (1,000,000) or RING_STRESS_SECS (60 s).
 */
TEST_F_TIMEOUT(sq, idle_wake_edge_stress, 240)
{
	const char *e_ops = getenv("RING_STRESS_OPS"), *e_secs = getenv("RING_STRESS_SECS");
	uint64_t target = e_ops ? strtoull(e_ops, NULL, 0) : 1000000;
	double secs = e_secs ? strtod(e_secs, NULL) : 60;
	const uint32_t idle_us = 20;
	const uint64_t tag = 0x5a11ULL << 48;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, sub = 0, done = 0, x;
	uint64_t pauses[4] = { 0 }, full = 0;
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	double t0, end, stall;
	unsigned int b, i, iter;

	ASSERT_EQ(0, sq_attach(self, idle_us));
	r = self->r;
	ASSERT_EQ(0, vtb_shard(0, &g0));
	t0 = now();
	end = t0 + secs;
	for (iter = 0; sub < target && (iter++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 16;
		if (b > target - sub)
			b = target - sub;
		for (i = 0; i < b; i++) {
			sqe = vanity_get_sqe(r);
			if (!sqe)
				break;
			vanity_prep_nop(sqe, tag | sub++);
		}
		if (!i)
			full++;
		else
			ASSERT_EQ((int)i, vanity_submit(r));
		switch ((x >> 32) % 1000) {
		case 0 ... 849:
			pauses[0]++;
			break;
		case 850 ... 939:
			pauses[1]++;
			spin_us(1 + (x >> 48) % 5);
			break;
		case 940 ... 949:	/* past sq_idle: the poller goes to sleep */
			pauses[2]++;
			usleep(idle_us * 2 + (x >> 48) % (idle_us * 4));
			break;
		default:
			/*
			 * Wait for everything submitted, submitting nothing:
			 * an SQE stranded by a lost wakeup is never rescued
			 * by a later submission here.
			 */
			pauses[3]++;
			for (stall = now() + BOUND_S; done < sub;) {
				if (!pop(r, &c)) {
					ASSERT_EQ(tag | done, c.user_data);
					ASSERT_EQ(0, c.res);
					done++;
					continue;
				}
				ASSERT_GT(stall, now())
					TH_LOG("lost: submitted %llu, completed %llu, sq %u/%u, flags %#x",
					       (unsigned long long)sub, (unsigned long long)done,
					       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
				vanity_cpu_relax();
			}
		}
		/* Reap what is there; with a full SQ, spin until there is room. */
		for (stall = 0;;) {
			while (!pop(r, &c)) {
				ASSERT_EQ(tag | done, c.user_data)
					TH_LOG("after %llu completions", (unsigned long long)done);
				ASSERT_EQ(0, c.res);
				done++;
			}
			if (sub - done < r->sq_entries)
				break;
			if (!stall)
				stall = now() + BOUND_S;
			ASSERT_GT(stall, now())
				TH_LOG("stuck: submitted %llu, completed %llu, sq %u/%u, flags %#x",
				       (unsigned long long)sub, (unsigned long long)done,
				       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
			vanity_cpu_relax();
		}
	}
	/* Drain: everything submitted completes, without any further call. */
	stall = now() + BOUND_S;
	while (done < sub) {
		if (!pop(r, &c)) {
			ASSERT_EQ(tag | done, c.user_data);
			ASSERT_EQ(0, c.res);
			done++;
			continue;
		}
		ASSERT_GT(stall, now())
			TH_LOG("lost: submitted %llu, completed %llu, sq %u/%u, flags %#x",
			       (unsigned long long)sub, (unsigned long long)done,
			       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
		vanity_cpu_relax();
	}
	usleep(20000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a completion ran twice");
	ASSERT_EQ(0, vtb_shard(0, &g1));
	EXPECT_EQ(sub, g1.submitted - g0.submitted);
	EXPECT_EQ(sub, g1.completed - g0.completed);
	EXPECT_LT(100, g1.poller_wakeups - g0.poller_wakeups);
	TH_LOG("%llu NOPs in %.1f s, %llu poller wakeups; pauses none %llu, "
	       "µs %llu, >idle %llu, drain %llu; SQ full %llu times",
	       (unsigned long long)sub, now() - t0,
	       (unsigned long long)(g1.poller_wakeups - g0.poller_wakeups),
	       (unsigned long long)pauses[0], (unsigned long long)pauses[1],
	       (unsigned long long)pauses[2], (unsigned long long)pauses[3],
	       (unsigned long long)full);
}

/* --------------------------------------------- two shards at once */

struct hammer {
	const char *shard;
	uint64_t tag;
	int sqpoll;
	int start_r;
	double secs;
	uint64_t max;
	uint64_t done;		/* out */
	uint64_t bad_ud;	/* out: first foreign or out-of-order user_data */
};

/* A child: NOPs in random batches, each CQE its own and in order. */
static int hammer(void *p)
{
	struct hammer *h = p;
	uint64_t seed = h->tag | 1, sub = 0, done = 0, x;
	struct vanity_ring *r;
	struct vanity_cqe c;
	struct vanity *v;
	double end, stall = 0;
	unsigned int b, i, iter;
	char ch;

	if (vanity_attach_flags(h->shard, h->sqpoll ? VANITY_ATTACH_SQPOLL : 0,
				h->sqpoll ? 100000 : 0, &v))
		return 10;
	r = vanity_ring(v);
	if (read(h->start_r, &ch, 1) != 1)
		return 11;
	end = now() + h->secs;
	for (iter = 0; sub < h->max && (iter++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 32;
		for (i = 0; i < b && sub < h->max; i++) {
			struct vanity_sqe *sqe = vanity_get_sqe(r);

			if (!sqe)
				break;
			vanity_prep_nop(sqe, h->tag | sub++);
		}
		if (h->sqpoll) {
			if (i && vanity_submit(r) != (int)i)
				return 12;
		} else if (vanity_submit_and_wait(r, i) != (int)i) {
			return 13;
		}
		while (!pop(r, &c)) {
			if (c.user_data != (h->tag | done) || c.res) {
				h->bad_ud = c.user_data;
				return 14;
			}
			done++;
			stall = 0;
		}
		if (h->sqpoll && sub - done >= r->sq_entries) {
			if (!stall)
				stall = now() + BOUND_S;
			else if (now() > stall)
				return 15;
			vanity_cpu_relax();
		}
		h->done = done;
	}
	/* Drain. */
	for (stall = now() + BOUND_S; done < sub;) {
		if (!pop(r, &c)) {
			if (c.user_data != (h->tag | done) || c.res) {
				h->bad_ud = c.user_data;
				return 14;
			}
			done++;
		} else if (now() > stall) {
			return 16;
		}
	}
	h->done = done;
	vanity_detach(v);
	return 0;
}

/* The producer and the consumer hammer at once; @sqpoll[i]: shard i's mode. */
static void two_shards(struct __test_metadata *_metadata, const int sqpoll[2])
{
	static const char *names[2] = { "producer", "consumer" };
	struct hammer *h = shared(2 * sizeof(*h));
	struct vanity_status_shard g0[2], g1[2];
	int fds[2], i, st[2];
	pid_t pid[2];
	char go[2] = "gg";

	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vtb_shard(i, &g0[i]));
		h[i] = (struct hammer){
			.shard = names[i], .tag = (uint64_t)(0xa1 + i) << 56,
			.sqpoll = sqpoll[i], .start_r = fds[0], .secs = 10,
			.max = 2000000,
		};
		pid[i] = vt_spawn(hammer, &h[i]);
		ASSERT_LT(0, pid[i]);
	}
	usleep(200000);
	ASSERT_EQ(2, write(fds[1], go, 2));
	for (i = 0; i < 2; i++)
		st[i] = vt_wait(pid[i], 120000);
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, st[i]) TH_LOG("%s: step %d after %llu, user_data %#llx",
					    names[i], st[i], (unsigned long long)h[i].done,
					    (unsigned long long)h[i].bad_ud);
		ASSERT_EQ(0, vtb_shard(i, &g1[i]));
		EXPECT_EQ(h[i].done, g1[i].completed - g0[i].completed);
		EXPECT_LT(1000, h[i].done);
	}
	TH_LOG("producer (%s) %llu NOPs, consumer (%s) %llu NOPs",
	       sqpoll[0] ? "SQPOLL" : "ENTER", (unsigned long long)h[0].done,
	       sqpoll[1] ? "SQPOLL" : "ENTER", (unsigned long long)h[1].done);
	munmap(h, 2 * sizeof(*h));
}

TEST_F_TIMEOUT(sq, two_shards_never_see_each_others_completions, 240)
{
	static const int modes[3][2] = { { 0, 0 }, { 1, 1 }, { 0, 1 } };
	unsigned int m;

	for (m = 0; m < 3; m++)
		two_shards(_metadata, modes[m]);
}

TEST_HARNESS_MAIN
