// SPDX-License-Identifier: GPL-2.0
/* Harness helpers: calibration, pinning, the pair runner, statistics. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

double ns_per_tick = 1.0;
volatile int bench_abort;
long bench_preempted;

void ticks_calibrate(void)
{
	uint64_t n0, n1, t0, t1;

	n0 = now_ns();
	t0 = ticks();
	do
		n1 = now_ns();
	while (n1 - n0 < 50000000);	/* 50 ms */
	t1 = ticks();
	ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
}

int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

bool gate_pass(struct gate *g)
{
	struct spin s;

	__atomic_add_fetch(&g->count, 1, __ATOMIC_SEQ_CST);
	spin_init(&s, g->deadline);
	while (__atomic_load_n(&g->count, __ATOMIC_ACQUIRE) < 2)
		if (!spin_ok(&s))
			return false;
	return true;
}

struct pair_arg {
	void (*fn)(void *);
	void *arg;
	long nivcsw;		/* involuntary context switches meanwhile */
};

static void *pair_main(void *p)
{
	struct pair_arg *pa = p;
	struct rusage a, b;

	getrusage(RUSAGE_THREAD, &a);
	pa->fn(pa->arg);
	getrusage(RUSAGE_THREAD, &b);
	pa->nivcsw = b.ru_nivcsw - a.ru_nivcsw;
	return NULL;
}

int run_pair(void (*a)(void *), void (*b)(void *), void *arg)
{
	struct pair_arg pa[2] = { { a, arg, 0 }, { b, arg, 0 } };
	pthread_t th[2];
	int i, ret = 0, started = 0;

	for (i = 0; i < 2; i++) {
		pthread_attr_t attr;
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(i, &set);
		pthread_attr_init(&attr);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		ret = -pthread_create(&th[i], &attr, pair_main, &pa[i]);
		pthread_attr_destroy(&attr);
		if (ret) {
			/* The started one gives up at its gate deadline. */
			bench_abort = 1;
			break;
		}
		started++;
	}
	bench_preempted = 0;
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bench_preempted += pa[i].nivcsw;
	}
	return ret;
}

void *bench_zalloc(size_t n)
{
	size_t sz = (n + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, sz);

	if (p)
		memset(p, 0, sz);
	return p;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t pct(const uint64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(q * (double)n);
	return v[i >= n ? n - 1 : i];
}

uint64_t *lat_pool;
size_t lat_pool_n, lat_pool_cap;

void lat_from_ticks(struct lat *l, uint64_t *samples, size_t n)
{
	size_t i;

	for (i = 0; lat_pool && i < n && lat_pool_n < lat_pool_cap; i++)
		lat_pool[lat_pool_n++] = samples[i];
	sort_u64(samples, n);
	l->n = n;
	l->p50 = ticks_to_ns(pct(samples, n, 0.50));
	l->p99 = ticks_to_ns(pct(samples, n, 0.99));
	l->p999 = ticks_to_ns(pct(samples, n, 0.999));
	l->ok = n > 0;
}

void tp_ctl_init(struct tp_ctl *c, const struct tp_case *tc)
{
	memset(c, 0, sizeof(*c));
	gate_init(&c->gate, tc->deadline);
	bench_abort = 0;
}
