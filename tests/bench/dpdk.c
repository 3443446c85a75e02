// SPDX-License-Identifier: GPL-2.0
/*
 * DPDK rte_ring, single producer / single consumer, element API with esize
 * 8 or 64: rte_ring_sp_enqueue_burst_elem / rte_ring_sc_dequeue_burst_elem.
 * EAL comes up once, without hugepages, PCI, telemetry or shared config;
 * if it cannot, the ring is laid out by rte_ring_init in plain memory,
 * which needs no EAL (the table says which).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench.h"

static int eal_up;
static int ring_seq;

int dpdk_setup(int quiet)
{
	char a0[] = "vanity-bench", a1[] = "--no-huge", a2[] = "--no-pci",
	     a3[] = "-l", a4[] = "0-1", a5[] = "--no-telemetry",
	     a6[] = "--no-shconf", a7[] = "-m", a8[] = "64",
	     a9[] = "--log-level=lib.eal:error";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, NULL };
	cpu_set_t all;
	int i;

	if (quiet)
		rte_log_set_global_level(RTE_LOG_ERR);
	if (getenv("BENCH_NO_EAL"))
		return 0;
	if (rte_eal_init(10, argv) < 0) {
		fprintf(stderr, "bench: rte_eal_init: %s; rte_ring_init in "
			"plain memory instead\n", rte_strerror(rte_errno));
		return 0;
	}
	eal_up = 1;
	/* EAL pinned this thread to lcore 0; the runner pins its own. */
	CPU_ZERO(&all);
	for (i = 0; i < 2; i++)
		CPU_SET(i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	return 0;
}

const char *dpdk_mode(void)
{
	return eal_up ? "rte_ring_create after rte_eal_init (--no-huge)" :
			"rte_ring_init in plain memory (no EAL)";
}

static struct rte_ring *ring_new(uint32_t esize, void **mem)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;
	ssize_t sz;

	*mem = NULL;
	snprintf(name, sizeof(name), "bench%d", ring_seq++);
	if (eal_up)
		return rte_ring_create_elem(name, esize, BENCH_SLOTS,
					    SOCKET_ID_ANY,
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
	sz = rte_ring_get_memsize_elem(esize, BENCH_SLOTS);
	if (sz < 0)
		return NULL;
	r = bench_zalloc((size_t)sz);
	if (!r)
		return NULL;
	if (rte_ring_init(r, name, BENCH_SLOTS, RING_F_SP_ENQ | RING_F_SC_DEQ)) {
		free(r);
		return NULL;
	}
	*mem = r;
	return r;
}

/*
 * rte_ring_init only knows 8-byte (pointer) elements; for other sizes
 * the memory was sized with rte_ring_get_memsize_elem and the element
 * functions take esize per call, so the layout is the same.
 */
static void ring_free(struct rte_ring *r, void *mem)
{
	if (mem)
		free(mem);
	else if (r)
		rte_ring_free(r);
}

/* ---------------------------------------------------------- throughput */
struct dtp {
	struct tp_ctl ctl;
	struct tp_case tc;
	struct rte_ring *r;
	_Alignas(BENCH_LINE) uint64_t t1, errors;
};

static void dtp_prod(void *p)
{
	struct dtp *t = p;
	struct rte_ring *r = t->r;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t sent = 0;
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	t->ctl.t0 = now_ns();
	while (sent < n) {
		unsigned int want = n - sent < b ? (unsigned int)(n - sent) : b;
		unsigned int k;

		stamp(buf, size, want, sent);
		k = rte_ring_sp_enqueue_burst_elem(r, buf, size, want, NULL);
		sent += k;
		if (!k && !spin_ok(&s))
			break;
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
}

static void dtp_cons(void *p)
{
	struct dtp *t = p;
	struct rte_ring *r = t->r;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t got = 0, errors = 0;
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	while (got < n) {
		unsigned int k;

		k = rte_ring_sc_dequeue_burst_elem(r, buf, size, b, NULL);
		if (!k) {
			if (__atomic_load_n(&t->ctl.done, __ATOMIC_ACQUIRE) &&
			    got >= t->ctl.total)
				break;
			if (!spin_ok(&s))
				break;
			continue;
		}
		errors += check(buf, size, k, got);
		got += k;
	}
out:
	t->t1 = now_ns();
	t->errors = errors;
	t->ctl.got = got;
}

int dpdk_tp(const struct tp_case *tc, struct tp_result *res)
{
	struct dtp *t = bench_zalloc(sizeof(*t));
	void *mem;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->failed = 1;
	if (!t)
		return -1;
	t->r = ring_new(tc->size, &mem);
	if (t->r) {
		tp_ctl_init(&t->ctl, tc);
		t->tc = *tc;
		if (!run_pair(dtp_prod, dtp_cons, t)) {
			res->failed = 0;
			res->moved = t->ctl.got;
			res->ns = t->t1 - t->ctl.t0;
			res->errors = t->errors;
			res->capped = t->ctl.got < tc->n;
			ret = 0;
		}
		ring_free(t->r, mem);
	}
	free(t);
	return ret;
}

/* ---------------------------------------------------------- round trip */
struct drt {
	struct gate gate;
	struct rte_ring *a, *b;
	size_t n, warm, done;
	uint64_t *samples, deadline, errors;
};

static void drt_ping(void *p)
{
	struct drt *t = p;
	struct rte_ring *a = t->a, *b = t->b;
	const size_t warm = t->warm, total = t->warm + t->n;
	uint64_t *samples = t->samples, errors = 0;
	size_t i, done = 0;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t m = i, r = 0, t0, t1;

		t0 = ticks();
		while (rte_ring_sp_enqueue_elem(a, &m, 8))
			if (!spin_ok(&s))
				goto out;
		while (rte_ring_sc_dequeue_elem(b, &r, 8))
			if (!spin_ok(&s))
				goto out;
		t1 = ticks();
		errors += r != i;
		if (i >= warm) {
			samples[i - warm] = t1 - t0;
			done = i + 1 - warm;
		}
	}
out:
	t->done = done;
	t->errors = errors;
}

static void drt_pong(void *p)
{
	struct drt *t = p;
	struct rte_ring *a = t->a, *b = t->b;
	const size_t total = t->warm + t->n;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t m;

		while (rte_ring_sc_dequeue_elem(a, &m, 8))
			if (!spin_ok(&s))
				return;
		while (rte_ring_sp_enqueue_elem(b, &m, 8))
			if (!spin_ok(&s))
				return;
	}
}

int dpdk_rt(size_t n, uint64_t deadline, struct lat *out)
{
	struct drt *t = bench_zalloc(sizeof(*t));
	void *ma = NULL, *mb = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->a = ring_new(8, &ma);
	t->b = ring_new(8, &mb);
	t->samples = calloc(n, sizeof(*t->samples));
	if (t->a && t->b && t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->n = n;
		t->warm = n / 10 + 100;
		t->deadline = deadline;
		if (!run_pair(drt_ping, drt_pong, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	ring_free(t->a, ma);
	ring_free(t->b, mb);
	free(t);
	return ret;
}
