// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading vanity.ko: what it registers, that unload undoes
 * it (also with a system up), and that an open fd pins the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

static bool registered(void)
{
	struct vanity_nl *nl;
	struct stat st;
	bool dev = stat("/dev/vanity", &st) == 0;
	bool fam = vanity_nl_open(&nl) == 0;

	if (fam)
		vanity_nl_close(nl);
	return dev && fam;
}

static bool unregistered(void)
{
	struct vanity_nl *nl;
	struct stat st;

	return stat("/dev/vanity", &st) < 0 && vanity_nl_open(&nl) == -ENODEV &&
	       stat("/sys/kernel/debug/vanity", &st) < 0;
}

/* Whatever a test did, leave the module loaded for the next one. */
FIXTURE(mod) {
	int unused;
};

FIXTURE_SETUP(mod)
{
}

FIXTURE_TEARDOWN(mod)
{
	if (!registered())
		vt_load_module();
}

TEST_F(mod, load_registers_and_unload_removes)
{
	vt_reset();
	ASSERT_TRUE(registered());
	ASSERT_EQ(0, vt_unload_module());
	EXPECT_TRUE(unregistered());
	ASSERT_EQ(0, vt_load_module());
	EXPECT_TRUE(registered());
	EXPECT_EQ(-EEXIST, vt_load_module());
}

TEST_F(mod, unload_with_system_up)
{
	struct vanity_imgw w;
	long before, after;

	vt_reset();
	/*
	 * Free pages counted with those parked on the per-CPU lists: 6.12
	 * lets those lists grow with a burst of frees (its pcp auto-tuning).
	 * Measured in the riscv64 boot, 34 to 39 MB of this system's 64 MiB
	 * sit there right after the unload, out of MemFree's sight, and
	 * MemFree alone once read 23 MB short of the budget.
	 */
	before = vt_free_kb();
	vt_pair(&w, 32 << 20, 64, 1024);
	ASSERT_EQ(0, vt_up(&w, NULL, 0));
	ASSERT_EQ(0, vt_unload_module());
	EXPECT_TRUE(unregistered());
	/* Unload took the system down and freed its 64 MiB. */
	after = vt_free_kb();
	EXPECT_GT(after, before - (16 << 10))
		TH_LOG("free %ld kB -> %ld kB (MemFree %ld kB)", before, after,
		       vt_meminfo("MemFree"));
	ASSERT_EQ(0, vt_load_module());
	EXPECT_TRUE(registered());
	vt_pair(&w, 4096, 64, 16);
	EXPECT_EQ(0, vt_up(&w, NULL, 0));
	vt_reset();
}

TEST_F(mod, open_fd_pins_module)
{
	int fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, vt_unload_module());
	close(fd);
	ASSERT_EQ(0, vt_unload_module());
	ASSERT_EQ(0, vt_load_module());
}

TEST_F(mod, load_unload_cycles_do_not_leak)
{
	long slab0, slab1;
	int i;

	vt_reset();
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vt_unload_module());
		ASSERT_EQ(0, vt_load_module());
	}
	slab0 = vt_meminfo("Slab");
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(0, vt_unload_module());
		ASSERT_EQ(0, vt_load_module());
	}
	slab1 = vt_meminfo("Slab");
	TH_LOG("Slab %ld kB -> %ld kB over 50 load/unload cycles", slab0, slab1);
	EXPECT_LT(slab1 - slab0, 1024);
	EXPECT_TRUE(registered());
}

TEST_HARNESS_MAIN
