// SPDX-License-Identifier: GPL-2.0
/*
 * DOWN while shards are attached: refused with the shards named, or with
 * --force revoked so that the next access faults and no memory is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define BIG (64UL << 20)

struct child {
	int ready[2];	/* child -> parent: attached and touched */
	int go[2];	/* parent -> child: touch again */
};

static int touch_after_revoke(void *arg)
{
	struct child *c = arg;
	struct vanity_channel *ch;
	volatile unsigned char *mem;
	struct vanity *v;
	size_t len, i;
	char b = 0;

	if (vanity_attach("producer", &v))
		return 10;
	if (vanity_memory(v, (void **)&mem, &len) || len != BIG)
		return 11;
	if (vanity_channel_get(v, "data", &ch))
		return 12;
	for (i = 0; i < len; i += 4096)
		mem[i] = 1;
	((volatile char *)ch->region)[0] = 1;
	if (write(c->ready[1], &b, 1) != 1)
		return 13;
	if (read(c->go[0], &b, 1) != 1)
		return 14;
	if (b == 'c') {
		/* The fd is still open but its system is gone. */
		struct vanity_channel_info ci = { .size = sizeof(ci) };

		strcpy(ci.name, "data");
		if (ioctl(vanity_fd(v), VANITY_IOC_CHANNEL, &ci) == 0 ||
		    errno != ENODEV)
			return 15;
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, vanity_fd(v), 0) !=
		    MAP_FAILED || errno != ENODEV)
			return 16;
		((volatile char *)ch->region)[64] = 2;	/* SIGBUS */
		return 17;
	}
	mem[0] = 2;	/* SIGBUS */
	return 18;
}

FIXTURE(attached) {
	struct child c;
	pid_t pid;
	long free_before;
};

FIXTURE_SETUP(attached)
{
	struct vanity_imgw w;
	char msg[256], b;

	vt_reset();
	self->free_before = vt_meminfo("MemFree");
	vt_pair(&w, BIG, 64, 1024);
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	ASSERT_EQ(0, pipe(self->c.ready));
	ASSERT_EQ(0, pipe(self->c.go));
	self->pid = vt_spawn(touch_after_revoke, &self->c);
	ASSERT_EQ(1, read(self->c.ready[0], &b, 1));
}

FIXTURE_TEARDOWN(attached)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		vt_wait(self->pid, 5000);
	}
	vt_reset();
}

TEST_F(attached, down_is_ebusy_and_names_shard)
{
	struct vanity_status *st;
	char msg[256], want[64];

	EXPECT_EQ(-EBUSY, vt_down(false, msg, sizeof(msg)));
	snprintf(want, sizeof(want), "producer (pid %d)", self->pid);
	EXPECT_NE(NULL, strstr(msg, want)) TH_LOG("message: %s", msg);
	/* Still up, still attached. */
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_EQ((uint32_t)self->pid, st->shards[0].pid);
	free(st);
}

TEST_F(attached, forced_down_faults_next_access)
{
	struct vanity_status *st;
	char msg[256];

	ASSERT_EQ(0, vt_down(true, msg, sizeof(msg))) TH_LOG("down: %s", msg);
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
	ASSERT_EQ(1, write(self->c.go[1], "m", 1));
	EXPECT_EQ(128 + SIGBUS, vt_wait(self->pid, 10000));
	self->pid = 0;
}

TEST_F(attached, forced_down_faults_channel_and_refuses_fd)
{
	struct vanity_status *st;

	ASSERT_EQ(0, vt_down(true, NULL, 0));
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
	ASSERT_EQ(1, write(self->c.go[1], "c", 1));
	EXPECT_EQ(128 + SIGBUS, vt_wait(self->pid, 10000));
	self->pid = 0;
}

TEST_F(attached, forced_down_frees_memory_while_shard_lives)
{
	long after;

	ASSERT_EQ(0, vt_down(true, NULL, 0));
	/* The child still holds its fd and mappings; the pages are gone. */
	EXPECT_EQ(0, kill(self->pid, 0));
	after = vt_meminfo("MemFree");
	TH_LOG("MemFree before up %ld kB, after forced down %ld kB",
	       self->free_before, after);
	EXPECT_GT(after, self->free_before - (long)(BIG >> 10) / 4);
}

TEST_F(attached, new_system_comes_up_beside_revoked_fd)
{
	struct vanity_imgw w;
	char msg[256];

	ASSERT_EQ(0, vt_down(true, NULL, 0));
	vt_pair(&w, 4096, 64, 16);
	EXPECT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	ASSERT_EQ(1, write(self->c.go[1], "m", 1));
	EXPECT_EQ(128 + SIGBUS, vt_wait(self->pid, 10000));
	self->pid = 0;
}

TEST_HARNESS_MAIN
