/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vanityctl run's state, shared by its files: cmd_run.c (options and the
 * loop), run_supervise.c (the processes), run_logs.c (their log rings),
 * run_rates.c (loop rate, idle and CPU), run_table.c (what is printed).
 */
#ifndef VANITY_CTL_RUN_H
#define VANITY_CTL_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "image.h"
#include "nl.h"
#include "runlog.h"

#define RESTART_MAX 5		/* within RESTART_WINDOW_S, then give up */
#define RESTART_WINDOW_S 10
#define RECENT_LINES 8		/* log lines under the live table */
#define RECENT_COLS 160

enum vanity_run_state {
	VANITY_RUN_NONE, VANITY_RUN_RUNNING, VANITY_RUN_EXITED,
	VANITY_RUN_FAILED, VANITY_RUN_STOPPED, VANITY_RUN_GAVE_UP,
	VANITY_RUN_STATES
};

/* "no-program", "running", ...: the table's and the JSON's words. */
extern const char *const vanity_run_state_names[];

struct vanity_run_shard {
	const struct vanity_image_shard *d;
	const char *program;
	pid_t pid;
	enum vanity_run_state state;
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
struct vanity_run_out {
	bool json, tty;
	bool table;			/* the live table is on screen */
	double t0;			/* CLOCK_MONOTONIC seconds at start */
	/* The last log lines, shown under the table; @nlines ever added. */
	char recent[RECENT_LINES][RECENT_COLS];
	unsigned long long nlines, drawn;
};

struct vanity_run {
	struct vanity_run_shard shards[VANITY_MAX_SHARDS];
	unsigned int n;
	/*
	 * The manifest's folder, absolute and quoted for sh: a program
	 * written "./prog" or "../prog" names a file beside the manifest,
	 * wherever run is started from. NULL when it could not be found.
	 */
	char *dir_sh;
	struct vanity_run_out o;
};

static inline double vanity_run_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* run_supervise.c */
/* SIGINT and SIGTERM ask run to stop; whether one has. */
void vanity_run_catch_signals(void);
bool vanity_run_stop_requested(void);
/* @manifest's folder quoted for sh, malloc'd; NULL when not found. */
char *vanity_run_quote_dir(const char *manifest);
/* Each shard of @img with its run page, and its program started. */
void vanity_run_launch(struct vanity_run *r, const void *img);
/* Reap every program that ended, restarting those that may restart. */
void vanity_run_reap(struct vanity_run *r);
/* How many programs are running. */
unsigned int vanity_run_alive(const struct vanity_run *r);
/* SIGTERM every program, SIGKILL those still there after a grace. */
void vanity_run_stop_all(struct vanity_run *r);
/* A wait status in words: "exit 1", "killed by Terminated". */
void vanity_run_describe(int status, char *buf, size_t len);

/* run_logs.c */
/* Everything @s's program logged so far, and what could not be logged. */
void vanity_run_drain(struct vanity_run_shard *s, struct vanity_run_out *o);
void vanity_run_drain_all(struct vanity_run *r);

/* run_rates.c */
/* Loop rate, idle share and CPU use of every shard over the last @dt s. */
void vanity_run_sample(struct vanity_run *r, double dt);
/* Percent of @loops that were idle (a shard's word: clamped). */
double vanity_run_idle_pct(uint64_t idle, uint64_t loops);
/* Loops per second of the time its processes ran, over the whole run. */
double vanity_run_mean_rate(const struct vanity_run_shard *s);

/* run_table.c */
/* A text line for the terminal: under the table while it is drawn. */
void vanity_run_line(struct vanity_run_out *o, const char *line);
/* run's own remark: under the table while it is drawn, else stderr. */
void vanity_run_remark(struct vanity_run_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The live status: a table, or one JSON line. */
void vanity_run_show(struct vanity_run *r, const struct vanity_status *st,
		     const struct vanity_status *prev, double dt);
/* Lines added since the table was last drawn, printed as it goes away. */
void vanity_run_table_gone(struct vanity_run_out *o);
/* The last word: each shard's end and counters, each channel's. */
void vanity_run_summary(struct vanity_run *r, const struct vanity_status *st,
			double seconds, bool ok);

#endif
