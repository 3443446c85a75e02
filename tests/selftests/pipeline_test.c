// SPDX-License-Identifier: GPL-2.0
/*
 * The packet pipeline example end to end against the module: the manifest
 * examples/pipeline/pipeline.ini brought up, the four shard programs run
 * (sink first, gen last), and their final JSON lines must balance:
 * every generated frame is delivered once or dropped for the reason gen
 * injected. Then the same with route SIGKILLed mid-stream and restarted
 * several times: route records each batch in its private region before
 * publishing it and rolls an interrupted one forward on restart, so the
 * semantics asserted are exactly-once: nothing lost, nothing duplicated,
 * counters carried across the restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"
#include "manifest.h"

#define MANIFEST "examples/pipeline/pipeline.ini"
#define ROUTES "/tmp/pipeline-routes.txt"
#define OUT_DIR "/tmp"
#define WAIT_MS (600 * 1000)

static pid_t start(const char *shard, char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		/* Not under vanityctl run, vanity_log() writes to stderr. */
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		close(fd);
		if (shard)
			setenv("VANITY_SHARD", shard, 1);
		else
			unsetenv("VANITY_SHARD");
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * The last JSON line of @path, in a static buffer per slot: as printed, or
 * as vanity_log() writes it without vanityctl run ("[shard] {...}").
 */
static const char *json(const char *path, int slot)
{
	static char bufs[8][4096];
	char line[4096];
	FILE *f = fopen(path, "r");

	bufs[slot][0] = '\0';
	if (!f)
		return bufs[slot];
	while (fgets(line, sizeof(line), f)) {
		const char *j = line;

		if (line[0] == '[' && (j = strstr(line, "] {")))
			j += 2;
		if (j && j[0] == '{')
			snprintf(bufs[slot], sizeof(bufs[slot]), "%s", j);
	}
	fclose(f);
	return bufs[slot];
}

/* Number at "key": inside the object "within": (NULL: top level); -1 absent. */
static long long num(const char *js, const char *within, const char *key)
{
	char pat[64];
	const char *p = js;

	if (within) {
		snprintf(pat, sizeof(pat), "\"%s\":{", within);
		p = strstr(js, pat);
		if (!p)
			return -1;
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	if (!p)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Channel @ch's tail (frames consumed) and whether shard @sh has pid @pid. */
static int status_of(const char *sh, pid_t pid, const char *ch,
		     uint32_t *tail)
{
	struct vanity_status *st;
	unsigned int i;
	int attached = 0;

	if (vt_get(&st))
		return -1;
	for (i = 0; i < st->nshards; i++)
		if (!strcmp(st->shards[i].name, sh))
			attached = st->shards[i].pid == (uint32_t)pid;
	for (i = 0; i < st->nchannels; i++)
		if (!strcmp(st->channels[i].name, ch))
			*tail = st->channels[i].tail;
	free(st);
	return attached;
}

/* Until @pid is attached as @sh and has consumed from @ch: 0, or -1. */
static int wait_working(const char *sh, pid_t pid, const char *ch)
{
	uint32_t tail0 = 0, tail = 0;
	int ms, seen = 0;

	for (ms = 0; ms < 120000; ms += 20) {
		int a = status_of(sh, pid, ch, &tail);

		if (a < 0)
			return -1;
		if (a && !seen) {
			seen = 1;
			tail0 = tail;
		} else if (a && tail != tail0) {
			return 0;
		}
		sleep_ms(20);
	}
	return -1;
}

FIXTURE(pipeline) {
	int up;
};

FIXTURE_SETUP(pipeline)
{
	struct vanity_imgw w;
	char msg[256];
	char *mk[] = { "examples/pipeline/mkroutes", "-n", "16384", "-k", "16",
		       "-o", ROUTES, NULL };
	pid_t pid;

	self->up = 0;
	vt_reset();
	ASSERT_EQ(0, vanity_manifest_load(MANIFEST, &w, stderr));
	ASSERT_EQ(0, vt_up(&w, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	self->up = 1;
	pid = start(NULL, mk, OUT_DIR "/pipeline-mkroutes.out");
	ASSERT_EQ(0, vt_wait(pid, 60000));
}

FIXTURE_TEARDOWN(pipeline)
{
	if (self->up)
		vt_down(true, NULL, 0);
}

struct run {
	const char *gen, *parse, *route, *sink;
};

static char *route_argv[] = { "examples/pipeline/route", "--routes", ROUTES, NULL };
static char *parse_argv[] = { "examples/pipeline/parse", NULL };
static char *sink_argv[] = { "examples/pipeline/sink", NULL };

/* Conservation across the four JSON lines. */
static void check_balance(struct __test_metadata *_metadata,
			  const struct run *r)
{
	const char *g = r->gen, *p = r->parse, *ro = r->route, *s = r->sink;
	long long tx = num(g, NULL, "tx"), good = num(g, NULL, "good");
	static const char *const reasons[] = { "checksum", "length", "ttl" };
	long long injected = 0;
	unsigned int i;

	TH_LOG("%s", g);
	TH_LOG("%s", p);
	TH_LOG("%s", ro);
	TH_LOG("%s", s);
	ASSERT_GT(tx, 0);
	ASSERT_EQ(1, num(g, NULL, "eos"));
	for (i = 0; i < 3; i++) {
		long long b = num(g, "bad", reasons[i]);

		ASSERT_GT(b, 0) TH_LOG("gen injected no %s errors", reasons[i]);
		/* parse drops exactly what gen injected, reason by reason */
		ASSERT_EQ(b, num(p, "drops", reasons[i])) TH_LOG("%s", reasons[i]);
		injected += b;
	}
	ASSERT_EQ(tx, good + injected);
	ASSERT_EQ(0, num(p, "drops", "ethertype"));
	ASSERT_EQ(0, num(p, "drops", "version"));
	ASSERT_EQ(tx, num(p, NULL, "rx"));
	ASSERT_EQ(injected, num(p, NULL, "dropped"));
	ASSERT_EQ(good, num(p, NULL, "tx"));
	ASSERT_EQ(1, num(p, NULL, "eos"));
	/* route: a default route, TTL 64: nothing to drop */
	ASSERT_EQ(good, num(ro, NULL, "rx"));
	ASSERT_EQ(0, num(ro, NULL, "dropped"));
	ASSERT_EQ(good, num(ro, NULL, "tx"));
	ASSERT_EQ(16385, num(ro, NULL, "routes"));
	ASSERT_EQ(1, num(ro, NULL, "eos"));
	/* sink: every good frame once, in order, checksum still right */
	ASSERT_EQ(good, num(s, NULL, "rx"));
	ASSERT_EQ(good, num(s, NULL, "delivered"));
	ASSERT_EQ(0, num(s, NULL, "lost"));
	ASSERT_EQ(0, num(s, NULL, "dup"));
	ASSERT_EQ(0, num(s, NULL, "csum_err"));
	ASSERT_EQ(1, num(s, NULL, "eos"));
	ASSERT_EQ(tx, num(s, NULL, "delivered") + num(p, NULL, "dropped") +
		      num(ro, NULL, "dropped"));
}

TEST_F_TIMEOUT(pipeline, conservation, 900)
{
	char *gen_argv[] = { "examples/pipeline/gen", "--count", "200000",
			     "--bad-permille", "10", "--seed", "7", NULL };
	pid_t sink, route, parse, gen;
	struct run r;

	sink = start("sink", sink_argv, OUT_DIR "/pipeline-sink.json");
	route = start("route", route_argv, OUT_DIR "/pipeline-route.json");
	parse = start("parse", parse_argv, OUT_DIR "/pipeline-parse.json");
	gen = start("gen", gen_argv, OUT_DIR "/pipeline-gen.json");
	ASSERT_EQ(0, vt_wait(gen, WAIT_MS));
	ASSERT_EQ(0, vt_wait(parse, WAIT_MS));
	ASSERT_EQ(0, vt_wait(route, WAIT_MS));
	ASSERT_EQ(0, vt_wait(sink, WAIT_MS));
	r.gen = json(OUT_DIR "/pipeline-gen.json", 0);
	r.parse = json(OUT_DIR "/pipeline-parse.json", 1);
	r.route = json(OUT_DIR "/pipeline-route.json", 2);
	r.sink = json(OUT_DIR "/pipeline-sink.json", 3);
	check_balance(_metadata, &r);
	ASSERT_EQ(200000, num(r.gen, NULL, "tx"));
	ASSERT_EQ(1, num(r.route, NULL, "starts"));
}

/*
 * gen runs for a fixed time so that route is surely mid-stream each time
 * it is killed; gen and parse block on full channels while it is dead.
 */
#define KILLS 3

TEST_F_TIMEOUT(pipeline, route_killed, 900)
{
	char *gen_argv[] = { "examples/pipeline/gen", "--duration", "10",
			     "--bad-permille", "10", "--seed", "11", NULL };
	pid_t sink, route, parse, gen;
	struct run r;
	int k;

	sink = start("sink", sink_argv, OUT_DIR "/pipeline-sink.json");
	route = start("route", route_argv, OUT_DIR "/pipeline-route.json");
	parse = start("parse", parse_argv, OUT_DIR "/pipeline-parse.json");
	gen = start("gen", gen_argv, OUT_DIR "/pipeline-gen.json");
	for (k = 0; k < KILLS; k++) {
		/* Attached and moving frames, then a moment more. */
		ASSERT_EQ(0, wait_working("route", route, "parse2route"));
		sleep_ms(150);
		ASSERT_EQ(0, kill(route, SIGKILL));
		/* Killed, not finished: it was mid-stream. */
		ASSERT_EQ(128 + SIGKILL, vt_wait(route, WAIT_MS));
		route = start("route", route_argv, OUT_DIR "/pipeline-route.json");
	}
	ASSERT_EQ(0, vt_wait(gen, WAIT_MS));
	ASSERT_EQ(0, vt_wait(parse, WAIT_MS));
	ASSERT_EQ(0, vt_wait(route, WAIT_MS));
	ASSERT_EQ(0, vt_wait(sink, WAIT_MS));
	r.gen = json(OUT_DIR "/pipeline-gen.json", 0);
	r.parse = json(OUT_DIR "/pipeline-parse.json", 1);
	r.route = json(OUT_DIR "/pipeline-route.json", 2);
	r.sink = json(OUT_DIR "/pipeline-sink.json", 3);
	check_balance(_metadata, &r);
	/* The counters carried over: this route is the (KILLS+1)th start. */
	ASSERT_EQ(KILLS + 1, num(r.route, NULL, "starts"));
}

/* The DIR-24-8 table against a linear longest match. */
TEST_F_TIMEOUT(pipeline, lpm_check, 300)
{
	char *argv[] = { "examples/pipeline/route", "--routes", ROUTES,
			 "--check", "2000", NULL };
	const char *js;

	ASSERT_EQ(0, vt_wait(start(NULL, argv, OUT_DIR "/pipeline-lpm.json"),
			     WAIT_MS));
	js = json(OUT_DIR "/pipeline-lpm.json", 4);
	TH_LOG("%s", js);
	ASSERT_EQ(2000, num(js, NULL, "lpm_check"));
	ASSERT_EQ(0, num(js, NULL, "mismatches"));
}

TEST_HARNESS_MAIN
