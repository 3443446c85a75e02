// SPDX-License-Identifier: GPL-2.0
/*
 * Channel doorbells against the module: WAIT and WAKE rights and errors,
 * timeouts, signals, a forced DOWN under a sleeper, and blocking transfers
 * that sleep on every message without losing a wakeup.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

static int bell(int fd, unsigned long cmd, uint32_t chan, uint32_t expect,
		int64_t timeout_ns)
{
	struct vanity_doorbell db = {
		.size = sizeof(db),
		.channel = chan,
		.expect = expect,
		.timeout_ns = timeout_ns,
	};

	return ioctl(fd, cmd, &db) < 0 ? -errno : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(bells) {
	struct vanity *prod;
};

FIXTURE_SETUP(bells)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char msg[256];

	vt_reset();
	vt_pair(&w, 4096, 64, 16);
	vt_cpus1(cpus, VT_CPU_B);
	vanity_imgw_shard(&w, "third", 0, cpus, 0, NULL);
	vanity_imgw_channel(&w, "side", 1, 2, 64, 16);	/* consumer -> third */
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	ASSERT_EQ(0, vanity_attach("producer", &self->prod));
}

FIXTURE_TEARDOWN(bells)
{
	vanity_detach(self->prod);
	vt_reset();
}

TEST_F(bells, foreign_channel_is_eacces)
{
	int fd = vanity_fd(self->prod);

	EXPECT_EQ(-EACCES, bell(fd, VANITY_IOC_WAKE, 2, 0, 0));
	EXPECT_EQ(-EACCES, bell(fd, VANITY_IOC_WAIT, 2, 0, 0));
}

TEST_F(bells, unknown_channel_is_enoent)
{
	EXPECT_EQ(-ENOENT, bell(vanity_fd(self->prod), VANITY_IOC_WAKE, 3, 0, 0));
	EXPECT_EQ(-ENOENT, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 99, 0, 0));
}

TEST_F(bells, bad_struct_is_einval)
{
	struct vanity_doorbell db = { .size = sizeof(db) };
	int fd = vanity_fd(self->prod);

	db.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_WAKE, &db));
	EXPECT_EQ(EINVAL, errno);
	db.flags = 0;
	db.resv[1] = 1;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_WAIT, &db));
	EXPECT_EQ(EINVAL, errno);
	db.resv[1] = 0;
	db.size = 4;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_WAIT, &db));
	EXPECT_EQ(EINVAL, errno);
}

TEST(unattached_fd_is_enotconn)
{
	struct vanity_imgw w;
	int fd;

	vt_reset();
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, NULL, 0));
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, bell(fd, VANITY_IOC_WAKE, 0, 0, 0));
	close(fd);
	vt_reset();
}

TEST_F(bells, wait_returns_at_once_when_index_moved)
{
	/* The producer waits on tail (space); tail is 0, so expect 5 differs. */
	EXPECT_EQ(0, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 5, -1));
}

TEST_F(bells, wait_times_out)
{
	double t0 = now();

	EXPECT_EQ(-ETIME, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0, 0));
	EXPECT_EQ(-ETIME, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0,
				   20000000));
	EXPECT_GE(now() - t0, 0.019);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(bells, wait_is_interrupted_by_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-EINTR, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0, -1));
}

/*
 * Child: once the parent sleeps in its WAIT, ring the doorbell without
 * touching the word it waits on, so only the WAKE itself can end the wait.
 */
static int consumer_wakes(void *arg)
{
	pid_t parent = getppid();
	struct vanity *v;
	int i;

	(void)arg;
	if (vanity_attach("consumer", &v))
		return 10;
	for (i = 0; i < 4000 && !vt_sleeps_in_ioctl(parent); i++)
		usleep(1000);
	if (i == 4000)
		return 11;
	if (bell(vanity_fd(v), VANITY_IOC_WAKE, 0, 0, 0))
		return 12;
	vanity_detach(v);
	return 0;
}

TEST_F(bells, wake_ends_a_wait)
{
	struct vanity_channel *ch;
	char buf[64] = "x";
	pid_t pid;

	/* A full slot, so the producer's word (the tail) stays where it is. */
	ASSERT_EQ(0, vanity_channel_get(self->prod, "data", &ch));
	ASSERT_EQ(0, vanity_send(ch, buf));
	pid = vt_spawn(consumer_wakes, NULL);
	ASSERT_LT(0, pid);
	/* Without the WAKE this is -ETIME after 8 s. */
	EXPECT_EQ(0, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0,
			  8000000000LL));
	EXPECT_EQ(0, vt_wait(pid, 10000));
}

static int force_down_later(void *arg)
{
	(void)arg;
	usleep(300000);
	return vt_down(true, NULL, 0) ? 1 : 0;
}

TEST_F(bells, forced_down_ends_a_wait)
{
	pid_t pid = vt_spawn(force_down_later, NULL);
	int ret = bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0, 10000000000LL);

	EXPECT_TRUE(ret == 0 || ret == -ENODEV) TH_LOG("wait: %d", ret);
	EXPECT_EQ(0, vt_wait(pid, 10000));
	EXPECT_EQ(-ENODEV, bell(vanity_fd(self->prod), VANITY_IOC_WAIT, 0, 0, 0));
}

#define SLEEPY_MSGS 20000

static int sleepy_consumer(void *arg)
{
	struct vanity_channel *ch;
	struct vanity *v;
	uint64_t msg[8], i;

	(void)arg;
	if (vanity_attach("consumer", &v) || vanity_channel_get(v, "data", &ch))
		return 10;
	vanity_channel_set_spin(ch, 0);	/* every empty wait sleeps */
	for (i = 0; i < SLEEPY_MSGS; i++) {
		if (vanity_recv_wait(ch, msg, 5000000000LL))
			return 11;	/* a lost wakeup times out here */
		if (msg[0] != i || msg[7] != ~i)
			return 12;
	}
	vanity_detach(v);
	return 0;
}

TEST_F_TIMEOUT(bells, sleeping_receiver_never_misses_a_wakeup, 300)
{
	struct vanity_channel *ch;
	struct vanity_status *st;
	uint64_t msg[8] = { 0 }, i;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->prod, "data", &ch));
	vanity_channel_set_spin(ch, 0);
	pid = vt_spawn(sleepy_consumer, NULL);
	for (i = 0; i < SLEEPY_MSGS; i++) {
		msg[0] = i;
		msg[7] = ~i;
		ASSERT_EQ(0, vanity_send_wait(ch, msg, 5000000000LL));
		/* Vary the gap so the receiver is caught at every stage. */
		if (i % 7 == 0)
			usleep(i % 50);
	}
	EXPECT_EQ(0, vt_wait(pid, 120000));
	TH_LOG("consumer slept %llu times, producer rang %llu times",
	       (unsigned long long)ch->hdr->cons.sleeps,
	       (unsigned long long)ch->hdr->prod.wakeups);
	EXPECT_GT(ch->hdr->cons.sleeps, 100);
	EXPECT_GT(ch->hdr->prod.wakeups, 100);
	EXPECT_EQ(SLEEPY_MSGS, ch->hdr->prod.msgs);
	EXPECT_EQ(SLEEPY_MSGS, ch->hdr->cons.msgs);
	/* The same numbers reach GET (and so vanityctl status). */
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_EQ(SLEEPY_MSGS, st->channels[0].sent);
	EXPECT_EQ(SLEEPY_MSGS, st->channels[0].received);
	EXPECT_EQ(0, st->channels[0].head - st->channels[0].tail);
	EXPECT_GT(st->channels[0].sleeps, 100);
	EXPECT_GT(st->channels[0].wakeups, 100);
	free(st);
}

TEST_HARNESS_MAIN
