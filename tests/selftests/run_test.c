// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run against the module: programs started with their shard's
 * name and user, supervised, restarted on failure, stopped at --duration,
 * the system taken down after, and the exit status telling what happened.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

static bool system_down(void)
{
	struct vanity_status *st;
	int ret = vt_get(&st);

	free(st);
	return ret == -ENOENT;
}

TEST(programs_attach_and_exit_zero)
{
	char out[16384];

	vt_reset();
	vt_write_file("/tmp/run1.ini",
		   "[system]\nname = runone\n"
		   "[shard left]\ncpus = 2\nmemory = 64K\nprogram = examples/hello/hello left ltr\n"
		   "[shard right]\ncpus = 3\nprogram = examples/hello/hello right ltr\n"
		   "[channel ltr]\nfrom = left\nto = right\nslot_size = 64\nslots = 64\n");
	EXPECT_EQ(0, vt_sh("tools/vanityctl run /tmp/run1.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "hello: shard left (index 0) on cpu 2")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "hello: shard right (index 1) on cpu 3")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"left\",\"state\":\"exited\",\"reason\":\"exit 0\",\"restarts\":0,"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"ok\":true")) TH_LOG("%s", out);
	EXPECT_TRUE(system_down());
}

TEST(program_runs_as_the_shard_user_with_its_name)
{
	char out[8192];

	vt_reset();
	vt_write_file("/tmp/run2.ini",
		   "[system]\nname = runuser\n"
		   "[shard nob]\ncpus = 2\nuser = 65534\n"
		   "program = test \"$VANITY_SHARD\" = nob && test \"$(id -u)\" = 65534\n");
	EXPECT_EQ(0, vt_sh("tools/vanityctl run /tmp/run2.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"state\":\"exited\",\"reason\":\"exit 0\"")) TH_LOG("%s", out);
}

TEST(failing_program_restarts_then_gives_up)
{
	char out[16384];

	vt_reset();
	vt_write_file("/tmp/run3.ini",
		   "[system]\nname = runfail\n"
		   "[shard bad]\ncpus = 2\nrestart = on-failure\nprogram = exit 3\n"
		   "[shard once]\ncpus = 3\nprogram = exit 4\n");
	EXPECT_EQ(1, vt_sh("tools/vanityctl run /tmp/run3.ini -j", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "{\"event\":\"restart\",\"shard\":\"bad\",\"reason\":\"exit 3\",\"restarts\":1}"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"bad\",\"state\":\"gave-up\",\"reason\":\"exit 3\",\"restarts\":5,"))
		TH_LOG("%s", out);
	/* Without the key a failure is final. */
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"once\",\"state\":\"failed\",\"reason\":\"exit 4\",\"restarts\":0,"))
		TH_LOG("%s", out);
	EXPECT_TRUE(system_down());
}

TEST(duration_stops_programs_and_exits_zero)
{
	char out[16384];

	vt_reset();
	vt_write_file("/tmp/run4.ini",
		   "[system]\nname = rundur\n"
		   "[shard long]\ncpus = 2\nprogram = sleep 100\n");
	EXPECT_EQ(0, vt_sh("tools/vanityctl run /tmp/run4.ini --duration 1 -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"event\":\"status\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"long\",\"state\":\"stopped\",\"reason\":\"killed by Terminated\""))
		TH_LOG("%s", out);
	EXPECT_TRUE(system_down());
}

TEST(refused_up_prints_the_kernel_message)
{
	char out[4096];

	vt_reset();
	vt_write_file("/tmp/run5.ini",
		   "[system]\nname = runbad\n[shard x]\ncpus = 0\nprogram = true\n");
	EXPECT_EQ(1, vt_sh("tools/vanityctl run /tmp/run5.ini", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "vanityctl: run: up: shard 'x': cpu 0 is not isolated"))
		TH_LOG("%s", out);
	EXPECT_EQ(1, vt_sh("tools/vanityctl run /tmp/run5.ini --backend bogus", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "unknown backend 'bogus'")) TH_LOG("%s", out);
	/* The simulator does not police isolation: the same image runs there. */
	EXPECT_EQ(0, vt_sh("tools/vanityctl run /tmp/run5.ini --backend hosted -j", out, sizeof(out)))
		TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
