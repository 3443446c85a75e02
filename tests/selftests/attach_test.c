// SPDX-License-Identifier: GPL-2.0
/*
 * Attach and detach through /dev/vanity: who may attach to which shard,
 * what an attached fd is pinned to and what detaching leaves behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

static int attach_fd(int fd, const char *name, struct vanity_attach *out)
{
	struct vanity_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strncpy(a.shard, name, sizeof(a.shard) - 1);
	if (ioctl(fd, VANITY_IOC_ATTACH, &a) < 0)
		return -errno;
	if (out)
		*out = a;
	return 0;
}

FIXTURE(up) {
	int fd;
};

FIXTURE_SETUP(up)
{
	struct vanity_imgw w;
	uint64_t any[VANITY_CPU_WORDS];
	char msg[256];

	self->fd = -EBADF;
	vt_reset();
	vt_pair(&w, 64 * 1024, 64, 16);
	/* A third shard that belongs to uid 65534. */
	vt_cpus1(any, VT_CPU_A);
	vanity_imgw_shard(&w, "nobody", 4096, any, 65534, NULL);
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	self->fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(up)
{
	if (self->fd >= 0)
		close(self->fd);
	vt_reset();
}

TEST_F(up, attach_returns_shard_geometry)
{
	struct vanity_attach a;

	ASSERT_EQ(0, attach_fd(self->fd, "consumer", &a));
	EXPECT_EQ(1, a.shard_index);
	EXPECT_EQ(2, a.channel_count);
	EXPECT_EQ(64 * 1024, a.memory_size);
	EXPECT_EQ(VANITY_MMAP_PRIVATE, a.memory_offset);
	EXPECT_EQ(1ULL << VT_CPU_B, a.cpus[0]);
}

TEST_F(up, attach_pins_calling_thread)
{
	cpu_set_t set;

	ASSERT_EQ(0, attach_fd(self->fd, "producer", NULL));
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	EXPECT_EQ(1, CPU_COUNT(&set));
	EXPECT_TRUE(CPU_ISSET(VT_CPU_A, &set));
	EXPECT_EQ(VT_CPU_A, sched_getcpu());
}

TEST_F(up, attach_unknown_shard_is_enoent)
{
	EXPECT_EQ(-ENOENT, attach_fd(self->fd, "nosuch", NULL));
	EXPECT_EQ(-ENOENT, attach_fd(self->fd, "", NULL));
}

TEST_F(up, attach_second_attacher_is_ebusy)
{
	int fd2 = open("/dev/vanity", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, attach_fd(self->fd, "producer", NULL));
	EXPECT_EQ(-EBUSY, attach_fd(fd2, "producer", NULL));
	/* The same fd cannot become a second shard either. */
	EXPECT_EQ(-EBUSY, attach_fd(self->fd, "consumer", NULL));
	/* But another shard from another fd is fine. */
	EXPECT_EQ(0, attach_fd(fd2, "consumer", NULL));
	close(fd2);
}

static int attach_as_nobody(void *arg)
{
	const char *shard = arg;
	int fd, ret;

	if (setgid(65534) || setuid(65534))
		return 100;
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 101;
	ret = attach_fd(fd, shard, NULL);
	close(fd);
	return ret == 0 ? 0 : ret == -EPERM ? 1 : 102;
}

TEST_F(up, attach_by_non_owner_is_eperm)
{
	EXPECT_EQ(1, vt_wait(vt_spawn(attach_as_nobody, "producer"), 10000));
}

TEST_F(up, attach_by_owner_uid_succeeds)
{
	EXPECT_EQ(0, vt_wait(vt_spawn(attach_as_nobody, "nobody"), 10000));
}

TEST_F(up, attach_bad_struct_is_refused)
{
	struct vanity_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strcpy(a.shard, "producer");
	a.flags = 0x80;		/* undefined */
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.resv = 1;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.resv = 0;
	memset(a.shard, 'a', sizeof(a.shard));	/* no NUL */
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	strcpy(a.shard, "producer");
	a.size = 8;				/* too small for the name */
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(VANITY_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* None of that attached anything. */
	EXPECT_EQ(0, attach_fd(self->fd, "producer", NULL));
}

TEST_F(up, attach_newer_struct_with_zero_tail_is_accepted)
{
	struct {
		struct vanity_attach a;
		uint64_t future[4];
	} big;

	memset(&big, 0, sizeof(big));
	big.a.size = sizeof(big);
	strcpy(big.a.shard, "producer");
	big.future[3] = 7;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &big));
	EXPECT_EQ(E2BIG, errno);
	big.future[3] = 0;
	EXPECT_EQ(0, ioctl(self->fd, VANITY_IOC_ATTACH, &big));
	EXPECT_EQ(0, big.a.shard_index);
}

/*
 * The ring's offsets as they grow: written into the caller's buffer up to
 * the smaller of its size and the module's, which comes back in
 * ring_off_size; a buffer past the module's keeps its tail; bad buffer
 * arguments are refused and attach nothing.
 */
TEST_F(up, ring_offsets_reach_a_buffer_of_any_size)
{
	struct vanity_attach a;
	uint8_t buf[128];
	unsigned int i;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strcpy(a.shard, "producer");
	a.ring_off = (uintptr_t)buf;
	a.ring_off_size = 4097;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.ring_off_size = 0;		/* a pointer without a size */
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.ring_off = 0;
	a.ring_off_size = 16;		/* a size without a pointer */
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.ring_off_size = 0;
	a.resv2 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.resv2 = 0;
	/* A buffer larger than the module's struct: its tail untouched. */
	memset(buf, 0xa5, sizeof(buf));
	a.ring_off = (uintptr_t)buf;
	a.ring_off_size = sizeof(buf);
	ASSERT_EQ(0, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(sizeof(struct vanity_ring_offsets), a.ring_off_size);
	EXPECT_EQ(0, memcmp(buf, &a.ring, sizeof(a.ring)));
	for (i = sizeof(a.ring); i < sizeof(buf); i++)
		ASSERT_EQ(0xa5, buf[i]) TH_LOG("byte %u written", i);
	close(self->fd);
	/* A smaller one: only its own bytes. */
	self->fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	memset(buf, 0xa5, sizeof(buf));
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strcpy(a.shard, "producer");
	a.ring_off = (uintptr_t)buf;
	a.ring_off_size = 16;
	ASSERT_EQ(0, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
	EXPECT_EQ(sizeof(struct vanity_ring_offsets), a.ring_off_size);
	EXPECT_EQ(0, memcmp(buf, &a.ring, 16));
	EXPECT_EQ(0xa5, buf[16]);
}

/*
 * A command is matched without its size bits: a caller compiled against
 * an older (shorter) struct vanity_attach, whose command number carries
 * that size, attaches all the same; another number is still ENOTTY.
 */
TEST_F(up, a_command_of_an_older_struct_size_still_attaches)
{
	struct vanity_attach a;
	const size_t v1 = offsetof(struct vanity_attach, ring_off);

	memset(&a, 0, sizeof(a));
	a.size = v1;
	strcpy(a.shard, "producer");
	ASSERT_EQ(0, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					  VANITY_IOC_MAGIC, 0x01, v1), &a));
	EXPECT_EQ(0, a.shard_index);
	EXPECT_EQ(0, a.ring_off_size) TH_LOG("past the caller's size");
	EXPECT_EQ(-1, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					   VANITY_IOC_MAGIC, 0x7e, v1), &a));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(up, close_detaches_and_status_shows_pid)
{
	struct vanity_status *st;

	ASSERT_EQ(0, attach_fd(self->fd, "consumer", NULL));
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_EQ(0, st->shards[0].pid);
	EXPECT_EQ((uint32_t)getpid(), st->shards[1].pid);
	free(st);
	close(self->fd);
	self->fd = -EBADF;
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_EQ(0, st->shards[1].pid);
	free(st);
	/* Attachable again after detach. */
	self->fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, attach_fd(self->fd, "consumer", NULL));
}

static int attach_and_die(void *arg)
{
	struct vanity *v;

	(void)arg;
	if (vanity_attach("producer", &v))
		return 1;
	raise(SIGKILL);
	return 2;
}

TEST_F(up, process_death_detaches)
{
	EXPECT_EQ(128 + SIGKILL, vt_wait(vt_spawn(attach_and_die, NULL), 10000));
	EXPECT_EQ(0, attach_fd(self->fd, "producer", NULL));
}

TEST_F(up, libvanity_attach_maps_memory_and_channels)
{
	struct vanity_channel *ch, *again;
	struct vanity *v;
	size_t len;
	void *mem;

	ASSERT_EQ(0, vanity_attach("producer", &v));
	EXPECT_EQ(0, vanity_shard_index(v));
	EXPECT_STREQ("producer", vanity_shard_name(v));
	ASSERT_EQ(0, vanity_memory(v, &mem, &len));
	ASSERT_NE(NULL, mem);
	EXPECT_EQ(64 * 1024, len);
	memset(mem, 0xa5, len);
	ASSERT_EQ(0, vanity_channel_get(v, "data", &ch));
	EXPECT_EQ(VANITY_ROLE_FROM, ch->role);
	EXPECT_EQ(64, ch->slot_size);
	EXPECT_EQ(16, ch->slots);
	EXPECT_EQ(8192, ch->size);
	EXPECT_EQ(1, ch->peer);
	ASSERT_EQ(0, vanity_channel_get(v, "data", &again));
	EXPECT_EQ(ch, again);
	ASSERT_EQ(0, vanity_channel_get(v, "back", &ch));
	EXPECT_EQ(VANITY_ROLE_TO, ch->role);
	EXPECT_EQ(-ENOENT, vanity_channel_get(v, "nosuch", &ch));
	EXPECT_EQ(-EBUSY, vanity_attach("producer", &(struct vanity *){ NULL }));
	vanity_detach(v);
	EXPECT_EQ(-ENOENT, vanity_attach("nosuch", &v));
}

TEST_F(up, channel_lookup_by_index)
{
	struct vanity_channel_info ci;

	ASSERT_EQ(0, attach_fd(self->fd, "consumer", NULL));
	memset(&ci, 0, sizeof(ci));
	ci.size = sizeof(ci);
	ci.flags = VANITY_CHANNEL_F_INDEX;
	ci.index = 1;
	ASSERT_EQ(0, ioctl(self->fd, VANITY_IOC_CHANNEL, &ci));
	EXPECT_STREQ("back", ci.name);
	EXPECT_EQ(VANITY_ROLE_FROM, ci.role);
	EXPECT_EQ(VANITY_MMAP_CHANNEL(1), ci.mmap_offset);
	ci.index = 2;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_CHANNEL, &ci));
	EXPECT_EQ(ENOENT, errno);
	ci.flags = 0x80;
	EXPECT_EQ(-1, ioctl(self->fd, VANITY_IOC_CHANNEL, &ci));
	EXPECT_EQ(EINVAL, errno);
}

/* PROBE answers on any open fd with the core's table; bad input is refused. */
TEST(probe_tells_the_ops_and_refuses_bad_input)
{
	struct {
		struct vanity_probe p;
		uint64_t tail;
	} big;
	struct vanity_probe p;
	unsigned int i;
	int fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	ASSERT_EQ(0, ioctl(fd, VANITY_IOC_PROBE, &p));
	EXPECT_EQ(VANITY_OP_LAST - 1, p.last_op);
	EXPECT_EQ(VANITY_OP_LAST, p.ops_len);
	for (i = 0; i < VANITY_PROBE_OPS_MAX; i++) {
		EXPECT_EQ(i, p.ops[i].op);
		EXPECT_EQ(i < VANITY_OP_LAST ? VANITY_PROBE_OP_SUPPORTED : 0,
			  p.ops[i].flags) TH_LOG("op %u", i);
	}
	/* An older caller's header-only struct: the rest is not written. */
	memset(&p, 0xa5, sizeof(p));
	p.size = offsetof(struct vanity_probe, ops);
	p.flags = p.resv0 = p.resv1 = 0;
	p.resv[0] = p.resv[1] = 0;
	ASSERT_EQ(0, ioctl(fd, VANITY_IOC_PROBE, &p));
	EXPECT_EQ(VANITY_OP_LAST, p.ops_len);
	EXPECT_EQ(0xa5, p.ops[0].op);
	/* Refusals. */
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_PROBE, &p));
	EXPECT_EQ(EINVAL, errno);
	p.flags = 0;
	p.resv[1] = 1;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_PROBE, &p));
	EXPECT_EQ(EINVAL, errno);
	p.resv[1] = 0;
	p.size = 16;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_PROBE, &p));
	EXPECT_EQ(EINVAL, errno);
	memset(&big, 0, sizeof(big));
	big.p.size = sizeof(big);
	big.tail = 1;
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_PROBE, &big));
	EXPECT_EQ(E2BIG, errno);
	close(fd);
}

TEST(channel_lookup_before_attach_is_enotconn)
{
	struct vanity_channel_info ci;
	int fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	memset(&ci, 0, sizeof(ci));
	ci.size = sizeof(ci);
	strcpy(ci.name, "data");
	EXPECT_EQ(-1, ioctl(fd, VANITY_IOC_CHANNEL, &ci));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

TEST(attach_with_no_system_is_enoent)
{
	int fd;

	vt_reset();
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOENT, attach_fd(fd, "producer", NULL));
	close(fd);
}

TEST_HARNESS_MAIN
