// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run's processes: start each shard's program as its user,
 * reap it, restart it when it may (restart = on-failure), stop them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpulist.h"
#include "run.h"

#define STOP_GRACE_MS 5000

const char *const vanity_run_state_names[] = {
	[VANITY_RUN_NONE] = "no-program", [VANITY_RUN_RUNNING] = "running",
	[VANITY_RUN_EXITED] = "exited", [VANITY_RUN_FAILED] = "failed",
	[VANITY_RUN_STOPPED] = "stopped", [VANITY_RUN_GAVE_UP] = "gave-up",
};

_Static_assert(sizeof(vanity_run_state_names) /
	       sizeof(vanity_run_state_names[0]) == VANITY_RUN_STATES,
	       "a name for every state");

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void vanity_run_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool vanity_run_stop_requested(void)
{
	return stop_requested;
}

void vanity_run_describe(int status, char *buf, size_t len)
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

char *vanity_run_quote_dir(const char *manifest)
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
static char *resolve_program(const char *dir_sh, const char *program)
{
	char *cmd;

	if (!dir_sh || (strncmp(program, "./", 2) && strncmp(program, "../", 3)))
		return strdup(program);
	cmd = malloc(strlen(dir_sh) + strlen(program) + 2);
	if (cmd)
		sprintf(cmd, "%s/%s", dir_sh, program);
	return cmd;
}

static pid_t start(const struct vanity_run *r, struct vanity_run_shard *s)
{
	char *program;
	pid_t pid;
	int fd;

	/* A clean ring for the new process; the counters carry on. */
	vanity_runpage_restart(&s->page);
	s->started_t = vanity_run_now();
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
	program = resolve_program(r->dir_sh, s->program);
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

void vanity_run_launch(struct vanity_run *r, const void *img)
{
	unsigned int i;

	r->n = vanity_image_hdr(img)->shard_count;
	for (i = 0; i < r->n; i++) {
		struct vanity_run_shard *s = &r->shards[i];
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
		s->pid = start(r, s);
		s->state = s->pid > 0 ? VANITY_RUN_RUNNING : VANITY_RUN_FAILED;
	}
}

/* Whether @s may restart now: at most RESTART_MAX in the window. */
static bool may_restart(struct vanity_run_shard *s)
{
	double t = vanity_run_now();
	unsigned int i, recent = 0;

	for (i = 0; i < RESTART_MAX && i < s->restarts; i++)
		if (t - s->restart_times[i] < RESTART_WINDOW_S)
			recent++;
	if (recent >= RESTART_MAX)
		return false;
	s->restart_times[s->restarts % RESTART_MAX] = t;
	return true;
}

static void reaped(struct vanity_run *r, struct vanity_run_shard *s, int status)
{
	struct vanity_run_out *o = &r->o;
	bool json = o->json;
	char why[64];
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	s->status = status;
	s->pid = 0;
	s->ran_s += vanity_run_now() - s->started_t;
	vanity_run_describe(status, why, sizeof(why));
	/* Its last words before the verdict (and before a new process). */
	vanity_run_drain(s, o);
	if (s->stopping) {
		s->state = VANITY_RUN_STOPPED;
	} else if (ok) {
		s->state = VANITY_RUN_EXITED;
	} else if (s->d->flags & VANITY_SHARD_F_RESTART && !stop_requested &&
		   may_restart(s)) {
		s->restarts++;
		s->pid = start(r, s);
		s->state = s->pid > 0 ? VANITY_RUN_RUNNING : VANITY_RUN_FAILED;
		if (json)
			printf("{\"event\":\"restart\",\"shard\":\"%s\",\"reason\":\"%s\",\"restarts\":%u}\n",
			       s->d->name, why, s->restarts);
		else
			vanity_run_remark(o, "vanityctl: run: %s: %s, restarted (%u)",
					  s->d->name, why, s->restarts);
		fflush(stdout);
		return;
	} else {
		s->state = s->d->flags & VANITY_SHARD_F_RESTART && !stop_requested ?
			   VANITY_RUN_GAVE_UP : VANITY_RUN_FAILED;
	}
	if (json)
		printf("{\"event\":\"%s\",\"shard\":\"%s\",\"reason\":\"%s\"}\n",
		       vanity_run_state_names[s->state], s->d->name, why);
	else
		vanity_run_remark(o, "vanityctl: run: %s: %s (%s)", s->d->name,
				  vanity_run_state_names[s->state], why);
	fflush(stdout);
}

void vanity_run_reap(struct vanity_run *r)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < r->n; i++)
			if (r->shards[i].pid == pid)
				reaped(r, &r->shards[i], status);
}

unsigned int vanity_run_alive(const struct vanity_run *r)
{
	unsigned int i, alive = 0;

	for (i = 0; i < r->n; i++)
		alive += r->shards[i].pid > 0;
	return alive;
}

void vanity_run_stop_all(struct vanity_run *r)
{
	double end = vanity_run_now() + STOP_GRACE_MS / 1000.0;
	unsigned int i;

	for (i = 0; i < r->n; i++)
		if (r->shards[i].pid > 0) {
			r->shards[i].stopping = true;
			kill(r->shards[i].pid, SIGTERM);
		}
	for (;;) {
		vanity_run_reap(r);
		if (!vanity_run_alive(r))
			return;
		/* Whatever they say on the way out, before their rings fill. */
		vanity_run_drain_all(r);
		if (vanity_run_now() > end) {
			for (i = 0; i < r->n; i++)
				if (r->shards[i].pid > 0)
					kill(r->shards[i].pid, SIGKILL);
			end = vanity_run_now() + 5;
		}
		poll(NULL, 0, 20);
	}
}
