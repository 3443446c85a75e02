/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channel benchmark harness: timing, CPU pinning, a two-thread runner with
 * a start gate, bounded spinning, percentiles, and the entry points of each
 * peer. Every measured loop is bounded by a message count and a deadline;
 * a run that hits its deadline is reported as capped, never waited on.
 */
#ifndef VANITY_BENCH_H
#define VANITY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vanity/arch.h>

#define BENCH_SLOTS	1024	/* ring depth of every queue peer */
#define BENCH_MAX_BURST	32
#define BENCH_MAX_SIZE	64
#define BENCH_LINE	128	/* keep shared control words apart */

/* ------------------------------------------------------------ timing */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The architecture's counter and spin hint, as libvanity uses them. */
static inline uint64_t ticks(void)
{
	return vanity_cycles();
}
static inline void bench_relax(void)
{
	vanity_cpu_relax();
}

extern double ns_per_tick;	/* set by ticks_calibrate() */
void ticks_calibrate(void);
static inline uint64_t ticks_to_ns(uint64_t t)
{
	return (uint64_t)((double)t * ns_per_tick + 0.5);
}

/* ------------------------------------------------------- bounded spin */
/* Set when any thread gives up: the other one stops at its next check. */
extern volatile int bench_abort;

struct spin {
	uint32_t n;
	uint64_t deadline;	/* CLOCK_MONOTONIC ns */
};

static inline void spin_init(struct spin *s, uint64_t deadline)
{
	s->n = 0;
	s->deadline = deadline;
}

/* One relax step; false once the deadline passed or the run aborted. */
static inline bool spin_ok(struct spin *s)
{
	bench_relax();
	if (++s->n & 0x3fff)
		return true;
	if (bench_abort)
		return false;
	if (now_ns() >= s->deadline) {
		bench_abort = 1;
		return false;
	}
	return true;
}

/* The same check for loops that block in the kernel rather than spin. */
static inline bool still_ok(uint64_t deadline)
{
	if (bench_abort)
		return false;
	if (now_ns() >= deadline) {
		bench_abort = 1;
		return false;
	}
	return true;
}

/* Busy-wait @ns (a message gap) on this CPU. */
static inline void busy_wait_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		bench_relax();
}

/* ------------------------------------------------- two-thread runner */
/* Both threads call gate_pass() first so that neither starts early. */
struct gate {
	_Alignas(BENCH_LINE) volatile uint32_t count;
	uint64_t deadline;
};

static inline void gate_init(struct gate *g, uint64_t deadline)
{
	g->count = 0;
	g->deadline = deadline;
}

bool gate_pass(struct gate *g);

/*
 * Run @a on CPU 0 and @b on CPU 1 and wait for both (the main thread
 * sleeps meanwhile). 0, or -errno when a thread could not start.
 */
int run_pair(void (*a)(void *), void (*b)(void *), void *arg);
/* Involuntary context switches of the last run_pair's two threads: other
 * processes took the CPU meanwhile, so the run measured them too. */
extern long bench_preempted;
int pin_self(int cpu);

/* Aligned, zeroed, never-shared-with-anything-else allocation. */
void *bench_zalloc(size_t n);

/* --------------------------------------------------------- statistics */
void sort_u64(uint64_t *v, size_t n);
/* Percentile of sorted @v, q in [0, 1]. */
uint64_t pct(const uint64_t *v, size_t n, double q);

struct lat {
	uint64_t p50, p99, p999;
	size_t n;
	int ok;			/* 0: not measured or failed */
};
/* Sort tick samples and fill @l in ns; also append them to lat_pool
 * (when set, up to lat_pool_cap) so rounds can be pooled. */
void lat_from_ticks(struct lat *l, uint64_t *samples, size_t n);
extern uint64_t *lat_pool;
extern size_t lat_pool_n, lat_pool_cap;

/* ------------------------------------------------------------- cases */
struct tp_case {
	uint32_t size;		/* bytes per message: 8 or 64 */
	uint32_t burst;		/* messages per call */
	uint64_t n;		/* messages to move */
	uint64_t deadline;	/* CLOCK_MONOTONIC ns: give up after */
};

struct tp_result {
	uint64_t moved;		/* messages received */
	uint64_t ns;		/* first send to last receive */
	uint64_t errors;	/* messages out of order or corrupt */
	int capped;		/* the deadline stopped it */
	int failed;		/* could not run */
};

/* Shared by throughput runs: stop protocol when a producer gives up. */
struct tp_ctl {
	struct gate gate;
	_Alignas(BENCH_LINE) volatile uint64_t t0;
	_Alignas(BENCH_LINE) volatile uint64_t total;	/* final count, once done */
	volatile int done;
	_Alignas(BENCH_LINE) volatile uint64_t got;	/* consumer progress */
	_Alignas(BENCH_LINE) char pad[BENCH_LINE];
};

void tp_ctl_init(struct tp_ctl *c, const struct tp_case *tc);

/* Producer side: stamp message i of a burst with its sequence number. */
static inline void stamp(void *buf, uint32_t size, unsigned int n,
			 uint64_t first)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		*(uint64_t *)((char *)buf + (size_t)i * size) = first + i;
}

/* Consumer side: count messages whose stamp is not the expected one. */
static inline uint64_t check(const void *buf, uint32_t size, unsigned int n,
			     uint64_t first)
{
	uint64_t bad = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		bad += *(const uint64_t *)((const char *)buf + (size_t)i * size) !=
		       first + i;
	return bad;
}

/* Wakeup cases: sender waits @gap_ns after each acknowledged message. */
struct wake_case {
	uint64_t gap_ns;
	size_t n;		/* samples */
	uint64_t deadline;
	uint32_t spin_ns;	/* Vanity only: receiver spin budget */
};

/* ------------------------------------------------------------- peers */
/* Each returns 0, or -1 with the reason in res->failed / lat->ok. */
int vanity_tp(const struct tp_case *tc, struct tp_result *res);
int vanity_tp_zc(const struct tp_case *tc, struct tp_result *res);
int vanity_rt(size_t n, uint64_t deadline, struct lat *out);
int vanity_wake(const struct wake_case *wc, struct lat *out);
int vanity_bell_setup(void);	/* membarrier registration */
/* One membarrier(PRIVATE_EXPEDITED) with the peer thread busy. */
int membarrier_cost(size_t n, uint64_t deadline, struct lat *out);

int dpdk_setup(int quiet);	/* EAL; 0 or -1 (peer then skipped) */
const char *dpdk_mode(void);
int dpdk_tp(const struct tp_case *tc, struct tp_result *res);
int dpdk_rt(size_t n, uint64_t deadline, struct lat *out);

int uring_tp(const struct tp_case *tc, struct tp_result *res);
int uring_rt(size_t n, uint64_t deadline, struct lat *out);

int pipe_tp(const struct tp_case *tc, struct tp_result *res);
int pipe_rt(size_t n, uint64_t deadline, struct lat *out);

int evfd_tp(const struct tp_case *tc, struct tp_result *res);
int evfd_rt(size_t n, uint64_t deadline, struct lat *out);
int evfd_wake(const struct wake_case *wc, struct lat *out);

int futex_wake_lat(const struct wake_case *wc, struct lat *out);

int floor_rt(size_t n, uint64_t deadline, struct lat *out);
int floor2_rt(size_t n, uint64_t deadline, struct lat *out);

/* Experiments (tests/bench/exp_*.c): variants of the channel protocol. */
struct exp_variant {
	const char *name;
	const char *what;
	int (*tp)(const struct tp_case *tc, struct tp_result *res);
	int (*rt)(size_t n, uint64_t deadline, struct lat *out);
};
extern const struct exp_variant exp_variants[];
extern const size_t exp_variant_count;

#endif
