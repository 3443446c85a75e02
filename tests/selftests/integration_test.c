// SPDX-License-Identifier: GPL-2.0
/*
 * The same integration tests on both backends: `vanityctl run` starting
 * unchanged shard binaries, on the module in the VM and on the hosted
 * simulator natively (no /dev/vanity, or VANITY_BACKEND=hosted).
 */
#include <signal.h>
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

/* run picks the module when /dev/vanity exists, unless told otherwise. */
TEST(run_picks_the_backend_the_machine_offers)
{
	const char *env = getenv("VANITY_BACKEND");
	const char *want = env ? env : access("/dev/vanity", F_OK) ? "hosted" : "module";
	char out[8192], line[64];

	vt_write_file("/tmp/integ0.ini",
		      "[system]\nname = integ\n[shard a]\ncpus = 2\n"
		      "program = echo backend=$VANITY_BACKEND\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ0.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	snprintf(line, sizeof(line), "backend=%s\n", want);
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("want %s in %s", line, out);
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

/* The number after "key": in @line, or -1. */
static long long field(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/*
 * The packet pipeline under `vanityctl run`, with `route` SIGKILLed once
 * mid-stream and restarted by run: every generated frame is delivered or
 * dropped for a counted reason, none lost, none twice.
 */
TEST(pipeline_conserves_frames_across_a_route_kill)
{
	char line[8192], gen[8192] = "", parse[8192] = "", sink[8192] = "";
	bool killed = false, summary_ok = false;
	FILE *p;
	int st;

	ASSERT_EQ(0, vt_sh("examples/pipeline/mkroutes -o /tmp/integ-routes.txt",
			   line, sizeof(line))) TH_LOG("%s", line);
	vt_write_file("/tmp/integ5.ini",
		"[system]\nname = integpipe\n"
		"[shard gen]\ncpus = 2\nmemory = 64K\n"
		"program = examples/pipeline/gen --duration 4 --bad-permille 10\n"
		"[shard parse]\ncpus = 2\nmemory = 64K\nprogram = examples/pipeline/parse\n"
		"[shard route]\ncpus = 3\nmemory = 64K\nrestart = on-failure\n"
		"program = examples/pipeline/route --routes /tmp/integ-routes.txt\n"
		"[shard sink]\ncpus = 3\nmemory = 64K\nprogram = examples/pipeline/sink\n"
		"[channel gen2parse]\nfrom = gen\nto = parse\nslot_size = 128\nslots = 1024\n"
		"[channel parse2route]\nfrom = parse\nto = route\nslot_size = 128\nslots = 1024\n"
		"[channel route2sink]\nfrom = route\nto = sink\nslot_size = 128\nslots = 1024\n");
	p = popen("tools/vanityctl run /tmp/integ5.ini -j 2>&1", "r");
	ASSERT_NE(NULL, p);
	while (fgets(line, sizeof(line), p)) {
		const char *r = strstr(line, "{\"name\":\"route\",\"state\":\"running\",\"pid\":");

		/* Kill route once it is attached and traffic flows through it. */
		if (!killed && r && strstr(line, "\"event\":\"status\"") &&
		    strstr(r, "\"attached\":true")) {
			const char *c = strstr(line, "{\"name\":\"route2sink\"");
			long long pid = field(r, "pid");

			if (c && field(c, "received") > 0 && pid > 0) {
				kill((pid_t)pid, SIGKILL);
				killed = true;
			}
		}
		if (!strncmp(line, "{\"shard\":\"gen\"", 14))
			snprintf(gen, sizeof(gen), "%s", line);
		else if (!strncmp(line, "{\"shard\":\"parse\"", 16))
			snprintf(parse, sizeof(parse), "%s", line);
		else if (!strncmp(line, "{\"shard\":\"sink\"", 15))
			snprintf(sink, sizeof(sink), "%s", line);
		else if (strstr(line, "\"event\":\"summary\""))
			summary_ok = strstr(line, "\"ok\":true") != NULL;
	}
	st = pclose(p);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("run did not exit");
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_TRUE(killed) TH_LOG("route was never seen carrying traffic");
	EXPECT_TRUE(summary_ok);
	ASSERT_NE(0, gen[0]);
	ASSERT_NE(0, parse[0]);
	ASSERT_NE(0, sink[0]);
	TH_LOG("gen: %s", gen);
	TH_LOG("sink: %s", sink);
	/* generated = delivered + dropped by parse, by reason; nothing else. */
	EXPECT_EQ(field(gen, "tx"), field(sink, "delivered") + field(parse, "dropped"));
	EXPECT_EQ(field(gen, "checksum"), field(parse, "checksum"));
	EXPECT_EQ(field(gen, "length"), field(parse, "length"));
	EXPECT_EQ(field(gen, "ttl"), field(parse, "ttl"));
	EXPECT_EQ(0, field(sink, "lost"));
	EXPECT_EQ(0, field(sink, "dup"));
	EXPECT_GT(field(gen, "tx"), 0);
}

TEST(run_refuses_bad_arguments)
{
	char out[4096];

	EXPECT_EQ(1, vt_sh("tools/vanityctl run /tmp/integ1.ini --duration 5x", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "bad --duration '5x'")) TH_LOG("%s", out);
	EXPECT_EQ(1, vt_sh("tools/vanityctl run /tmp/integ1.ini --duration -1", out, sizeof(out)));
	EXPECT_EQ(1, vt_sh("tools/vanityctl run", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "usage: vanityctl run MANIFEST")) TH_LOG("%s", out);
	EXPECT_EQ(1, vt_sh("tools/vanityctl run /nonexistent.ini", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "/nonexistent.ini:0: ")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
