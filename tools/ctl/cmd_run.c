// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run: build a manifest, bring the system up, start and
 * supervise every shard's program (restarting those marked on-failure),
 * show status, then stop the shards, take the system down and summarise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "image.h"
#include "imgwrite.h"
#include "manifest.h"
#include "nl.h"
#include "sim.h"
#include "hosted.h"

#define RESTART_MAX 5		/* within RESTART_WINDOW_S, then give up */
#define RESTART_WINDOW_S 10
#define STOP_GRACE_MS 5000

enum state { S_NONE, S_RUNNING, S_EXITED, S_FAILED, S_STOPPED, S_GAVE_UP };

static const char *const state_names[] = {
	[S_NONE] = "no-program", [S_RUNNING] = "running",
	[S_EXITED] = "exited", [S_FAILED] = "failed",
	[S_STOPPED] = "stopped", [S_GAVE_UP] = "gave-up",
};

struct shard_run {
	const struct vanity_image_shard *d;
	const char *program;
	pid_t pid;
	enum state state;
	int status;			/* last wait status */
	unsigned int restarts;
	double restart_times[RESTART_MAX];
	bool stopping;			/* we sent it SIGTERM */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by %s", strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* A simple command whose first word is a path: no shell needed around it. */
static bool execable(const char *program)
{
	size_t first = strcspn(program, " \t");

	if (strpbrk(program, ";&|<>()$`\\\"'*?[]{}~\n"))
		return false;
	return memchr(program, '/', first) != NULL;
}

static pid_t start(struct shard_run *s)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	/* Child: the shard's name, the shard's user, then the program. */
	setenv("VANITY_SHARD", s->d->name, 1);
	if (geteuid() == 0 && s->d->uid != 0) {
		struct passwd *pw = getpwuid(s->d->uid);
		gid_t gid = pw ? pw->pw_gid : s->d->uid;

		if ((pw && initgroups(pw->pw_name, gid)) || setgid(gid) ||
		    setuid(s->d->uid)) {
			fprintf(stderr, "vanityctl: run: %s: cannot become uid %u: %s\n",
				s->d->name, s->d->uid, strerror(errno));
			_exit(126);
		}
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/*
	 * A plain command line naming a program by path is exec'd by the
	 * shell, so the program is the process we supervise and its own exit
	 * status or signal reaches us; anything else (shell syntax, builtins)
	 * runs under sh -c as written.
	 */
	if (execable(s->program)) {
		char *cmd = malloc(strlen(s->program) + 6);

		if (cmd) {
			strcpy(cmd, "exec ");
			strcat(cmd, s->program);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		}
	}
	execl("/bin/sh", "sh", "-c", s->program, (char *)NULL);
	fprintf(stderr, "vanityctl: run: %s: /bin/sh: %s\n", s->d->name,
		strerror(errno));
	_exit(127);
}

/* Whether @s may restart now: at most RESTART_MAX in the window. */
static bool may_restart(struct shard_run *s)
{
	double t = now_s();
	unsigned int i, recent = 0;

	for (i = 0; i < RESTART_MAX && i < s->restarts; i++)
		if (t - s->restart_times[i] < RESTART_WINDOW_S)
			recent++;
	if (recent >= RESTART_MAX)
		return false;
	s->restart_times[s->restarts % RESTART_MAX] = t;
	return true;
}

static void reaped(struct shard_run *s, int status, bool json)
{
	char why[64];
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	s->status = status;
	s->pid = 0;
	describe(status, why, sizeof(why));
	if (s->stopping) {
		s->state = S_STOPPED;
	} else if (ok) {
		s->state = S_EXITED;
	} else if (s->d->flags & VANITY_SHARD_F_RESTART && !stop_requested &&
		   may_restart(s)) {
		s->restarts++;
		s->pid = start(s);
		s->state = s->pid > 0 ? S_RUNNING : S_FAILED;
		if (json)
			printf("{\"event\":\"restart\",\"shard\":\"%s\",\"reason\":\"%s\",\"restarts\":%u}\n",
			       s->d->name, why, s->restarts);
		else
			fprintf(stderr, "vanityctl: run: %s: %s, restarted (%u)\n",
				s->d->name, why, s->restarts);
		return;
	} else {
		s->state = s->d->flags & VANITY_SHARD_F_RESTART && !stop_requested ?
			   S_GAVE_UP : S_FAILED;
	}
	if (json)
		printf("{\"event\":\"%s\",\"shard\":\"%s\",\"reason\":\"%s\"}\n",
		       state_names[s->state], s->d->name, why);
	else
		fprintf(stderr, "vanityctl: run: %s: %s (%s)\n", s->d->name,
			state_names[s->state], why);
	fflush(stdout);
}

static void show(struct shard_run *runs, unsigned int n,
		 const struct vanity_status *st, const struct vanity_status *prev,
		 double dt, bool json, bool tty)
{
	unsigned int i;

	if (json) {
		printf("{\"event\":\"status\",\"shards\":[");
		for (i = 0; i < n; i++)
			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"attached\":%s,\"restarts\":%u,\"submitted\":%llu}",
			       i ? "," : "", runs[i].d->name,
			       state_names[runs[i].state], (int)runs[i].pid,
			       st->shards[i].pid ? "true" : "false",
			       runs[i].restarts,
			       (unsigned long long)st->shards[i].submitted);
		printf("],\"channels\":[");
		for (i = 0; i < st->nchannels; i++) {
			const struct vanity_status_channel *c = &st->channels[i];
			double rate = dt > 0 ? (c->received - prev->channels[i].received) / dt : 0;

			printf("%s{\"name\":\"%s\",\"used\":%u,\"slots\":%u,\"received\":%llu,\"msgs_per_s\":%.0f}",
			       i ? "," : "", c->name, c->head - c->tail, c->slots,
			       (unsigned long long)c->received, rate);
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	if (tty)
		printf("\033[H\033[J");
	printf("system %s\n\n%-20s %-10s %8s %9s %8s\n", st->name, "SHARD",
	       "STATE", "PID", "RESTARTS", "ATTACHED");
	for (i = 0; i < n; i++)
		printf("%-20s %-10s %8d %9u %8s\n", runs[i].d->name,
		       state_names[runs[i].state], (int)runs[i].pid,
		       runs[i].restarts, st->shards[i].pid ? "yes" : "no");
	printf("\n%-20s %12s %10s %14s\n", "CHANNEL", "USED", "MSG/S",
	       "RECEIVED");
	for (i = 0; i < st->nchannels; i++) {
		const struct vanity_status_channel *c = &st->channels[i];
		double rate = dt > 0 ? (c->received - prev->channels[i].received) / dt : 0;
		char used[32];

		snprintf(used, sizeof(used), "%u/%u", c->head - c->tail, c->slots);
		printf("%-20s %12s %10.0f %14llu\n", c->name, used, rate,
		       (unsigned long long)c->received);
	}
	fflush(stdout);
}

static void stop_all(struct shard_run *runs, unsigned int n, bool json)
{
	double end = now_s() + STOP_GRACE_MS / 1000.0;
	unsigned int i, left;
	int status;
	pid_t pid;

	for (i = 0; i < n; i++)
		if (runs[i].pid > 0) {
			runs[i].stopping = true;
			kill(runs[i].pid, SIGTERM);
		}
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (runs[i].pid == pid)
					reaped(&runs[i], status, json);
		for (i = 0, left = 0; i < n; i++)
			left += runs[i].pid > 0;
		if (!left)
			return;
		if (now_s() > end) {
			for (i = 0; i < n; i++)
				if (runs[i].pid > 0)
					kill(runs[i].pid, SIGKILL);
			end = now_s() + 5;
		}
		poll(NULL, 0, 20);
	}
}

/* The module through netlink, or the simulator in this process. */
struct backend {
	struct vanity_nl *nl;
	struct vanity_sim *sim;
};

static int be_get(struct backend *b, struct vanity_status *st)
{
	return b->sim ? vanity_sim_status(b->sim, st) : vanity_nl_get(b->nl, st);
}

/* Sleep up to @ms; the simulator serves its shards meanwhile. */
static void be_wait(struct backend *b, int ms)
{
	if (b->sim)
		vanity_sim_poll(b->sim, ms);
	else
		poll(NULL, 0, ms);
}

static int be_up(struct backend *b, const char *backend, const void *img,
		 size_t len)
{
	char msg[256] = "";
	int ret;

	if (!strcmp(backend, "hosted")) {
		ret = vanity_sim_start(&b->sim, img, len, msg, sizeof(msg));
		if (ret) {
			fprintf(stderr, "vanityctl: run: up: %s (%s)\n", msg,
				strerror(-ret));
			return 1;
		}
		/* The shards' programs find the simulator here. */
		setenv(VANITY_SOCKET_ENV, vanity_sim_socket(b->sim), 1);
		setenv("VANITY_BACKEND", "hosted", 1);
		return 0;
	}
	ret = vanity_nl_open(&b->nl);
	if (ret) {
		fprintf(stderr, "vanityctl: run: %s\n", ret == -ENODEV ?
			"the vanity module is not loaded" : strerror(-ret));
		return 1;
	}
	setenv("VANITY_BACKEND", "module", 1);
	ret = vanity_nl_up(b->nl, img, len);
	if (ret) {
		fprintf(stderr, "vanityctl: run: up: %s (%s)\n",
			vanity_nl_msg(b->nl), strerror(-ret));
		return 1;
	}
	return 0;
}

static int be_down(struct backend *b)
{
	int ret = 0;

	if (b->sim) {
		vanity_sim_stop(b->sim);
		b->sim = NULL;
	} else if (b->nl) {
		ret = vanity_nl_down(b->nl, true);
		if (ret)
			fprintf(stderr, "vanityctl: run: down: %s (%s)\n",
				vanity_nl_msg(b->nl), strerror(-ret));
	}
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vanityctl run MANIFEST [--duration S] [--backend module|hosted] [-j]\n\n"
		"Build MANIFEST, bring the system up, start each shard's program with\n"
		"VANITY_SHARD set (as the shard's user), supervise them (restart = on-failure\n"
		"restarts a failed one, at most %d times in %d s), show status every second\n"
		"(a table on a terminal, JSON lines otherwise or with -j), and on Ctrl-C,\n"
		"--duration or all programs exiting, stop them, take the system down and\n"
		"print a summary. Exit 0 when every program exited 0 or was stopped by run.\n",
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
	struct vanity_status *st = NULL, *prev = NULL;
	struct shard_run runs[VANITY_MAX_SHARDS];
	double duration = 0, start_t, last_show = 0;
	const struct vanity_image_hdr *h;
	bool json = false, tty = isatty(STDOUT_FILENO), failed = false;
	const char *backend = NULL;
	struct vanity_imgw *w = NULL;
	struct backend be = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	void *img = NULL;
	unsigned int i, n;
	size_t len;
	int c, ret = 1, status;
	pid_t pid;

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
	if (!backend)
		backend = getenv("VANITY_BACKEND");
	if (!backend)
		backend = access("/dev/vanity", F_OK) == 0 ? "module" : "hosted";
	if (strcmp(backend, "module") && strcmp(backend, "hosted")) {
		fprintf(stderr, "vanityctl: run: unknown backend '%s' (module or hosted)\n",
			backend);
		return 1;
	}

	w = malloc(sizeof(*w));
	st = calloc(1, sizeof(*st));
	prev = calloc(1, sizeof(*prev));
	if (!w || !st || !prev)
		goto out;
	if (vanity_manifest_load(argv[optind], w, stderr) ||
	    vanity_imgw_finish(w, &img, &len))
		goto out;
	h = vanity_image_hdr(img);
	n = h->shard_count;
	ret = be_up(&be, backend, img, len);
	if (ret)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(runs, 0, sizeof(runs));
	for (i = 0; i < n; i++) {
		runs[i].d = vanity_image_shard(img, i);
		runs[i].program = vanity_image_str(img, runs[i].d->program);
		if (!runs[i].program)
			continue;
		runs[i].pid = start(&runs[i]);
		runs[i].state = runs[i].pid > 0 ? S_RUNNING : S_FAILED;
	}
	start_t = now_s();
	be_get(&be, prev);
	for (;;) {
		unsigned int running = 0;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (runs[i].pid == pid)
					reaped(&runs[i], status, json);
		for (i = 0; i < n; i++)
			running += runs[i].pid > 0;
		if (!running || stop_requested ||
		    (duration && now_s() - start_t >= duration))
			break;
		if (now_s() - last_show >= 1.0 && !be_get(&be, st)) {
			show(runs, n, st, prev, last_show ? now_s() - last_show : 0,
			     json, tty);
			memcpy(prev, st, sizeof(*st));
			last_show = now_s();
		}
		be_wait(&be, 50);
	}
	stop_all(runs, n, json);
	if (be_get(&be, st))
		memset(st, 0, sizeof(*st));
	ret = be_down(&be);

	for (i = 0; i < n; i++)
		if (runs[i].state == S_FAILED || runs[i].state == S_GAVE_UP)
			failed = true;
	if (json) {
		printf("{\"event\":\"summary\",\"seconds\":%.1f,\"ok\":%s,\"shards\":[",
		       now_s() - start_t, failed || ret ? "false" : "true");
		for (i = 0; i < n; i++) {
			char why[64] = "";

			if (runs[i].state != S_NONE)
				describe(runs[i].status, why, sizeof(why));
			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\",\"restarts\":%u}",
			       i ? "," : "", runs[i].d->name,
			       state_names[runs[i].state], why, runs[i].restarts);
		}
		printf("],\"channels\":[");
		for (i = 0; i < st->nchannels; i++)
			printf("%s{\"name\":\"%s\",\"sent\":%llu,\"received\":%llu,\"used\":%u}",
			       i ? "," : "", st->channels[i].name,
			       (unsigned long long)st->channels[i].sent,
			       (unsigned long long)st->channels[i].received,
			       st->channels[i].head - st->channels[i].tail);
		printf("]}\n");
	} else {
		printf("\nsummary after %.1f s:\n", now_s() - start_t);
		for (i = 0; i < n; i++) {
			char why[64] = "-";

			if (runs[i].state != S_NONE)
				describe(runs[i].status, why, sizeof(why));
			printf("  shard %-20s %-10s %-24s restarts %u\n",
			       runs[i].d->name, state_names[runs[i].state], why,
			       runs[i].restarts);
		}
		for (i = 0; i < st->nchannels; i++)
			printf("  channel %-18s sent %llu, received %llu, left %u\n",
			       st->channels[i].name,
			       (unsigned long long)st->channels[i].sent,
			       (unsigned long long)st->channels[i].received,
			       st->channels[i].head - st->channels[i].tail);
	}
	ret = failed || ret ? 1 : 0;
out:
	if (be.sim)
		vanity_sim_stop(be.sim);
	vanity_nl_close(be.nl);
	free(img);
	free(w);
	free(st);
	free(prev);
	return ret;
}
