// SPDX-License-Identifier: GPL-2.0
/*
 * mmap on an attached fd: the private region and the shard's own channel
 * ends map; everything outside its rights or bounds is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define MEM (64 * 1024)
#define CHAN_BYTES 8192		/* 4096 header + 64 * 16 slots, page-rounded */

FIXTURE(mapped) {
	int fd;
};

FIXTURE_SETUP(mapped)
{
	struct vanity_imgw w;
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_attach a;
	char msg[256];

	self->fd = -EBADF;
	vt_reset();
	vt_pair(&w, MEM, 64, 16);
	/* A third shard and a channel "side" that producer is not on. */
	vt_cpus1(cpus, VT_CPU_B);
	vanity_imgw_shard(&w, "third", 0, cpus, 0, NULL);
	vanity_imgw_channel(&w, "side", 1, 2, 64, 16);
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	self->fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strcpy(a.shard, "producer");
	ASSERT_EQ(0, ioctl(self->fd, VANITY_IOC_ATTACH, &a));
}

FIXTURE_TEARDOWN(mapped)
{
	if (self->fd >= 0)
		close(self->fd);
	vt_reset();
}

TEST_F(mapped, private_region_maps_zeroed_and_keeps_contents)
{
	unsigned char *p = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED,
				self->fd, VANITY_MMAP_PRIVATE);
	size_t i, nonzero = 0;

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < MEM; i++)
		nonzero += p[i] != 0;
	EXPECT_EQ(0, nonzero);
	for (i = 0; i < MEM; i++)
		p[i] = (unsigned char)(i * 7);
	munmap(p, MEM);
	/* A second mapping sees the same pages. */
	p = mmap(NULL, MEM, PROT_READ, MAP_SHARED, self->fd, VANITY_MMAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < MEM; i++)
		if (p[i] != (unsigned char)(i * 7))
			break;
	EXPECT_EQ(MEM, i);
	munmap(p, MEM);
}

TEST_F(mapped, own_channel_ends_map)
{
	EXPECT_EQ(0, vt_map_err(self->fd, CHAN_BYTES, PROT_READ | PROT_WRITE,
			     MAP_SHARED, VANITY_MMAP_CHANNEL(0)));
	EXPECT_EQ(0, vt_map_err(self->fd, CHAN_BYTES, PROT_READ | PROT_WRITE,
			     MAP_SHARED, VANITY_MMAP_CHANNEL(1)));
}

TEST_F(mapped, foreign_channel_is_eacces)
{
	EXPECT_EQ(-EACCES, vt_map_err(self->fd, CHAN_BYTES, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_CHANNEL(2)));
}

TEST_F(mapped, wrong_size_is_einval)
{
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, MEM - 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_PRIVATE));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, MEM + 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_PRIVATE));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, CHAN_BYTES * 2, PROT_READ,
				   MAP_SHARED, VANITY_MMAP_CHANNEL(0)));
}

TEST_F(mapped, wrong_offset_is_einval)
{
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, CHAN_BYTES, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_CHANNEL(0) + 4096));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, CHAN_BYTES, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_CHANNEL(3)));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED, 4096));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_CHANNEL(1000)));
}

/*
 * One scheme: kinds reserved for later are EOPNOTSUPP, unknown ones
 * EINVAL; a BAR of a device the system does not have is ENOENT.
 */
TEST_F(mapped, reserved_and_unknown_kinds_are_refused)
{
	EXPECT_EQ(-ENOENT, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_BAR(0, 0)));
	EXPECT_EQ(-EOPNOTSUPP, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				       VANITY_MMAP(VANITY_MMAP_K_SHARD_PAGE, 1)));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP(VANITY_MMAP_K_LAST, 0)));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP(0x7f, 0)));
	/* Private and ring are index 0 only. */
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, MEM, PROT_READ, MAP_SHARED,
				   VANITY_MMAP(VANITY_MMAP_K_PRIVATE, 1)));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP(VANITY_MMAP_K_RING, 1)));
	/* The highest index of a kind is just another index. */
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, CHAN_BYTES, PROT_READ, MAP_SHARED,
				   VANITY_MMAP(VANITY_MMAP_K_CHANNEL,
					       VANITY_MMAP_INDEX_MAX)));
}

TEST_F(mapped, private_cow_mapping_is_einval)
{
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, MEM, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, VANITY_MMAP_PRIVATE));
	EXPECT_EQ(-EINVAL, vt_map_err(self->fd, CHAN_BYTES, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, VANITY_MMAP_CHANNEL(0)));
}

TEST_F(mapped, mapping_cannot_grow)
{
	void *p = mmap(NULL, MEM, PROT_READ, MAP_SHARED, self->fd,
		       VANITY_MMAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(MAP_FAILED, mremap(p, MEM, MEM * 2, 0));
	munmap(p, MEM);
}

TEST_F(mapped, mapping_is_not_inherited)
{
	volatile unsigned char *p = mmap(NULL, MEM, PROT_READ | PROT_WRITE,
					 MAP_SHARED, self->fd, VANITY_MMAP_PRIVATE);
	pid_t pid;
	int status;

	ASSERT_NE(MAP_FAILED, (void *)p);
	p[0] = 1;
	pid = fork();
	if (pid == 0) {
		p[0] = 2;	/* not mapped in the child: SIGSEGV */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	EXPECT_EQ(1, p[0]);
	munmap((void *)p, MEM);
}

TEST(mmap_before_attach_is_refused)
{
	struct vanity_imgw w;
	int fd;

	vt_reset();
	vt_pair(&w, MEM, 64, 16);
	ASSERT_EQ(0, vt_up(&w, NULL, 0));
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, vt_map_err(fd, MEM, PROT_READ, MAP_SHARED,
				     VANITY_MMAP_PRIVATE));
	close(fd);
	vt_reset();
}

TEST(shard_without_memory_has_no_private_region)
{
	struct vanity_imgw w;
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity *v;
	size_t len = 1;
	void *mem = &len;

	vt_reset();
	vt_cpus1(cpus, VT_CPU_A);
	vanity_imgw_init(&w, "nomem");
	vanity_imgw_shard(&w, "solo", 0, cpus, 0, NULL);
	ASSERT_EQ(0, vt_up(&w, NULL, 0));
	ASSERT_EQ(0, vanity_attach("solo", &v));
	ASSERT_EQ(0, vanity_memory(v, &mem, &len));
	EXPECT_EQ(NULL, mem);
	EXPECT_EQ(0, len);
	EXPECT_EQ(-EINVAL, vt_map_err(vanity_fd(v), 4096, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_PRIVATE));
	vanity_detach(v);
	vt_reset();
}

TEST_HARNESS_MAIN
