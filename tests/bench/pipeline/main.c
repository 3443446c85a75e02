// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench-pipeline`: the four-stage packet pipeline of examples/pipeline
 * built three ways in one run on the same CPUs (Vanity shards over
 * channels under `vanityctl run`; threads over DPDK rte_rings; threads over
 * pipes), first at full speed, then at one fixed offered rate all three
 * sustain; Mpps at the sink and one-way latency percentiles, the ratios,
 * and one `target NAME: Rx (goal Gx) met|missed` line per goal. A
 * benchmark, not a test: nothing fails on a missed target.
 *
 * Each build runs BENCH_PIPELINE_REPS times per mode, the builds taking
 * turns, and the table shows each one's median run (by Mpps at full speed,
 * by p99 at the fixed rate) with the spread: the machine may be shared.
 *
 * Knobs (environment): BENCH_PIPELINE_SECS (traffic per run, default 2),
 * BENCH_PIPELINE_REPS (runs per build and mode, default 3),
 * BENCH_PIPELINE_RATE (fixed rate, frames/s; default a quarter of the slowest
 * build's full speed), BENCH_PIPELINE_CPUS (two CPUs "a,b": gen and parse
 * on a, route and sink on b), BENCH_PIPELINE_BURST (32),
 * BENCH_PIPELINE_WARMUP_MS (200), BENCH_PIPELINE_BACKEND (module|hosted,
 * default what `vanityctl run` picks).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "stage.h"
#include "bp.h"

#define DIR		"build/bench-pipeline"
#define LINE_MPPS	14.88	/* 10 GbE, 64 B frames */
#define LINE_P99_NS	5000.0
#define MAX_REPS	15

enum { B_VANITY, B_RING, B_LINUX, NBUILDS };
enum { M_SAT, M_FIXED, NMODES };

static const char *const build_name[NBUILDS] = { "vanity", "rte_ring", "linux" };
static struct bp_result runs[NMODES][NBUILDS][MAX_REPS];
static struct bp_result res[NMODES][NBUILDS];	/* the median run */
static double lo[NMODES][NBUILDS], hi[NMODES][NBUILDS];	/* its key's spread */
static int nreps;

static double env_num(const char *name, double def, double lo, double hi)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	if (end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "bench-pipeline: %s='%s': want %g..%g\n", name,
			s, lo, hi);
		exit(2);
	}
	return v;
}

/* Two CPUs this process may run on (the same one twice on a 1-CPU box). */
static void pick_cpus(int cpu[BP_NSTAGES])
{
	const char *s = getenv("BENCH_PIPELINE_CPUS");
	int a = -1, b = -1, i;
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		CPU_SET(0, &set);
	if (s && *s) {
		if (sscanf(s, "%d,%d", &a, &b) != 2 || a < 0 || b < 0 ||
		    a >= CPU_SETSIZE || b >= CPU_SETSIZE ||
		    !CPU_ISSET(a, &set) || !CPU_ISSET(b, &set)) {
			fprintf(stderr, "bench-pipeline: BENCH_PIPELINE_CPUS='%s': want "
				"a,b, two CPUs this process may use\n", s);
			exit(2);
		}
	} else {
		for (i = 0; i < CPU_SETSIZE && b < 0; i++) {
			if (!CPU_ISSET(i, &set))
				continue;
			if (a < 0)
				a = i;
			else
				b = i;
		}
	}
	if (a < 0)
		a = 0;
	if (b < 0)
		b = a;
	cpu[BP_GEN] = cpu[BP_PARSE] = a;
	cpu[BP_ROUTE] = cpu[BP_SINK] = b;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, len, "%s", c + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static double loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static int run_one(int mode, int b, int rep, const struct bp_cfg *c)
{
	struct bp_result *r = &runs[mode][b][rep];

	fprintf(stderr, "bench-pipeline: %s, %s, run %d of %d ...\n",
		build_name[b], mode == M_SAT ? "full speed" : "fixed rate",
		rep + 1, nreps);
	switch (b) {
	case B_VANITY:
		return bp_vanity_run(c, r);
	case B_RING:
		return bp_threads_run(&bp_ring_ops, c, r);
	default:
		return bp_threads_run(&bp_pipe_ops, c, r);
	}
}

/* What the median is taken of: Mpps at full speed, p99 at the fixed rate. */
static double key(int mode, const struct bp_result *r)
{
	return mode == M_SAT ? r->mpps : (double)r->p99;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Each build's median run among those that balanced, and the spread. */
static void pick_medians(int mode)
{
	int b, i, n;

	for (b = 0; b < NBUILDS; b++) {
		double k[MAX_REPS];

		res[mode][b] = runs[mode][b][0];
		lo[mode][b] = hi[mode][b] = -1;
		for (i = n = 0; i < nreps; i++)
			if (runs[mode][b][i].ok)
				k[n++] = key(mode, &runs[mode][b][i]);
		if (!n)
			continue;
		qsort(k, (size_t)n, sizeof(k[0]), cmp_double);
		lo[mode][b] = k[0];
		hi[mode][b] = k[n - 1];
		for (i = 0; i < nreps; i++)
			if (runs[mode][b][i].ok &&
			    key(mode, &runs[mode][b][i]) == k[n / 2]) {
				res[mode][b] = runs[mode][b][i];
				break;
			}
	}
}

static void us(uint64_t ns, int ok)
{
	if (ok)
		printf(" %9.1f", (double)ns / 1000.0);
	else
		printf(" %9s", "-");
}

static void print_row(int mode, int b, double rate)
{
	const struct bp_result *r = &res[mode][b];
	const char *check = !r->ran ? "FAILED" : !r->ok ? "UNBALANCED" : "ok";

	printf("%-10s %-9s", mode == M_SAT ? "saturation" : "fixed", build_name[b]);
	if (!r->ran)
		printf(" %8s %8s %11s", "-", "-", "-");
	else
		printf(" %8.3f %8.3f %11llu", r->gen_mpps, r->mpps,
		       (unsigned long long)r->delivered);
	us(r->p50, r->ran);
	us(r->p99, r->ran);
	us(r->p999, r->ran);
	us(r->max, r->ran);
	/* A fixed rate the build did not keep up with is no fixed rate. */
	if (r->ok && mode == M_FIXED && r->mpps < 0.95 * rate / 1e6)
		check = "ok, behind rate";
	if (lo[mode][b] < 0)
		printf("  %-15s", "-");
	else if (mode == M_SAT)
		printf("  %6.3f..%-6.3f", lo[mode][b], hi[mode][b]);
	else
		printf("  %6.0f..%-6.0f", lo[mode][b] / 1000, hi[mode][b] / 1000);
	printf("  %s\n", check);
	if (r->note[0])
		printf("  %s %s: %s\n", build_name[b], mode == M_SAT ?
		       "saturation" : "fixed", r->note);
}

static int targets_met, targets_total;

static void verdict(const char *name, double ratio, double goal)
{
	int met = ratio > 0 && ratio >= goal;

	targets_total++;
	targets_met += met;
	if (ratio <= 0)
		printf("target %s: unmeasured (goal %.2fx) missed\n", name, goal);
	else
		printf("target %s: %.*fx (goal %.2fx) %s\n", name,
		       ratio < 0.1 ? 4 : 2, ratio, goal, met ? "met" : "missed");
}

static double ratio(double a, double b, int ok)
{
	return ok && a > 0 && b > 0 ? a / b : -1;
}

/* "1.23x", or "unmeasured" (a build failed): in one of four buffers. */
static const char *rx(double r)
{
	static char bufs[4][24];
	static int n;
	char *b = bufs[n++ % 4];

	if (r > 0)
		snprintf(b, sizeof(bufs[0]), "%.*fx", r < 0.1 ? 4 : 2, r);
	else
		snprintf(b, sizeof(bufs[0]), "unmeasured");
	return b;
}

int main(void)
{
	struct bp_cfg c = { 0 };
	struct lpm lpm = { 0 };
	struct lpm_prefix *pfx;
	struct utsname un;
	char model[128], routes[256], cmd[512];
	const char *backend;
	uint64_t t_start = bp_now_ns();
	double load0, slowest = 0, rate;
	size_t npfx;
	int b, i, lineno, err, ok_sat;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access("tools/vanityctl", X_OK) || access("examples/pipeline/gen", X_OK) ||
	    access("examples/pipeline/mkroutes", X_OK)) {
		fprintf(stderr, "bench-pipeline: run from the tree's top after 'make' "
			"(needs tools/vanityctl and examples/pipeline/)\n");
		return 2;
	}
	c.seconds = env_num("BENCH_PIPELINE_SECS", 2, 0.5, 600);
	nreps = (int)env_num("BENCH_PIPELINE_REPS", 3, 1, MAX_REPS);
	c.burst = (unsigned int)env_num("BENCH_PIPELINE_BURST", 32, 1, BP_MAX_BURST);
	c.warmup_ms = (unsigned int)env_num("BENCH_PIPELINE_WARMUP_MS", 200, 0, 60000);
	c.flows = 4096;
	c.size = PKT_MIN_FRAME;
	c.backend = getenv("BENCH_PIPELINE_BACKEND");
	if (c.backend && !*c.backend)
		c.backend = NULL;
	if (c.backend && strcmp(c.backend, "module") && strcmp(c.backend, "hosted")) {
		fprintf(stderr, "bench-pipeline: BENCH_PIPELINE_BACKEND='%s': want "
			"module or hosted\n", c.backend);
		return 2;
	}
	c.dir = DIR;
	pick_cpus(c.cpu);
	mkdir("build", 0755);
	mkdir(DIR, 0755);

	/* The same 16,385 routes for every build. */
	snprintf(routes, sizeof(routes), DIR "/routes.txt");
	snprintf(cmd, sizeof(cmd), "examples/pipeline/mkroutes -o %s", routes);
	if (system(cmd)) {
		fprintf(stderr, "bench-pipeline: %s failed\n", cmd);
		return 1;
	}
	err = lpm_read(routes, &pfx, &npfx, &lineno);
	if (!err)
		err = lpm_build(&lpm, pfx, npfx);
	if (err) {
		fprintf(stderr, "bench-pipeline: %s:%d: %s\n", routes, lineno,
			strerror(-err));
		return 1;
	}
	free(pfx);
	c.routes = routes;
	c.lpm = &lpm;

	cpu_model(model, sizeof(model));
	if (uname(&un))
		snprintf(un.release, sizeof(un.release), "?");
	load0 = loadavg();
	backend = c.backend ? c.backend :
		  access("/dev/vanity", F_OK) ? "hosted" : "module";

	printf("== Pipeline benchmark: gen -> parse -> route -> sink, %u B frames, "
	       "three builds in one run on the same CPUs\n", c.size);
	printf("machine: %s, %ld CPUs online, Linux %s; load average %.2f at the "
	       "start (a shared machine: numbers are noisy)\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), un.release, load0);
	printf("placement: gen and parse on CPU %d, route and sink on CPU %d, in "
	       "every build:\n  4 stages share %s as the manifest places them, "
	       "two stages taking turns on each\n", c.cpu[BP_GEN], c.cpu[BP_ROUTE],
	       c.cpu[BP_GEN] == c.cpu[BP_ROUTE] ? "one CPU" : "2 CPUs");
	printf("builds (the same per-frame code, examples/pipeline/stage.h and lpm.h, in all three):\n");
	printf("  vanity    the shard programs examples/pipeline/{gen,parse,route,sink} "
	       "over Vanity channels\n            (%u slots of 128 B), started by "
	       "`vanityctl run` on the %s backend;\n            idle: spin 10 us, then "
	       "the doorbell\n", BP_SLOTS, backend);
	printf("  rte_ring  four pinned threads, %u-slot rings: %s\n", BP_SLOTS,
	       bp_ring_ops.describe());
	printf("  linux     four pinned threads: %s\n", bp_pipe_ops.describe());
	printf("traffic: %.1f s per run, %d runs per build and mode (builds "
	       "taking turns; the median run shown), bursts of %u,\n  %u flows, "
	       "%u routes (DIR-24-8), no malformed frames\n", c.seconds, nreps,
	       c.burst, c.flows, lpm.nroutes);
	printf("latency: one way, gen's timestamp to the sink's arrival time "
	       "(log-linear histogram, < 1.6%% error);\n  frames stamped in the "
	       "first %u ms after the first frame reached the sink are left out "
	       "(warm-up:\n  the vanity build's route loads its table while gen "
	       "already runs)\n\n", c.warmup_ms);

	/* Full speed first: it sets the fixed rate. The builds take turns. */
	c.rate = 0;
	for (i = 0; i < nreps; i++)
		for (b = 0; b < NBUILDS; b++)
			run_one(M_SAT, b, i, &c);
	pick_medians(M_SAT);
	for (b = 0; b < NBUILDS; b++)
		if (res[M_SAT][b].ran && (!slowest || res[M_SAT][b].mpps < slowest))
			slowest = res[M_SAT][b].mpps;
	rate = env_num("BENCH_PIPELINE_RATE", 0, 0, 1e9);
	if (!rate) {
		char r2[32];

		/* A quarter of the slowest build's full speed, two digits. */
		rate = slowest > 0 ? slowest * 1e6 / 4 : 100000;
		snprintf(r2, sizeof(r2), "%.2g", rate);
		rate = strtod(r2, NULL);
	}
	c.rate = rate;
	for (i = 0; i < nreps; i++)
		for (b = 0; b < NBUILDS; b++)
			run_one(M_FIXED, b, i, &c);
	pick_medians(M_FIXED);

	printf("%-10s %-9s %8s %8s %11s %9s %9s %9s %9s  %-15s  %s\n", "mode",
	       "build", "gen Mpps", "Mpps", "delivered", "p50 us", "p99 us",
	       "p99.9 us", "max us", "spread", "check");
	for (b = 0; b < NBUILDS; b++)
		print_row(M_SAT, b, 0);
	for (b = 0; b < NBUILDS; b++)
		print_row(M_FIXED, b, rate);
	printf("gen Mpps: what gen sent (the offered load); Mpps: what reached "
	       "the sink, first frame to end of stream\n");
	printf("spread: lowest..highest over the balanced runs of Mpps "
	       "(saturation) or of p99 in us (fixed)\n");
	printf("saturation: every stage as fast as it goes; its latency is mostly "
	       "queueing (full queues)\n");
	printf("fixed: gen paced at %.3f Mpps (%s), which every build should "
	       "sustain\n  (\"behind rate\": the sink saw under 95%% of it); "
	       "the latency targets use these rows\n", rate / 1e6,
	       getenv("BENCH_PIPELINE_RATE") && *getenv("BENCH_PIPELINE_RATE") ?
	       "BENCH_PIPELINE_RATE" : "a quarter of the slowest build's saturation Mpps");
	printf("check: generated = delivered + dropped, none lost, duplicated "
	       "or corrupted, every stage saw the end of stream\n");

	{
		const struct bp_result *vs = &res[M_SAT][B_VANITY],
				       *rs = &res[M_SAT][B_RING],
				       *ls = &res[M_SAT][B_LINUX],
				       *vf = &res[M_FIXED][B_VANITY],
				       *rf = &res[M_FIXED][B_RING],
				       *lf = &res[M_FIXED][B_LINUX];
		double tp_ring = ratio(vs->mpps, rs->mpps, vs->ok && rs->ok);
		double tp_linux = ratio(vs->mpps, ls->mpps, vs->ok && ls->ok);
		double p99_linux = ratio((double)lf->p99, (double)vf->p99, vf->ok && lf->ok);
		double p99_ring = ratio((double)rf->p99, (double)vf->p99, vf->ok && rf->ok);
		double line = ratio(vs->mpps, LINE_MPPS, vs->ok);
		double p5 = ratio(LINE_P99_NS, (double)vf->p99, vf->ok);

		ok_sat = vs->ok;
		printf("\n== Ratios (bigger is better for Vanity)\n");
		printf("Mpps at saturation:    vanity/rte_ring %s, vanity/linux %s\n",
		       rx(tp_ring), rx(tp_linux));
		printf("p99 at the fixed rate: linux/vanity %s, rte_ring/vanity %s\n",
		       rx(p99_linux), rx(p99_ring));
		printf("the seeds' bar for a forwarding core, 14.88 Mpps of 64 B with "
		       "p99 <= 5 us (here 4 stages share %s):\n",
		       c.cpu[BP_GEN] == c.cpu[BP_ROUTE] ? "one CPU" : "2 CPUs");
		if (ok_sat)
			printf("  vanity %.3f Mpps at saturation = %s of 14.88\n",
			       vs->mpps, rx(line));
		if (vf->ok)
			printf("  vanity p99 %.1f us at the fixed rate: 5 us / p99 = %s\n",
			       (double)vf->p99 / 1000, rx(p5));
		printf("\n== Targets\n");
		verdict("mpps-vanity/rte_ring", tp_ring, 1.0);
		verdict("p99-linux/vanity", p99_linux, 5.0);
		verdict("mpps-vanity/14.88", line, 1.0);
		verdict("p99-5us/vanity", p5, 1.0);
	}
	printf("verdict: %d of %d targets met; load average %.2f at the end; "
	       "%.0f s in all\n", targets_met, targets_total, loadavg(),
	       (double)(bp_now_ns() - t_start) / 1e9);
	lpm_free(&lpm);
	return 0;
}
