// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl events: one line per notification of the module's events
 * group (-j: one JSON object a line), as it happens, until told to stop.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmd.h"
#include "json.h"
#include "nl.h"

#define PROG "vanityctl events"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vanityctl events [-j] [--count N] [--timeout S]\n"
		"Print the module's events, one line each, as they happen: a system\n"
		"up (name, shards, channels) or down (name, whether forced). 'lost'\n"
		"means some could not be delivered: run 'vanityctl status'.\n"
		"\n"
		"  -n, --count N      stop after N events (exit 1 if the timeout comes first)\n"
		"  -t, --timeout S    stop after S seconds (default: never)\n"
		"  -j, --json         one JSON object a line\n"
		"  -h, --help         show this help\n");
}

struct events_ctx {
	bool json;
	unsigned long count, seen;	/* count 0: no limit */
};

static void print_json(const struct vanity_event *ev)
{
	switch (ev->cmd) {
	case 0:
		printf("{\"event\":\"lost\"}\n");
		return;
	case VANITY_CMD_SYSTEM_UP_NTF:
		printf("{\"event\":\"up\",\"name\":");
		vanity_json_string(stdout, ev->name);
		printf(",\"shards\":%u,\"channels\":%u}\n", ev->nshards,
		       ev->nchannels);
		return;
	case VANITY_CMD_SYSTEM_DOWN_NTF:
		printf("{\"event\":\"down\",\"name\":");
		vanity_json_string(stdout, ev->name);
		printf(",\"forced\":%s}\n", ev->forced ? "true" : "false");
		return;
	default:
		printf("{\"event\":\"unknown\",\"cmd\":%u,\"name\":", ev->cmd);
		vanity_json_string(stdout, ev->name);
		printf("}\n");
	}
}

static void print_text(const struct vanity_event *ev)
{
	switch (ev->cmd) {
	case 0:
		printf("lost\n");
		return;
	case VANITY_CMD_SYSTEM_UP_NTF:
		printf("up %s shards=%u channels=%u\n", ev->name, ev->nshards,
		       ev->nchannels);
		return;
	case VANITY_CMD_SYSTEM_DOWN_NTF:
		printf("down %s%s\n", ev->name, ev->forced ? " forced" : "");
		return;
	default:
		printf("event %u %s\n", ev->cmd, ev->name);
	}
}

static int on_event(const struct vanity_event *ev, void *arg)
{
	struct events_ctx *ctx = arg;

	if (ctx->json)
		print_json(ev);
	else
		print_text(ev);
	/* A reader behind a pipe sees each event when it happens. */
	fflush(stdout);
	/* "lost" stands for events that were not counted. */
	if (ev->cmd)
		ctx->seen++;
	return ctx->count && ctx->seen >= ctx->count;
}

int vanity_cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct events_ctx ctx = { .json = false };
	double timeout = -1;
	struct vanity_backend b;
	struct vanity_nl *nl;
	int c, ret, ms;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			ctx.count = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !ctx.count ||
			    optarg[0] == '-') {
				fprintf(stderr, PROG ": bad --count '%s'\n", optarg);
				return 1;
			}
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (end == optarg || *end || !(timeout >= 0 && timeout < 1e6)) {
				fprintf(stderr, PROG ": bad --timeout '%s'\n", optarg);
				return 1;
			}
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	/* Only the module has an events group. */
	if (vanity_backend_open(&b, &vanity_backends[VANITY_BACKEND_MODULE], PROG))
		return 1;
	nl = b.nl;
	ret = vanity_nl_subscribe(nl);
	if (ret == -ENOENT)
		fprintf(stderr, PROG ": this vanity module has no events group (older than vanityctl)\n");
	else if (ret == -ENODEV)
		fprintf(stderr, PROG ": the vanity module was unloaded\n");
	else if (ret)
		fprintf(stderr, PROG ": cannot join the events group: %s\n", strerror(-ret));
	if (ret) {
		vanity_backend_close(&b);
		return 1;
	}

	ms = timeout < 0 ? -1 : (int)(timeout * 1000 + 0.5);
	ret = vanity_nl_events(nl, ms, on_event, &ctx);
	vanity_backend_close(&b);
	if (ret == 1 || (ret == 0 && !ctx.count))
		return 0;
	if (ret == 0)
		fprintf(stderr, PROG ": timed out after %g s with %lu of %lu events\n",
			timeout, ctx.seen, ctx.count);
	else if (ret == -ENODEV)
		fprintf(stderr, PROG ": the vanity module was unloaded\n");
	else
		fprintf(stderr, PROG ": %s\n", strerror(-ret));
	return 1;
}
