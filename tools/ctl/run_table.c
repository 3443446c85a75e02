// SPDX-License-Identifier: GPL-2.0
/*
 * What vanityctl run prints: the live status (a table on a terminal with
 * the last log lines under it, JSON lines otherwise) and the summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

void vanity_run_line(struct vanity_run_out *o, const char *line)
{
	char *dst;
	size_t len;

	if (!o->table) {
		printf("%s\n", line);
		return;
	}
	dst = o->recent[o->nlines % RECENT_LINES];
	len = strlen(line);
	/* Cut to the column budget, not inside a UTF-8 sequence. */
	if (len >= RECENT_COLS) {
		len = RECENT_COLS - 1;
		while (len && ((unsigned char)line[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, line, len);
	dst[len] = '\0';
	o->nlines++;
}

void vanity_run_table_gone(struct vanity_run_out *o)
{
	unsigned long long i = o->drawn;

	if (!o->table)
		return;
	o->table = false;
	if (o->nlines - i > RECENT_LINES) {
		printf("(%llu earlier log lines not shown; -j prints every one)\n",
		       o->nlines - i - RECENT_LINES);
		i = o->nlines - RECENT_LINES;
	}
	for (; i < o->nlines; i++)
		printf("%s\n", o->recent[i % RECENT_LINES]);
	o->drawn = o->nlines;
	fflush(stdout);
}

void vanity_run_remark(struct vanity_run_out *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (o->table)
		vanity_run_line(o, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* Messages a second channel @i received since the last status. */
static double msg_rate(const struct vanity_status *st,
		       const struct vanity_status *prev, unsigned int i,
		       double dt)
{
	return dt > 0 ? (st->channels[i].received - prev->channels[i].received) / dt : 0;
}

static void show_json(const struct vanity_run *r, const struct vanity_status *st,
		      const struct vanity_status *prev, double dt)
{
	unsigned int i;

	printf("{\"event\":\"status\",\"shards\":[");
	for (i = 0; i < r->n; i++) {
		const struct vanity_run_shard *s = &r->shards[i];

		printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"attached\":%s,\"restarts\":%u,\"submitted\":%llu"
		       ",\"cpus\":\"%s\",\"cpu_pct\":%.1f,\"loops\":%llu,\"loops_per_s\":%.0f,\"idle_pct\":%.1f,\"log_dropped\":%llu}",
		       i ? "," : "", s->d->name, vanity_run_state_names[s->state],
		       (int)s->pid, st->shards[i].pid ? "true" : "false",
		       s->restarts,
		       (unsigned long long)st->shards[i].submitted,
		       s->cpus, s->cpu_pct,
		       (unsigned long long)s->ctrs.loops, s->loop_rate,
		       s->idle_pct, (unsigned long long)s->ctrs.dropped);
	}
	printf("],\"channels\":[");
	for (i = 0; i < st->nchannels; i++) {
		const struct vanity_status_channel *c = &st->channels[i];

		printf("%s{\"name\":\"%s\",\"used\":%u,\"slots\":%u,\"received\":%llu,\"msgs_per_s\":%.0f}",
		       i ? "," : "", c->name, c->head - c->tail, c->slots,
		       (unsigned long long)c->received, msg_rate(st, prev, i, dt));
	}
	printf("]}\n");
}

static void show_text(struct vanity_run *r, const struct vanity_status *st,
		      const struct vanity_status *prev, double dt)
{
	struct vanity_run_out *o = &r->o;
	unsigned int i;

	if (o->tty)
		printf("\033[H\033[J");
	printf("system %s\n\n%-20s %-10s %-8s %8s %9s %8s %6s %12s %6s\n",
	       st->name, "SHARD", "STATE", "CPUS", "PID", "RESTARTS",
	       "ATTACHED", "CPU%", "LOOPS/S", "IDLE%");
	for (i = 0; i < r->n; i++) {
		const struct vanity_run_shard *s = &r->shards[i];

		printf("%-20s %-10s %-8s %8d %9u %8s %6.1f %12.0f %6.1f\n",
		       s->d->name, vanity_run_state_names[s->state], s->cpus,
		       (int)s->pid, s->restarts,
		       st->shards[i].pid ? "yes" : "no",
		       s->cpu_pct, s->loop_rate, s->idle_pct);
	}
	printf("\n%-20s %12s %10s %14s\n", "CHANNEL", "USED", "MSG/S",
	       "RECEIVED");
	for (i = 0; i < st->nchannels; i++) {
		const struct vanity_status_channel *c = &st->channels[i];
		char used[32];

		snprintf(used, sizeof(used), "%u/%u", c->head - c->tail, c->slots);
		printf("%-20s %12s %10.0f %14llu\n", c->name, used,
		       msg_rate(st, prev, i, dt), (unsigned long long)c->received);
	}
	/* The last log lines; every one of them with -j. */
	if (o->nlines) {
		unsigned long long k = o->nlines > RECENT_LINES ?
				       o->nlines - RECENT_LINES : 0;

		printf("\nLOG (last %llu of %llu lines)\n",
		       o->nlines - k, o->nlines);
		for (; k < o->nlines; k++)
			printf("%s\n", o->recent[k % RECENT_LINES]);
	}
	o->table = o->tty;
	o->drawn = o->nlines;
}

void vanity_run_show(struct vanity_run *r, const struct vanity_status *st,
		     const struct vanity_status *prev, double dt)
{
	if (r->o.json)
		show_json(r, st, prev, dt);
	else
		show_text(r, st, prev, dt);
	fflush(stdout);
}

void vanity_run_summary(struct vanity_run *r, const struct vanity_status *st,
			double seconds, bool ok)
{
	unsigned int i;

	for (i = 0; i < r->n; i++)
		vanity_runpage_ctrs(&r->shards[i].page, &r->shards[i].ctrs);
	if (r->o.json) {
		printf("{\"event\":\"summary\",\"seconds\":%.1f,\"ok\":%s,\"shards\":[",
		       seconds, ok ? "true" : "false");
		for (i = 0; i < r->n; i++) {
			const struct vanity_run_shard *s = &r->shards[i];
			char why[64] = "";

			if (s->state != VANITY_RUN_NONE)
				vanity_run_describe(s->status, why, sizeof(why));
			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\",\"restarts\":%u"
			       ",\"loops\":%llu,\"loops_per_s\":%.0f,\"idle_pct\":%.1f,\"log_dropped\":%llu}",
			       i ? "," : "", s->d->name,
			       vanity_run_state_names[s->state], why, s->restarts,
			       (unsigned long long)s->ctrs.loops,
			       vanity_run_mean_rate(s),
			       vanity_run_idle_pct(s->ctrs.idle, s->ctrs.loops),
			       (unsigned long long)s->ctrs.dropped);
		}
		printf("],\"channels\":[");
		for (i = 0; i < st->nchannels; i++)
			printf("%s{\"name\":\"%s\",\"sent\":%llu,\"received\":%llu,\"used\":%u}",
			       i ? "," : "", st->channels[i].name,
			       (unsigned long long)st->channels[i].sent,
			       (unsigned long long)st->channels[i].received,
			       st->channels[i].head - st->channels[i].tail);
		printf("]}\n");
		return;
	}
	printf("\nsummary after %.1f s:\n", seconds);
	for (i = 0; i < r->n; i++) {
		const struct vanity_run_shard *s = &r->shards[i];
		char why[64] = "-";

		if (s->state != VANITY_RUN_NONE)
			vanity_run_describe(s->status, why, sizeof(why));
		printf("  shard %-20s %-10s %-24s restarts %u, loops %llu (%.0f/s, %.1f%% idle)\n",
		       s->d->name, vanity_run_state_names[s->state], why,
		       s->restarts, (unsigned long long)s->ctrs.loops,
		       vanity_run_mean_rate(s),
		       vanity_run_idle_pct(s->ctrs.idle, s->ctrs.loops));
	}
	for (i = 0; i < st->nchannels; i++)
		printf("  channel %-18s sent %llu, received %llu, left %u\n",
		       st->channels[i].name,
		       (unsigned long long)st->channels[i].sent,
		       (unsigned long long)st->channels[i].received,
		       st->channels[i].head - st->channels[i].tail);
}
