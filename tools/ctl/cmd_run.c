// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run: build a manifest, bring the system up, start and
 * supervise every shard's program (restarting those marked on-failure),
 * drain each shard's log ring and read its loop counters (the run page,
 * runlog.c), show status, then stop the shards, take the system down and
 * summarise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
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
#include "cpulist.h"
#include "runlog.h"

#define RESTART_MAX 5		/* within RESTART_WINDOW_S, then give up */
#define RESTART_WINDOW_S 10
#define STOP_GRACE_MS 5000
#define RECENT_LINES 8		/* log lines under the live table */
#define RECENT_COLS 160

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
	/*
	 * The run page: made once, kept across restarts (the counters carry
	 * on, a dying process's last records are still drained); fd -1
	 * when it could not be made (the program then logs to stderr).
	 */
	struct vanity_runpage page;
	struct vanity_runctrs ctrs, prev;	/* at this and the last status */
	uint64_t dropped_seen, corrupt_seen;
	double loop_rate, idle_pct, cpu_pct;
	long long cpu_ticks;		/* of cpu_pid at the last status */
	pid_t cpu_pid;
	double started_t, ran_s;	/* the current process; all of them */
	char cpus[64];
};

/* Where output goes: JSON lines, or text (with the table on a terminal). */
struct out {
	bool json, tty;
	bool table;			/* the live table is on screen */
	double t0;			/* CLOCK_MONOTONIC seconds at start */
	/* The last log lines, shown under the table; @nlines ever added. */
	char recent[RECENT_LINES][RECENT_COLS];
	unsigned long long nlines, drawn;
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

/*
 * The manifest's folder, absolute and quoted for sh: a program written
 * "./prog" or "../prog" names a file beside the manifest, wherever run is
 * started from. NULL until cmd_run sets it.
 */
static char *manifest_dir_sh;

static char *quote_dir_of(const char *manifest)
{
	char *path = realpath(manifest, NULL), *slash, *q, *o;
	const char *i;

	if (!path)
		return NULL;
	slash = strrchr(path, '/');
	slash[slash == path] = '\0';	/* "/x.ini" keeps its "/" */
	q = malloc(strlen(path) * 4 + 3);
	if (q) {
		o = q;
		*o++ = '\'';
		for (i = path; *i; i++) {
			if (*i == '\'') {
				memcpy(o, "'\\''", 4);
				o += 4;
			} else {
				*o++ = *i;
			}
		}
		*o++ = '\'';
		*o = '\0';
	}
	free(path);
	return q;
}

/* @program with a leading ./ or ../ resolved against the manifest's folder. */
static char *resolve_program(const char *program)
{
	char *cmd;

	if (!manifest_dir_sh ||
	    (strncmp(program, "./", 2) && strncmp(program, "../", 3)))
		return strdup(program);
	cmd = malloc(strlen(manifest_dir_sh) + strlen(program) + 2);
	if (cmd)
		sprintf(cmd, "%s/%s", manifest_dir_sh, program);
	return cmd;
}

static pid_t start(struct shard_run *s)
{
	char *program;
	pid_t pid;
	int fd;

	/* A clean ring for the new process; the counters carry on. */
	vanity_runpage_restart(&s->page);
	s->started_t = now_s();
	s->cpu_pid = 0;
	pid = fork();
	if (pid)
		return pid;
	/* Child: the shard's name, its run page, its user, then the program. */
	setenv("VANITY_SHARD", s->d->name, 1);
	/* The page's own fd is close-on-exec; this copy is inherited. */
	fd = s->page.fd >= 0 ? fcntl(s->page.fd, F_DUPFD, 3) : -1;
	if (fd >= 0) {
		char num[16];

		snprintf(num, sizeof(num), "%d", fd);
		setenv(VANITY_RUN_FD_ENV, num, 1);
	} else {
		unsetenv(VANITY_RUN_FD_ENV);
	}
	/* A shard of the system's owner (no user named) has uid 0: stays ours. */
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
	program = resolve_program(s->program);
	if (!program) {
		fprintf(stderr, "vanityctl: run: %s: out of memory\n", s->d->name);
		_exit(127);
	}
	if (execable(s->program)) {
		char *cmd = malloc(strlen(program) + 6);

		if (cmd) {
			strcpy(cmd, "exec ");
			strcat(cmd, program);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		}
	}
	execl("/bin/sh", "sh", "-c", program, (char *)NULL);
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

/* A text line for the terminal: under the table while it is drawn. */
static void text_line(struct out *o, const char *line)
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

/* Lines added since the table was last drawn, printed as it goes away. */
static void table_gone(struct out *o)
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

struct log_ctx {
	struct out *o;
	const char *shard;
};

/* One drained record: run's attribution first, then the shard's text. */
static void log_record(void *ctx, const struct vanity_logline *l)
{
	const struct log_ctx *c = ctx;
	const char *level = vanity_log_level_name(l->level);
	struct out *o = c->o;

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
			text_line(o, line);
			if (!nl)
				break;
			p = nl + 1;
		}
	}
}

/* Everything @s's program logged so far, and what could not be logged. */
static void drain(struct shard_run *s, struct out *o)
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
			text_line(o, line);
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
			text_line(o, line);
		}
	}
	fflush(stdout);
}

static void drain_all(struct shard_run *runs, unsigned int n, struct out *o)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		drain(&runs[i], o);
}

/* utime + stime of @pid in clock ticks, or -1. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	/* After the command name, which may hold anything but ends at the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* Loop rate, idle share and CPU use of every shard over the last @dt s. */
static void sample(struct shard_run *runs, unsigned int n, double dt)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct shard_run *s = &runs[i];
		uint64_t dl, di;
		long long t;

		s->prev = s->ctrs;
		vanity_runpage_ctrs(&s->page, &s->ctrs);
		/* The shard wrote these: a counter going back counts nothing. */
		dl = s->ctrs.loops >= s->prev.loops ? s->ctrs.loops - s->prev.loops : 0;
		di = s->ctrs.idle >= s->prev.idle ? s->ctrs.idle - s->prev.idle : 0;
		s->loop_rate = dt > 0 ? (double)dl / dt : 0;
		s->idle_pct = dl ? 100.0 * (double)(di < dl ? di : dl) / (double)dl : 0;
		t = s->pid > 0 ? cpu_ticks(s->pid) : -1;
		s->cpu_pct = 0;
		if (t >= 0 && s->cpu_pid == s->pid && t >= s->cpu_ticks &&
		    dt > 0 && hz > 0)
			s->cpu_pct = 100.0 * (double)(t - s->cpu_ticks) / (double)hz / dt;
		s->cpu_ticks = t;
		s->cpu_pid = t >= 0 ? s->pid : 0;
	}
}

/* run's own remark on a terminal: under the table while it is drawn. */
static void remark(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void remark(struct out *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (o->table)
		text_line(o, line);
	else
		fprintf(stderr, "%s\n", line);
}

static void reaped(struct shard_run *s, int status, struct out *o)
{
	bool json = o->json;
	char why[64];
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	s->status = status;
	s->pid = 0;
	s->ran_s += now_s() - s->started_t;
	describe(status, why, sizeof(why));
	/* Its last words before the verdict (and before a new process). */
	drain(s, o);
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
			remark(o, "vanityctl: run: %s: %s, restarted (%u)",
			       s->d->name, why, s->restarts);
		fflush(stdout);
		return;
	} else {
		s->state = s->d->flags & VANITY_SHARD_F_RESTART && !stop_requested ?
			   S_GAVE_UP : S_FAILED;
	}
	if (json)
		printf("{\"event\":\"%s\",\"shard\":\"%s\",\"reason\":\"%s\"}\n",
		       state_names[s->state], s->d->name, why);
	else
		remark(o, "vanityctl: run: %s: %s (%s)", s->d->name,
		       state_names[s->state], why);
	fflush(stdout);
}

static void show(struct shard_run *runs, unsigned int n,
		 const struct vanity_status *st, const struct vanity_status *prev,
		 double dt, struct out *o)
{
	unsigned int i;

	if (o->json) {
		printf("{\"event\":\"status\",\"shards\":[");
		for (i = 0; i < n; i++) {
			const struct shard_run *s = &runs[i];

			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"attached\":%s,\"restarts\":%u,\"submitted\":%llu"
			       ",\"cpus\":\"%s\",\"cpu_pct\":%.1f,\"loops\":%llu,\"loops_per_s\":%.0f,\"idle_pct\":%.1f,\"log_dropped\":%llu}",
			       i ? "," : "", s->d->name, state_names[s->state],
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
			double rate = dt > 0 ? (c->received - prev->channels[i].received) / dt : 0;

			printf("%s{\"name\":\"%s\",\"used\":%u,\"slots\":%u,\"received\":%llu,\"msgs_per_s\":%.0f}",
			       i ? "," : "", c->name, c->head - c->tail, c->slots,
			       (unsigned long long)c->received, rate);
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	if (o->tty)
		printf("\033[H\033[J");
	printf("system %s\n\n%-20s %-10s %-8s %8s %9s %8s %6s %12s %6s\n",
	       st->name, "SHARD", "STATE", "CPUS", "PID", "RESTARTS",
	       "ATTACHED", "CPU%", "LOOPS/S", "IDLE%");
	for (i = 0; i < n; i++) {
		const struct shard_run *s = &runs[i];

		printf("%-20s %-10s %-8s %8d %9u %8s %6.1f %12.0f %6.1f\n",
		       s->d->name, state_names[s->state], s->cpus, (int)s->pid,
		       s->restarts, st->shards[i].pid ? "yes" : "no",
		       s->cpu_pct, s->loop_rate, s->idle_pct);
	}
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
	fflush(stdout);
}

static void stop_all(struct shard_run *runs, unsigned int n, struct out *o)
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
					reaped(&runs[i], status, o);
		for (i = 0, left = 0; i < n; i++)
			left += runs[i].pid > 0;
		if (!left)
			return;
		/* Whatever they say on the way out, before their rings fill. */
		drain_all(runs, n, o);
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

/* Loops per second of the time its processes ran, over the whole run. */
static double mean_rate(const struct shard_run *s)
{
	return s->ran_s > 0 ? (double)s->ctrs.loops / s->ran_s : 0;
}

static double idle_share(const struct shard_run *s)
{
	const struct vanity_runctrs *c = &s->ctrs;

	return c->loops ? 100.0 * (double)(c->idle < c->loops ? c->idle : c->loops) /
			  (double)c->loops : 0;
}

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
	struct vanity_status *st = NULL, *prev = NULL;
	static struct shard_run runs[VANITY_MAX_SHARDS];
	static struct out o;
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

	memset(runs, 0, sizeof(runs));
	for (i = 0; i < VANITY_MAX_SHARDS; i++)
		runs[i].page.fd = -1;
	memset(&o, 0, sizeof(o));
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
	/*
	 * On the simulator anyone may run a system, so a shard whose program
	 * would have to run as someone else is refused before anything
	 * starts. Under the module, UP itself is root's to allow.
	 */
	/* A manifest that cannot be found is the loader's to report. */
	manifest_dir_sh = quote_dir_of(argv[optind]);
	if (vanity_manifest_load_run(argv[optind], w, stderr,
				     strcmp(backend, "hosted") ? VANITY_RUNNER_ANY :
				     (uint32_t)geteuid()) ||
	    vanity_imgw_finish(w, &img, &len))
		goto out;
	h = vanity_image_hdr(img);
	n = h->shard_count;
	ret = be_up(&be, backend, img, len);
	if (ret)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.json = json;
	o.tty = tty;
	o.table = tty && !json;	/* lines before the first draw go under it */
	o.t0 = now_s();
	for (i = 0; i < n; i++) {
		struct shard_run *s = &runs[i];
		int err;

		s->d = vanity_image_shard(img, i);
		s->program = vanity_image_str(img, s->d->program);
		vanity_cpulist_format((const u64 *)s->d->cpus, s->cpus,
				      sizeof(s->cpus));
		if (!s->program)
			continue;
		err = vanity_runpage_create(&s->page, s->d->name,
					    VANITY_LOG_RING_DEFAULT);
		if (err)
			fprintf(stderr, "vanityctl: run: %s: no log ring (%s): its logs go to stderr\n",
				s->d->name, strerror(-err));
		s->pid = start(s);
		s->state = s->pid > 0 ? S_RUNNING : S_FAILED;
	}
	start_t = now_s();
	be_get(&be, prev);
	for (;;) {
		unsigned int running = 0;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (runs[i].pid == pid)
					reaped(&runs[i], status, &o);
		drain_all(runs, n, &o);
		for (i = 0; i < n; i++)
			running += runs[i].pid > 0;
		if (!running || stop_requested ||
		    (duration && now_s() - start_t >= duration))
			break;
		if (now_s() - last_show >= 1.0 && !be_get(&be, st)) {
			double dt = last_show ? now_s() - last_show : 0;

			sample(runs, n, dt);
			show(runs, n, st, prev, dt, &o);
			memcpy(prev, st, sizeof(*st));
			last_show = now_s();
		}
		be_wait(&be, 50);
	}
	stop_all(runs, n, &o);
	drain_all(runs, n, &o);
	table_gone(&o);
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
			vanity_runpage_ctrs(&runs[i].page, &runs[i].ctrs);
			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\",\"restarts\":%u"
			       ",\"loops\":%llu,\"loops_per_s\":%.0f,\"idle_pct\":%.1f,\"log_dropped\":%llu}",
			       i ? "," : "", runs[i].d->name,
			       state_names[runs[i].state], why, runs[i].restarts,
			       (unsigned long long)runs[i].ctrs.loops,
			       mean_rate(&runs[i]), idle_share(&runs[i]),
			       (unsigned long long)runs[i].ctrs.dropped);
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
			vanity_runpage_ctrs(&runs[i].page, &runs[i].ctrs);
			printf("  shard %-20s %-10s %-24s restarts %u, loops %llu (%.0f/s, %.1f%% idle)\n",
			       runs[i].d->name, state_names[runs[i].state], why,
			       runs[i].restarts,
			       (unsigned long long)runs[i].ctrs.loops,
			       mean_rate(&runs[i]), idle_share(&runs[i]));
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
	for (i = 0; i < VANITY_MAX_SHARDS; i++)
		vanity_runpage_destroy(&runs[i].page);
	if (be.sim)
		vanity_sim_stop(be.sim);
	vanity_nl_close(be.nl);
	free(img);
	free(w);
	free(st);
	free(prev);
	free(manifest_dir_sh);
	manifest_dir_sh = NULL;
	return ret;
}
