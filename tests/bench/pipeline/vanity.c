// SPDX-License-Identifier: GPL-2.0
/*
 * The Vanity build: the four shard programs of examples/pipeline over
 * Vanity channels, started by `tools/vanityctl run` from a manifest written
 * here (the stages on the benchmark's CPUs, channels of BP_SLOTS slots),
 * and their numbers read back from the JSON lines the programs print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stage.h"
#include "bp.h"

#define LINE_MAX_BYTES 16384

/* The number after "key": in @js, or -1. */
static double num(const char *js, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(js, pat);
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

/*
 * Stage @name's final JSON object if @line carries it, as a string of its
 * own; NULL if not. The object may come bare, as the programs print it, or
 * inside a JSON string of a log record, its quotes escaped: either way.
 */
static char *stage_line(const char *line, const char *name)
{
	char bare[48], esc[48], *out, *o;
	const char *p;

	snprintf(bare, sizeof(bare), "{\"shard\":\"%s\",", name);
	snprintf(esc, sizeof(esc), "{\\\"shard\\\":\\\"%s\\\",", name);
	p = strstr(line, bare);
	if (!p)
		p = strstr(line, esc);
	if (!p)
		return NULL;
	out = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	for (o = out; *p; p++)
		if (!(p[0] == '\\' && p[1] == '"'))
			*o++ = *p;
	*o = '\0';
	return out;
}

static int write_manifest(const struct bp_cfg *c, const char *path)
{
	unsigned int slot = 8, need = PKT_SLOT_HDR + c->size;
	FILE *f = fopen(path, "w");
	char rate[64] = "";

	if (!f)
		return -errno;
	while (slot < need)	/* a power of two, as the manifest wants */
		slot *= 2;
	if (c->rate > 0)
		snprintf(rate, sizeof(rate), " --rate %.0f", c->rate);
	fprintf(f,
		"; written by tests/bench/pipeline: the four stages on the\n"
		"; benchmark's CPUs, as its threaded builds place them\n"
		"[system]\nname = benchpipe\n\n"
		"[shard gen]\ncpus = %d\nmemory = 64K\n"
		"program = examples/pipeline/gen --duration %.3f --size %u --burst %u --flows %u%s\n\n"
		"[shard parse]\ncpus = %d\nmemory = 64K\n"
		"program = examples/pipeline/parse --burst %u\n\n"
		"[shard route]\ncpus = %d\nmemory = 64K\n"
		"program = examples/pipeline/route --routes %s --burst %u\n\n"
		"[shard sink]\ncpus = %d\nmemory = 64K\n"
		"program = examples/pipeline/sink --burst %u --warmup-ms %u\n\n",
		c->cpu[BP_GEN], c->seconds, c->size, c->burst, c->flows, rate,
		c->cpu[BP_PARSE], c->burst,
		c->cpu[BP_ROUTE], c->routes, c->burst,
		c->cpu[BP_SINK], c->burst, c->warmup_ms);
	fprintf(f, "[channel gen2parse]\nfrom = gen\nto = parse\nslot_size = %u\nslots = %u\n\n"
		   "[channel parse2route]\nfrom = parse\nto = route\nslot_size = %u\nslots = %u\n\n"
		   "[channel route2sink]\nfrom = route\nto = sink\nslot_size = %u\nslots = %u\n",
		slot, BP_SLOTS, slot, BP_SLOTS, slot, BP_SLOTS);
	if (fclose(f))
		return -errno;
	return 0;
}

int bp_vanity_run(const struct bp_cfg *c, struct bp_result *r)
{
	char path[512], cmd[1024], *line, *gen = NULL, *parse = NULL,
	     *route = NULL, *sink = NULL;
	int summary_ok = 0, st, ret;
	FILE *p;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/pipeline-vanity.ini", c->dir);
	ret = write_manifest(c, path);
	if (ret) {
		snprintf(r->note, sizeof(r->note), "%.120s: %s", path, strerror(-ret));
		return -1;
	}
	/* run stops the shards itself if they overstay: the run is bounded. */
	snprintf(cmd, sizeof(cmd),
		 "tools/vanityctl run %s -j --duration %.0f%s%s 2>&1", path,
		 c->seconds + (double)BP_GRACE_NS / 1e9,
		 c->backend ? " --backend " : "", c->backend ? c->backend : "");
	line = malloc(LINE_MAX_BYTES);
	p = line ? popen(cmd, "r") : NULL;
	if (!p) {
		snprintf(r->note, sizeof(r->note), "cannot start vanityctl run");
		free(line);
		return -1;
	}
	while (fgets(line, LINE_MAX_BYTES, p)) {
		static const char *const names[] = { "gen", "parse", "route", "sink" };
		char **slots[] = { &gen, &parse, &route, &sink }, *js = NULL;
		unsigned int i;

		for (i = 0; i < 4 && !js; i++) {
			js = stage_line(line, names[i]);
			if (js) {
				free(*slots[i]);
				*slots[i] = js;
			}
		}
		if (js) {
			continue;
		} else if (strstr(line, "\"event\":\"summary\"")) {
			summary_ok = strstr(line, "\"ok\":true") != NULL;
		} else if (!strstr(line, "\"event\":")) {
			/* Not ours to parse (a refusal, a warning): keep it. */
			if (!r->note[0]) {
				snprintf(r->note, sizeof(r->note), "%s", line);
				r->note[strcspn(r->note, "\n")] = '\0';
			}
		}
	}
	st = pclose(p);
	free(line);
	if (!gen || !sink || !parse || !route) {
		if (!r->note[0])
			snprintf(r->note, sizeof(r->note),
				 "a stage printed no result (vanityctl run exit %d)",
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		ret = -1;
		goto out;
	}
	r->generated = (uint64_t)num(gen, "tx");
	r->gen_mpps = num(gen, "mpps");
	r->delivered = (uint64_t)num(sink, "delivered");
	r->dropped = (uint64_t)num(parse, "dropped") + (uint64_t)num(route, "dropped");
	r->lost = (uint64_t)num(sink, "lost");
	r->dup = (uint64_t)num(sink, "dup");
	r->csum_err = (uint64_t)num(sink, "csum_err");
	r->mpps = num(sink, "mpps");
	r->p50 = (uint64_t)num(sink, "p50");
	r->p99 = (uint64_t)num(sink, "p99");
	r->p999 = (uint64_t)num(sink, "p999");
	r->max = (uint64_t)num(sink, "max");
	r->lat_n = 0;		/* the sink does not say */
	r->ran = num(sink, "rx") > 0 && r->mpps > 0;
	r->ok = r->ran && summary_ok && num(gen, "eos") == 1 &&
		num(sink, "eos") == 1 && !r->lost && !r->dup && !r->csum_err &&
		r->generated == r->delivered + r->dropped;
	if (r->ran && !r->ok)
		snprintf(r->note, sizeof(r->note),
			 "unbalanced or failed: generated %llu, delivered %llu, dropped %llu, lost %llu, dup %llu, run %s",
			 (unsigned long long)r->generated,
			 (unsigned long long)r->delivered,
			 (unsigned long long)r->dropped,
			 (unsigned long long)r->lost, (unsigned long long)r->dup,
			 summary_ok ? "ok" : "not ok");
	else if (r->ok)
		r->note[0] = '\0';
	ret = r->ran ? 0 : -1;
out:
	free(gen);
	free(parse);
	free(route);
	free(sink);
	return ret;
}
