/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pipeline benchmark's shared declarations: a run's configuration and
 * result, the transport ("port") the threaded builds run their stages
 * over, and the three builds (Vanity shards, rte_ring threads, pipe
 * threads).
 */
#ifndef BENCH_PIPELINE_BP_H
#define BENCH_PIPELINE_BP_H

#include <stdint.h>
#include <time.h>

#include "lpm.h"

#define BP_SLOT_SIZE	128	/* bytes per slot, as the Vanity channels */
#define BP_SLOTS	1024	/* slots per queue, as the Vanity channels */
#define BP_MAX_BURST	256
#define BP_SPIN_NS	10000	/* idle spin before yielding, as the examples */
#define BP_GRACE_NS	(20 * 1000000000ULL)	/* past the traffic: give up */

enum { BP_GEN, BP_PARSE, BP_ROUTE, BP_SINK, BP_NSTAGES };

struct bp_cfg {
	double seconds;			/* of traffic */
	double rate;			/* frames/s; 0: full speed */
	unsigned int burst, flows, size, warmup_ms;
	int cpu[BP_NSTAGES];		/* per stage */
	const char *routes;		/* prefix file */
	const struct lpm *lpm;		/* the same table, for the threads */
	const char *backend;		/* vanityctl run --backend, or NULL */
	const char *dir;		/* scratch files */
};

struct bp_result {
	int ran;			/* a number came out */
	int ok;				/* and every frame is accounted for */
	char note[200];			/* why not, or what to know */
	uint64_t generated, delivered, dropped, lost, dup, csum_err;
	double gen_mpps;		/* offered, at gen */
	double mpps;			/* at the sink */
	uint64_t p50, p99, p999, max;	/* one-way latency, ns */
	uint64_t lat_n;			/* frames in the latency figures */
};

/* ------------------------------------------------------------ ports */
/*
 * One queue between two stages, driven like a Vanity channel: the
 * producer reserves slots, writes them and commits; the consumer peeks,
 * reads in place and releases. A reservation or a peek that is not
 * committed or released in full is dropped by the next one.
 */
struct bp_port {
	const struct bp_port_ops *ops;
	unsigned int slot_size;		/* bytes a slot holds */
	const volatile int *abort;	/* set: every wait gives up */
};

struct bp_port_ops {
	const char *name;
	int (*open)(struct bp_port **out, unsigned int slot_size,
		    unsigned int slots, const volatile int *abort);
	void (*close)(struct bp_port *p);
	/* Producer: up to @n free slots, their addresses in @slots. */
	unsigned int (*reserve)(struct bp_port *p, unsigned int n, void **slots);
	/* Producer: publish the first @n reserved slots (may block). */
	void (*commit)(struct bp_port *p, unsigned int n);
	/* Consumer: up to @n full slots, in order. */
	unsigned int (*peek)(struct bp_port *p, unsigned int n,
			     const void **slots);
	void (*release)(struct bp_port *p, unsigned int n);
	/* Nothing to read (space 0) or no room (1): wait a while; -1: give up. */
	int (*wait)(struct bp_port *p, int space);
	const char *(*describe)(void);
};

extern const struct bp_port_ops bp_ring_ops;	/* ring.c: DPDK rte_ring */
extern const struct bp_port_ops bp_pipe_ops;	/* pipe.c: pipe(2) */

static inline uint64_t bp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The four stages as threads over @ops, pinned as @c says. */
int bp_threads_run(const struct bp_port_ops *ops, const struct bp_cfg *c,
		   struct bp_result *r);

/* The four shard programs under `vanityctl run`. */
int bp_vanity_run(const struct bp_cfg *c, struct bp_result *r);

#endif
