/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmarks that run inside the test VM (bench-ring, bench-irq)
 * share: the clock they time with, their way out on an error, and pinning
 * the calling thread. Each defines VM_BENCH_NAME, its prefix on stderr,
 * before including this.
 */
#ifndef VANITY_VM_BENCH_H
#define VANITY_VM_BENCH_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef VM_BENCH_NAME
#error "define VM_BENCH_NAME before including vm_bench.h"
#endif

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Say what failed (@err: an errno, either sign) and exit 1. */
static inline void die(const char *what, int err)
{
	fprintf(stderr, VM_BENCH_NAME ": %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* The calling thread onto CPU @c alone. */
static inline void pin(int c)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity", errno);
}

#endif
