// SPDX-License-Identifier: GPL-2.0
/*
 * The same integration tests on both backends: `vanityctl run` starting
 * unchanged shard binaries, on the module in the VM and on the hosted
 * simulator natively (no /dev/vanity, or VANITY_BACKEND=hosted).
 */
#include <errno.h>
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
	char out[16384], want[96];

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
	EXPECT_NE(NULL, strstr(out, "probe: lookup foreign ok role 0 index 1 from 1 to 2 slots 2\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: lookup own ok role 1 index 0\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "probe: lookup unknown ENOENT\n")) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "probe: ops ok last %u len %u mask 0x%llx\n",
		 VANITY_OP_LAST - 1, VANITY_OP_LAST,
		 (1ULL << VANITY_OP_LAST) - 1);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want %s in %s", want, out);
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

/* @shard's object in the summary line @sum, or NULL. */
static const char *summary_of(const char *sum, const char *shard)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "{\"name\":\"%s\",", shard);
	return strstr(sum, pat);
}

/*
 * What a shard logs with vanity_log() reaches run through the log ring in
 * shared memory (not the terminal), and run counts its loop turns: the
 * same on both backends, since neither takes part.
 */
TEST(run_prints_shard_logs_and_loop_rates)
{
	char out[16384];
	const char *sum, *l;

	vt_write_file("/tmp/integ6.ini",
		   "[system]\nname = integ\n"
		   "[shard left]\ncpus = 2\nmemory = 64K\nprogram = examples/hello/hello left ltr\n"
		   "[shard right]\ncpus = 3\nprogram = examples/hello/hello right ltr nosuch\n"
		   "[channel ltr]\nfrom = left\nto = right\nslot_size = 64\nslots = 64\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ6.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	/* Each line attributed by run, at the level the shard gave. */
	EXPECT_NE(NULL, strstr(out, "{\"event\":\"log\",\"shard\":\"left\",\"level\":\"info\","))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"log\":\"hello: shard left (index 0) on cpu "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"log\":\"hello: channel ltr: receiving end, 64 slots of 64 bytes"))
		TH_LOG("%s", out);
	l = strstr(out, "{\"event\":\"log\",\"shard\":\"right\",\"level\":\"error\",");
	ASSERT_NE(NULL, l) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(l, "\"log\":\"hello: channel nosuch: No such file or directory\"}"))
		TH_LOG("%s", out);
	/* Not through the shard's own stdout or stderr. */
	EXPECT_EQ(NULL, strstr(out, "\nhello: ")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "[left] hello")) TH_LOG("%s", out);
	/* One loop turn per channel argument, a rate over the time it ran. */
	sum = strstr(out, "{\"event\":\"summary\"");
	ASSERT_NE(NULL, sum) TH_LOG("%s", out);
	ASSERT_NE(NULL, summary_of(sum, "left"));
	EXPECT_EQ(1, vt_field(summary_of(sum, "left"), "loops")) TH_LOG("%s", sum);
	EXPECT_GT(vt_field(summary_of(sum, "left"), "loops_per_s"), 0) TH_LOG("%s", sum);
	ASSERT_NE(NULL, summary_of(sum, "right"));
	EXPECT_EQ(2, vt_field(summary_of(sum, "right"), "loops")) TH_LOG("%s", sum);
	EXPECT_GT(vt_field(summary_of(sum, "right"), "loops_per_s"), 0) TH_LOG("%s", sum);
	EXPECT_EQ(0, vt_field(summary_of(sum, "right"), "log_dropped")) TH_LOG("%s", sum);
}

/*
 * The packet pipeline under `vanityctl run`, with `route` SIGKILLed once
 * mid-stream and restarted by run: every generated frame is delivered or
 * dropped for a counted reason, none lost, none twice.
 */
TEST(pipeline_conserves_frames_across_a_route_kill)
{
	char line[8192], gen[8192] = "", parse[8192] = "", sink[8192] = "";
	bool killed = false, summary_ok = false, gen_looping = false;
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
		const char *g;

		/* Kill route once it is attached and traffic flows through it. */
		if (!killed && r && strstr(line, "\"event\":\"status\"") &&
		    strstr(r, "\"attached\":true")) {
			const char *c = strstr(line, "{\"name\":\"route2sink\"");
			long long pid = vt_field(r, "pid");

			if (c && vt_field(c, "received") > 0 && pid > 0) {
				kill((pid_t)pid, SIGKILL);
				killed = true;
			}
		}
		/* Status lines: gen's loop rate while it runs. */
		g = strstr(line, "{\"name\":\"gen\",\"state\":\"running\"");
		if (g && strstr(line, "\"event\":\"status\"") &&
		    vt_field(g, "loops_per_s") > 0)
			gen_looping = true;
		/* The stages' final stats come through their log rings. */
		if (vt_logged_json(line, "gen"))
			snprintf(gen, sizeof(gen), "%s", line);
		else if (vt_logged_json(line, "parse"))
			snprintf(parse, sizeof(parse), "%s", line);
		else if (vt_logged_json(line, "sink"))
			snprintf(sink, sizeof(sink), "%s", line);
		else if (strstr(line, "\"event\":\"summary\""))
			summary_ok = strstr(line, "\"ok\":true") != NULL;
	}
	st = pclose(p);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("run did not exit");
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_TRUE(killed) TH_LOG("route was never seen carrying traffic");
	EXPECT_TRUE(gen_looping) TH_LOG("no status line showed gen's loop rate");
	EXPECT_TRUE(summary_ok);
	ASSERT_NE(0, gen[0]);
	ASSERT_NE(0, parse[0]);
	ASSERT_NE(0, sink[0]);
	TH_LOG("gen: %s", gen);
	TH_LOG("sink: %s", sink);
	/* generated = delivered + dropped by parse, by reason; nothing else. */
	EXPECT_EQ(vt_field(gen, "tx"), vt_field(sink, "delivered") + vt_field(parse, "dropped"));
	EXPECT_EQ(vt_field(gen, "checksum"), vt_field(parse, "checksum"));
	EXPECT_EQ(vt_field(gen, "length"), vt_field(parse, "length"));
	EXPECT_EQ(vt_field(gen, "ttl"), vt_field(parse, "ttl"));
	EXPECT_EQ(0, vt_field(sink, "lost"));
	EXPECT_EQ(0, vt_field(sink, "dup"));
	EXPECT_GT(vt_field(gen, "tx"), 0);
}

/*
 * The submission ring on both backends: tests/shards/ringer runs the
 * checks inside each shard and prints "ringer: <check> ok" (or FAIL).
 */
TEST(ring_nop_batches_and_a_full_cq)
{
	char out[65536];

	vt_write_file("/tmp/integ6.ini",
		      "[system]\nname = integring\n"
		      "[shard a]\ncpus = 2\nring_entries = 256\n"
		      "program = build/tests/shards/ringer nop\n"
		      "[shard b]\ncpus = 3\nprogram = build/tests/shards/ringer nop\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ6.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, " FAIL")) TH_LOG("%s", out);
	/* ring_entries from the manifest for a, the default for b. */
	EXPECT_NE(NULL, strstr(out, "ringer: entries 256 cq 512\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: entries 128 cq 256\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: nop batches ok 8450\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: cq full ebusy and recovery ok\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"ok\":true")) TH_LOG("%s", out);
}

TEST(ring_wait_and_notify_across_two_shards)
{
	char out[65536];

	vt_write_file("/tmp/integ7.ini",
		      "[system]\nname = integring\n"
		      "[shard waiter]\ncpus = 2\nprogram = build/tests/shards/ringer wait\n"
		      "[shard waker]\ncpus = 3\nprogram = build/tests/shards/ringer wake\n"
		      "[channel w2k]\nfrom = waiter\nto = waker\nslot_size = 64\nslots = 16\n"
		      "[channel k2w]\nfrom = waker\nto = waiter\nslot_size = 64\nslots = 16\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ7.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, " FAIL")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: wait etime, level and refusal ok\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: wait woken by send ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: notify wakes doorbell ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: notify ok (")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"ok\":true")) TH_LOG("%s", out);
}

TEST(ring_sqpoll_without_enter_and_its_wakeup_edge)
{
	char out[65536];

	vt_write_file("/tmp/integ8.ini",
		      "[system]\nname = integring\n"
		      "[shard a]\ncpus = 2\nprogram = build/tests/shards/ringer sqpoll\n");
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ8.ini -j", out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, " FAIL")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: sqpoll nops ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: sqpoll need_wakeup edge ok\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "ringer: sqpoll stress ok ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"ok\":true")) TH_LOG("%s", out);
}

/*
 * The shard of ring_timeout_does_not_hold_back_a_nop: `vanityctl run`
 * starts this very binary with VANITY_INTEG_SHARD=timeout-order (no
 * shard program of its own needed), which does the shard's part before
 * the harness's main: a 2 s TIMEOUT then a NOP in one submission, and
 * the order their CQEs arrive in.
 */
static void __attribute__((constructor)) timeout_order_shard(void)
{
	const char *mode = getenv("VANITY_INTEG_SHARD");
	unsigned long long ud[2] = { 0, 0 };
	struct vanity_cqe *cqe;
	struct vanity_ring *r;
	struct vanity *v;
	int res[2] = { 1, 1 }, ret, i;

	if (!mode || strcmp(mode, "timeout-order"))
		return;
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = vanity_attach(NULL, &v);
	if (ret || !(r = vanity_ring(v))) {
		printf("order: attach FAIL %d\n", ret);
		_exit(1);
	}
	vanity_prep_timeout(vanity_get_sqe(r), 2000000000LL, 1);
	vanity_prep_nop(vanity_get_sqe(r), 2);
	ret = vanity_submit(r);
	for (i = 0; i < 2 && ret == 2; i++) {
		if (vanity_wait_cqe(r, &cqe))
			break;
		ud[i] = cqe->user_data;
		res[i] = cqe->res;
		vanity_cqe_seen(r);
	}
	printf("order: submitted %d; %llu res %d, then %llu res %d\n", ret,
	       ud[0], res[0], ud[1], res[1]);
	vanity_detach(v);
	_exit(0);
}

/* WAIT and TIMEOUT are armed, not blocking: a later NOP completes first. */
TEST(ring_timeout_does_not_hold_back_a_nop)
{
	char out[16384], want[64];

	vt_write_file("/tmp/integ9.ini",
		      "[system]\nname = integring\n"
		      "[shard a]\ncpus = 2\n"
		      "program = VANITY_INTEG_SHARD=timeout-order "
		      "build/tests/selftests/integration_test\n");
	/* --duration bounds a TIMEOUT whose CQE never comes. */
	ASSERT_EQ(0, vt_sh("tools/vanityctl run /tmp/integ9.ini --duration 30 -j",
			   out, sizeof(out)))
		TH_LOG("%s", out);
	snprintf(want, sizeof(want), "order: submitted 2; 2 res 0, then 1 res %d\n",
		 -ETIME);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want %s in %s", want, out);
}

/* The pipeline's options: each bad value refused before attaching. */
TEST(pipeline_stages_refuse_bad_options)
{
	static const char *const bad[][2] = {
		{ "examples/pipeline/gen --rate -5", "usage: gen" },
		{ "examples/pipeline/gen --rate abc", "usage: gen" },
		{ "examples/pipeline/gen --rate 5x", "usage: gen" },
		{ "examples/pipeline/gen --burst 0", "usage: gen" },
		{ "examples/pipeline/route stray", "usage: route" },
		{ "examples/pipeline/sink --warmup-ms 3600001", "--warmup-ms" },
		{ "examples/pipeline/sink --burst 0", "--burst" },
	};
	char out[4096];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(1, vt_sh(bad[i][0], out, sizeof(out))) TH_LOG("%s", bad[i][0]);
		EXPECT_NE(NULL, strstr(out, bad[i][1]))
			TH_LOG("%s said: %s", bad[i][0], out);
		EXPECT_EQ(NULL, strstr(out, "attach")) TH_LOG("%s: %s", bad[i][0], out);
	}
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
