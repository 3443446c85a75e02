// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run's log draining: each shard's log ring read out as
 * attributed lines (text or JSON), with what the ring dropped or garbled.
 */
#include <stdio.h>
#include <string.h>

#include "run.h"

struct log_ctx {
	struct vanity_run_out *o;
	const char *shard;
};

/* One drained record: run's attribution first, then the shard's text. */
static void log_record(void *ctx, const struct vanity_logline *l)
{
	const struct log_ctx *c = ctx;
	const char *level = vanity_log_level_name(l->level);
	struct vanity_run_out *o = c->o;

	if (o->json) {
		char buf[VANITY_LOG_MSG_MAX * 6 + 1];
		uint32_t i;

		printf("{\"event\":\"log\",\"shard\":\"%s\",\"level\":\"%s\",\"t\":%.3f",
		       c->shard, level, (double)l->ts_ns / 1e9 - o->t0);
		if (vanity_json_is_object(l->text, l->len)) {
			/* Checked, so a line break can only be a blank. */
			for (i = 0; i < l->len; i++)
				buf[i] = l->text[i] == '\n' || l->text[i] == '\r' ?
					 ' ' : l->text[i];
			printf(",\"json\":%.*s", (int)l->len, buf);
		} else {
			vanity_json_escape(buf, sizeof(buf), l->text, l->len);
			printf(",\"log\":\"%s\"", buf);
		}
		printf("%s}\n", l->flags & VANITY_LOG_F_TRUNC ?
		       ",\"truncated\":true" : "");
	} else {
		char text[VANITY_LOG_MSG_MAX + 1], line[VANITY_LOG_MSG_MAX + 96];
		char *p = text, *nl;

		vanity_log_sanitize(text, sizeof(text), l->text, l->len);
		/* One terminal line per line of text, each attributed. */
		for (;;) {
			nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			snprintf(line, sizeof(line), "[%s] %s%s%s%s", c->shard,
				 l->level <= VANITY_LOG_WARN ? level : "",
				 l->level <= VANITY_LOG_WARN ? ": " : "", p,
				 !nl && l->flags & VANITY_LOG_F_TRUNC ? " [...]" : "");
			vanity_run_line(o, line);
			if (!nl)
				break;
			p = nl + 1;
		}
	}
}

void vanity_run_drain(struct vanity_run_shard *s, struct vanity_run_out *o)
{
	struct log_ctx c = { o, s->d->name };
	struct vanity_runctrs now;
	char line[160];

	if (!s->page.map)
		return;
	vanity_runpage_drain(&s->page, log_record, &c);
	vanity_runpage_ctrs(&s->page, &now);
	if (now.dropped != s->dropped_seen) {
		s->dropped_seen = now.dropped;
		if (o->json) {
			printf("{\"event\":\"log_dropped\",\"shard\":\"%s\",\"dropped\":%llu}\n",
			       s->d->name, (unsigned long long)now.dropped);
		} else {
			snprintf(line, sizeof(line),
				 "[%s] vanityctl: %llu log records dropped so far (ring full)",
				 s->d->name, (unsigned long long)now.dropped);
			vanity_run_line(o, line);
		}
	}
	if (s->page.corrupt != s->corrupt_seen) {
		s->corrupt_seen = s->page.corrupt;
		if (o->json) {
			printf("{\"event\":\"log_corrupt\",\"shard\":\"%s\",\"times\":%llu}\n",
			       s->d->name, (unsigned long long)s->page.corrupt);
		} else {
			snprintf(line, sizeof(line),
				 "[%s] vanityctl: log ring inconsistent, records skipped",
				 s->d->name);
			vanity_run_line(o, line);
		}
	}
	fflush(stdout);
}

void vanity_run_drain_all(struct vanity_run *r)
{
	unsigned int i;

	for (i = 0; i < r->n; i++)
		vanity_run_drain(&r->shards[i], &r->o);
}
