// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run: its options, and the loop that builds the manifest,
 * brings the system up, supervises, shows status, then takes it down.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cmd.h"
#include "imgwrite.h"
#include "manifest.h"
#include "run.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vanityctl run MANIFEST [--duration S] [--backend module|hosted] [-j]\n\n"
		"Build MANIFEST, bring the system up, start each shard's program in the\n"
		"current directory with VANITY_SHARD set, supervise them (restart =\n"
		"on-failure restarts a failed one, at most %d times in %d s), show status\n"
		"every second (a table on a terminal, JSON lines otherwise or with -j), and\n"
		"on Ctrl-C, --duration or all programs exiting, stop them, take the system\n"
		"down and print a summary. Exit 0 when every program exited 0 or was\n"
		"stopped by run.\n\n"
		"A program written ./NAME or ../NAME is that file from the manifest's\n"
		"folder; the command line runs under /bin/sh where run was started.\n"
		"A program runs as its shard's user, or as you when the shard names none.\n"
		"Only root starts a program as another user: on the hosted simulator, run\n"
		"refuses such a shard before it starts anything.\n\n"
		"Each program gets a log ring and loop counters in shared memory (fd in\n"
		"$VANITY_RUN_FD, see vanity_log() and vanity_loop_tick()); run prints what it\n"
		"logs as \"[shard] text\" lines (JSON: {\"event\":\"log\",...}) and shows its\n"
		"loop rate.\n",
		RESTART_MAX, RESTART_WINDOW_S);
}

int vanity_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vanity_run r;
	struct vanity_status *st = NULL, *prev = NULL;
	double duration = 0, start_t, last_show = 0;
	bool json = false, tty = isatty(STDOUT_FILENO), failed = false;
	const struct vanity_backend_ops *ops;
	const char *backend = NULL;
	struct vanity_imgw *w = NULL;
	struct vanity_backend be = { 0 };
	void *img = NULL;
	unsigned int i;
	size_t len;
	int c, ret = 1;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < VANITY_MAX_SHARDS; i++)
		r.shards[i].page.fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:b:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': {
			char *end;

			duration = strtod(optarg, &end);
			if (end == optarg || *end || !(duration > 0 && duration < 1e9)) {
				fprintf(stderr, "vanityctl: run: bad --duration '%s'\n", optarg);
				return 1;
			}
			break;
		}
		case 'b':
			backend = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (!json && !tty)
		json = true;
	ops = vanity_backend_choose(backend, "vanityctl: run");
	if (!ops)
		return 1;

	w = malloc(sizeof(*w));
	st = calloc(1, sizeof(*st));
	prev = calloc(1, sizeof(*prev));
	if (!w || !st || !prev)
		goto out;
	/*
	 * On the simulator anyone may run a system, so a shard whose program
	 * would have to run as someone else is refused before anything
	 * starts. Under the module, UP itself is root's to allow.
	 */
	/* A manifest that cannot be found is the loader's to report. */
	r.dir_sh = vanity_run_quote_dir(argv[optind]);
	if (vanity_manifest_load_run(argv[optind], w, stderr,
				     ops->in_process ? (uint32_t)geteuid() :
				     VANITY_RUNNER_ANY) ||
	    vanity_imgw_finish(w, &img, &len))
		goto out;
	if (vanity_backend_open(&be, ops, "vanityctl: run"))
		goto out;
	ret = be.ops->up(&be, img, len);
	if (ret) {
		ret = vanity_backend_fail(&be, "up", ret);
		goto out;
	}
	vanity_run_catch_signals();
	r.o.json = json;
	r.o.tty = tty;
	r.o.table = tty && !json;	/* lines before the first draw go under it */
	r.o.t0 = vanity_run_now();
	vanity_run_launch(&r, img);
	start_t = vanity_run_now();
	be.ops->get(&be, prev);
	for (;;) {
		vanity_run_reap(&r);
		vanity_run_drain_all(&r);
		if (!vanity_run_alive(&r) || vanity_run_stop_requested() ||
		    (duration && vanity_run_now() - start_t >= duration))
			break;
		if (vanity_run_now() - last_show >= 1.0 && !be.ops->get(&be, st)) {
			double dt = last_show ? vanity_run_now() - last_show : 0;

			vanity_run_sample(&r, dt);
			vanity_run_show(&r, st, prev, dt);
			memcpy(prev, st, sizeof(*st));
			last_show = vanity_run_now();
		}
		be.ops->wait(&be, 50);
	}
	vanity_run_stop_all(&r);
	vanity_run_drain_all(&r);
	vanity_run_table_gone(&r.o);
	if (be.ops->get(&be, st))
		memset(st, 0, sizeof(*st));
	ret = be.ops->down(&be, true);
	if (ret)
		vanity_backend_fail(&be, "down", ret);

	for (i = 0; i < r.n; i++)
		if (r.shards[i].state == VANITY_RUN_FAILED ||
		    r.shards[i].state == VANITY_RUN_GAVE_UP)
			failed = true;
	vanity_run_summary(&r, st, vanity_run_now() - start_t, !failed && !ret);
	ret = failed || ret ? 1 : 0;
out:
	for (i = 0; i < VANITY_MAX_SHARDS; i++)
		vanity_runpage_destroy(&r.shards[i].page);
	vanity_backend_close(&be);
	free(img);
	free(w);
	free(st);
	free(prev);
	free(r.dir_sh);
	r.dir_sh = NULL;
	return ret;
}
