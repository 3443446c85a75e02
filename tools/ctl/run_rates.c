// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run's rates: each shard's loop rate and idle share (from its
 * run page) and CPU use (from /proc), per status tick and over the run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

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

double vanity_run_idle_pct(uint64_t idle, uint64_t loops)
{
	return loops ? 100.0 * (double)(idle < loops ? idle : loops) /
		       (double)loops : 0;
}

void vanity_run_sample(struct vanity_run *r, double dt)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		struct vanity_run_shard *s = &r->shards[i];
		uint64_t dl, di;
		long long t;

		s->prev = s->ctrs;
		vanity_runpage_ctrs(&s->page, &s->ctrs);
		/* The shard wrote these: a counter going back counts nothing. */
		dl = s->ctrs.loops >= s->prev.loops ? s->ctrs.loops - s->prev.loops : 0;
		di = s->ctrs.idle >= s->prev.idle ? s->ctrs.idle - s->prev.idle : 0;
		s->loop_rate = dt > 0 ? (double)dl / dt : 0;
		s->idle_pct = vanity_run_idle_pct(di, dl);
		t = s->pid > 0 ? cpu_ticks(s->pid) : -1;
		s->cpu_pct = 0;
		if (t >= 0 && s->cpu_pid == s->pid && t >= s->cpu_ticks &&
		    dt > 0 && hz > 0)
			s->cpu_pct = 100.0 * (double)(t - s->cpu_ticks) / (double)hz / dt;
		s->cpu_ticks = t;
		s->cpu_pid = t >= 0 ? s->pid : 0;
	}
}

double vanity_run_mean_rate(const struct vanity_run_shard *s)
{
	return s->ran_s > 0 ? (double)s->ctrs.loops / s->ran_s : 0;
}
