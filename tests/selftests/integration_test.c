// SPDX-License-Identifier: GPL-2.0
/*
 * The same integration tests on both backends: `vanityctl run` starting
 * unchanged shard binaries, on the module in the VM and on the hosted
 * simulator natively (no /dev/vanity, or VANITY_BACKEND=hosted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

/* CPUs 2 and 3: isolated in the VM; the simulator says if they are missing. */
#define PAIR(extra)							\
	"[system]\nname = integ\n"					\
	"[shard producer]\ncpus = 2\nprogram = build/tests/shards/xfer --count 200000\n" \
	"[shard consumer]\ncpus = 3\n" extra				\
	"[channel data]\nfrom = producer\nto = consumer\nslot_size = 64\nslots = 256\n"

TEST(backend_is_what_the_machine_offers)
{
	const char *want = access("/dev/vanity", F_OK) ? "hosted" : "module";
	const char *env = getenv("VANITY_BACKEND");

	TH_LOG("backend: %s", env ? env : want);
	EXPECT_TRUE(!env || !strcmp(env, "hosted") || !strcmp(env, "module"));
}

TEST(two_shards_move_200k_messages)
{
	char out[65536];

	vt_write_file("/tmp/integ1.ini",
		   PAIR("program = build/tests/shards/xfer --count 200000\n"));
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ1.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "xfer: consumer received all 200000")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"data\",\"sent\":200000,\"received\":200000,\"used\":0}"))
		TH_LOG("%s", out);
}

TEST(killed_consumer_restarts_and_resumes)
{
	char out[65536];

	unlink("/tmp/integ-marker");
	vt_write_file("/tmp/integ2.ini",
		   PAIR("restart = on-failure\n"
			"program = build/tests/shards/xfer --count 200000 --die-at 70000 /tmp/integ-marker\n"));
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ2.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"event\":\"restart\",\"shard\":\"consumer\",\"reason\":\"killed by Killed\",\"restarts\":1}"))
		TH_LOG("%s", out);
	/* Every message checked in order, across the restart, none twice. */
	EXPECT_NE(NULL, strstr(out, "xfer: consumer received all 200000")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"name\":\"data\",\"sent\":200000,\"received\":200000,\"used\":0}"))
		TH_LOG("%s", out);
	unlink("/tmp/integ-marker");
}

TEST(attach_rules_are_the_modules)
{
	char out[16384];

	vt_write_file("/tmp/integ3.ini",
		   "[system]\nname = integ\n"
		   "[shard a]\ncpus = 2\nmemory = 8K\nprogram = build/tests/shards/probe\n"
		   "[shard b]\ncpus = 3\n[shard c]\ncpus = 3\n"
		   "[channel data]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n"
		   "[channel other]\nfrom = b\nto = c\nslot_size = 8\nslots = 2\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ3.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: unknown ENOENT\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: attach ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: again EBUSY\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: foreign EACCES\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: nochan ENOENT\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: own ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: memory 8192\n")) TH_LOG("%s", out);
}

TEST(unchanged_example_binary_runs)
{
	char out[16384];

	vt_write_file("/tmp/integ4.ini",
		   "[system]\nname = integ\n"
		   "[shard left]\ncpus = 2\nmemory = 64K\nprogram = examples/hello/hello left ltr\n"
		   "[shard right]\ncpus = 3\nprogram = examples/hello/hello right ltr\n"
		   "[channel ltr]\nfrom = left\nto = right\nslot_size = 64\nslots = 64\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ4.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "hello: channel ltr: sending end, 64 slots of 64 bytes"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "hello: channel ltr: receiving end, 64 slots of 64 bytes"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"ok\":true")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
