// SPDX-License-Identifier: GPL-2.0
/*
 * bench-channels: Vanity channels against their peers, in one run, on the
 * same two CPUs (producer or pinger on CPU 0, consumer or ponger on CPU 1),
 * printed as one table of rates and latencies with Vanity/peer ratios,
 * then one verdict line per target. A benchmark, not a test: it exits 0
 * whatever the verdicts say, and non-zero only when a case could not run.
 *
 * Environment: BENCH_QUICK=1 (about 20 s), BENCH_EXP=1 (also measure the
 * experimental protocol variants in exp_*.c), BENCH_REPS=n.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vanity.h>

#include "bench.h"

/* ------------------------------------------------------------ watchdog */
static char wd_what[96];

static void wd_fire(int sig)
{
	static const char pre[] = "\nbench: watchdog: stuck in ";

	(void)sig;
	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, wd_what, strnlen(wd_what, sizeof(wd_what))) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(3);
	_exit(3);
}

static void wd_arm(unsigned int secs, const char *fmt, const char *a,
		   unsigned int x, unsigned int y)
{
	snprintf(wd_what, sizeof(wd_what), fmt, a, x, y);
	alarm(secs);
}

/* ------------------------------------------------------------- config */
static int quick, with_exp, failures;

static const uint32_t sizes[] = { 8, 64 };
static const uint32_t bursts[] = { 1, 8, 32 };
#define NSIZE (sizeof(sizes) / sizeof(sizes[0]))
#define NBURST (sizeof(bursts) / sizeof(bursts[0]))
#define MAXREP 15
#define MAXPEER 16

struct tpeer {
	const char *name;
	int (*tp)(const struct tp_case *, struct tp_result *);
	int exp;
	double rate[NSIZE][NBURST][MAXREP];	/* Mmsg/s, <0: failed */
	int capped[NSIZE][NBURST];
	double med[NSIZE][NBURST];
};

static struct tpeer tpeers[MAXPEER];
static int ntpeer;
static int dpdk_ok;

enum { TP_VANITY, TP_VZC, TP_DPDK, TP_URING, TP_PIPE, TP_EVFD };

static void add_tpeer(const char *name,
		      int (*tp)(const struct tp_case *, struct tp_result *),
		      int exp)
{
	tpeers[ntpeer].name = name;
	tpeers[ntpeer].tp = tp;
	tpeers[ntpeer].exp = exp;
	ntpeer++;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double s[MAXREP];
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (v[i] >= 0)
			s[k++] = v[i];
	if (!k)
		return -1;
	qsort(s, k, sizeof(double), cmp_dbl);
	return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

/* --------------------------------------------------------- throughput */
static void run_throughput(uint64_t n, int reps)
{
	unsigned int si, bi;
	int p, r;

	/* Warm every peer once (page faults, first-use paths). */
	for (p = 0; p < ntpeer; p++) {
		struct tp_case tc = { 64, 32, n / 8, now_ns() + 5000000000ULL };
		struct tp_result res;

		wd_arm(30, "warm-up of %s%.0u%.0u", tpeers[p].name, 0, 0);
		tpeers[p].tp(&tc, &res);
	}
	/* Reps outermost, so drift and noise hit every peer alike. */
	for (r = 0; r < reps; r++)
		for (si = 0; si < NSIZE; si++)
			for (bi = 0; bi < NBURST; bi++)
				for (p = 0; p < ntpeer; p++) {
					struct tpeer *tp = &tpeers[p];
					struct tp_case tc = {
						sizes[si], bursts[bi], n,
						now_ns() + (quick ? 3 : 8) *
							1000000000ULL,
					};
					struct tp_result res;

					wd_arm(30, "throughput of %s, %u B, burst %u",
					       tp->name, sizes[si], bursts[bi]);
					tp->rate[si][bi][r] = -1;
					if (tp->tp(&tc, &res) || res.errors ||
					    !res.moved) {
						if (res.errors)
							fprintf(stderr, "bench: %s %u B burst %u: %llu messages out of order\n",
								tp->name, sizes[si], bursts[bi],
								(unsigned long long)res.errors);
						continue;
					}
					tp->capped[si][bi] |= res.capped;
					tp->rate[si][bi][r] = (double)res.moved * 1e3 /
							      (double)res.ns;
				}
	alarm(0);
	for (p = 0; p < ntpeer; p++)
		for (si = 0; si < NSIZE; si++)
			for (bi = 0; bi < NBURST; bi++)
				tpeers[p].med[si][bi] =
					median(tpeers[p].rate[si][bi], reps);
}

static void print_rate(double v, int capped)
{
	if (v < 0)
		printf(" %9s", "-");
	else
		printf(" %8.2f%c", v, capped ? '*' : ' ');
}

static void print_ratio(double a, double b)
{
	if (a <= 0 || b <= 0)
		printf(" %8s", "-");
	else
		printf(" %7.2fx", a / b);
}

static void print_throughput(uint64_t n, int reps)
{
	unsigned int si, bi;
	int p;

	printf("\n== Throughput, Mmsg/s: median of %d runs of %llu messages, "
	       "CPU 0 -> CPU 1, %d-slot queues\n", reps,
	       (unsigned long long)n, BENCH_SLOTS);
	printf("%4s %5s |", "size", "burst");
	for (p = 0; p < ntpeer; p++)
		if (!tpeers[p].exp)
			printf(" %9s", tpeers[p].name);
	printf(" | vanity/: %-8s", tpeers[TP_DPDK].name);
	for (p = TP_URING; p < ntpeer; p++)
		if (!tpeers[p].exp)
			printf(" %8s", tpeers[p].name);
	printf("\n");
	for (si = 0; si < NSIZE; si++)
		for (bi = 0; bi < NBURST; bi++) {
			double v = tpeers[TP_VANITY].med[si][bi];

			printf("%3uB %5u |", sizes[si], bursts[bi]);
			for (p = 0; p < ntpeer; p++)
				if (!tpeers[p].exp)
					print_rate(tpeers[p].med[si][bi],
						   tpeers[p].capped[si][bi]);
			printf(" |         ");
			for (p = TP_DPDK; p < ntpeer; p++)
				if (!tpeers[p].exp)
					print_ratio(v, tpeers[p].med[si][bi]);
			printf("\n");
		}
	printf("vanity: vanity_send_burst/vanity_recv_burst (copies); "
	       "vanity-zc: reserve/slot/commit and peek/peek_slot/release,\n"
	       "  writing and checking only each message's 8-byte stamp in "
	       "place; rte_ring: %s,\n"
	       "  rte_ring_sp_enqueue_burst_elem/rte_ring_sc_dequeue_burst_elem; "
	       "msg_ring: one IORING_OP_MSG_RING per message,\n"
	       "  one io_uring_enter per burst, receiver polls its CQ (64 B: "
	       "payload in a shared slot, user_data names it);\n"
	       "  pipe: one write of burst x size, blocking read; eventfd: "
	       "SPSC ring in shared memory + one eventfd write per burst,\n"
	       "  receiver blocks in read when empty. * = a run hit its "
	       "deadline (rate over what moved).\n", dpdk_mode());
}

/* --------------------------------------------------------- round trip */
enum { RT_FLOOR, RT_VANITY, RT_DPDK, RT_URING, RT_EVFD, RT_PIPE, NRT };
static const char *const rt_names[NRT] = {
	"floor", "vanity", "rte_ring", "msg_ring", "eventfd", "pipe",
};
static struct lat rt_med[NRT];

static int rt_run(int k, size_t n, uint64_t deadline, struct lat *l)
{
	switch (k) {
	case RT_FLOOR: return floor_rt(n, deadline, l);
	case RT_VANITY: return vanity_rt(n, deadline, l);
	case RT_DPDK: return dpdk_ok ? dpdk_rt(n, deadline, l) : -1;
	case RT_URING: return uring_rt(n, deadline, l);
	case RT_EVFD: return evfd_rt(n, deadline, l);
	default: return pipe_rt(n, deadline, l);
	}
}

static uint64_t med_u64(uint64_t *v, int n)
{
	sort_u64(v, n);
	return v[n / 2];
}

static void run_rtt(int rounds)
{
	uint64_t p50[NRT][MAXREP], p99[NRT][MAXREP], p999[NRT][MAXREP];
	int ok[NRT] = { 0 };
	int k, r;

	for (r = 0; r < rounds; r++)
		for (k = 0; k < NRT; k++) {
			/* Spinning peers are fast: more samples, same time. */
			int spin = k <= RT_DPDK;
			size_t n = spin ? (quick ? 100000 : 300000) :
					  (quick ? 5000 : 20000);
			struct lat l;

			wd_arm(30, "round trip of %s%.0u%.0u", rt_names[k], 0, 0);
			if (rt_run(k, n, now_ns() + 10000000000ULL, &l) || !l.ok)
				continue;
			p50[k][ok[k]] = l.p50;
			p99[k][ok[k]] = l.p99;
			p999[k][ok[k]] = l.p999;
			ok[k]++;
		}
	alarm(0);
	for (k = 0; k < NRT; k++) {
		if (!ok[k])
			continue;
		rt_med[k].ok = 1;
		rt_med[k].p50 = med_u64(p50[k], ok[k]);
		rt_med[k].p99 = med_u64(p99[k], ok[k]);
		rt_med[k].p999 = med_u64(p999[k], ok[k]);
	}
}

static void print_rtt(int rounds)
{
	int k;

	printf("\n== Round trip, ping-pong, burst 1, 8 B, two queues A->B and "
	       "B->A (ns; median of %d rounds)\n", rounds);
	printf("%-10s %8s %8s %8s %10s\n", "peer", "p50", "p99", "p99.9",
	       "p50/floor");
	for (k = 0; k < NRT; k++) {
		if (!rt_med[k].ok) {
			printf("%-10s %8s\n", rt_names[k], "failed");
			continue;
		}
		printf("%-10s %8llu %8llu %8llu", rt_names[k],
		       (unsigned long long)rt_med[k].p50,
		       (unsigned long long)rt_med[k].p99,
		       (unsigned long long)rt_med[k].p999);
		if (rt_med[RT_FLOOR].ok)
			printf(" %9.2fx", (double)rt_med[k].p50 /
					  (double)rt_med[RT_FLOOR].p50);
		printf("\n");
	}
	printf("floor: two threads bouncing one cache line (each stores the "
	       "counter + 1 when it sees the other's value);\n"
	       "spinning receivers: floor, vanity, rte_ring, msg_ring (CQ "
	       "polled); sleeping receivers: eventfd (+ shm ring), pipe.\n");
}

/* ------------------------------------------------------------- wakeup */
static const uint64_t gaps[] = { 1000, 10000, 100000, 1000000 };
#define NGAP (sizeof(gaps) / sizeof(gaps[0]))
enum { WK_VANITY, WK_VSLEEP, WK_EVFD, WK_FUTEX, NWK };
static const char *const wk_names[NWK] = {
	"vanity", "vanity/0", "eventfd", "futex",
};
static struct lat wk[NGAP][NWK];

static size_t wake_samples(uint64_t gap)
{
	/* About 0.5 s (quick: 0.12 s) of each config at each gap. */
	size_t n = (size_t)((quick ? 120e6 : 500e6) / ((double)gap + 15000.0));

	return n > 20000 ? 20000 : n < 100 ? 100 : n;
}

static void run_wake(void)
{
	unsigned int g;
	int k;

	for (g = 0; g < NGAP; g++)
		for (k = 0; k < NWK; k++) {
			struct wake_case wc = {
				gaps[g], wake_samples(gaps[g]),
				now_ns() + 20000000000ULL,
				k == WK_VSLEEP ? 0 : VANITY_SPIN_NS_DEFAULT,
			};

			wd_arm(40, "wakeup of %s, gap %u ns%.0u", wk_names[k],
			       (unsigned int)gaps[g], 0);
			switch (k) {
			case WK_VANITY:
			case WK_VSLEEP:
				vanity_wake(&wc, &wk[g][k]);
				break;
			case WK_EVFD:
				evfd_wake(&wc, &wk[g][k]);
				break;
			default:
				futex_wake_lat(&wc, &wk[g][k]);
			}
		}
	alarm(0);
}

static void print_gap(uint64_t gap)
{
	if (gap >= 1000000)
		printf("%5llums", (unsigned long long)(gap / 1000000));
	else
		printf("%5lluus", (unsigned long long)(gap / 1000));
}

static void print_wake(void)
{
	unsigned int g;
	int k;

	printf("\n== Wakeup round trip, blocking receiver (ns): the sender "
	       "busy-waits the gap, stamps, sends, spins for the ack\n");
	printf("%7s |", "gap");
	for (k = 0; k < NWK; k++)
		printf(" %8s p50 %7s", wk_names[k], "p99 |");
	printf("\n");
	for (g = 0; g < NGAP; g++) {
		print_gap(gaps[g]);
		printf(" |");
		for (k = 0; k < NWK; k++) {
			if (!wk[g][k].ok)
				printf(" %12s %6s |", "failed", "");
			else
				printf(" %12llu %6llu |",
				       (unsigned long long)wk[g][k].p50,
				       (unsigned long long)wk[g][k].p99);
		}
		printf("\n");
	}
	printf("vanity: vanity_recv_wait, spin budget ch->spin_ns = %u ns, "
	       "then the futex doorbell (membarrier + FUTEX_WAIT on head);\n"
	       "vanity/0: spin budget 0, sleeps at once; eventfd: blocking "
	       "read then the shm ring; futex: FUTEX_WAIT on a sequence word,\n"
	       "sender stores it and FUTEX_WAKEs. Samples per cell: ",
	       VANITY_SPIN_NS_DEFAULT);
	for (g = 0; g < NGAP; g++)
		printf("%zu%s", wake_samples(gaps[g]), g + 1 < NGAP ? "/" : "\n");
}

/* ------------------------------------------------------------ verdicts */
static int targets_met, targets_total;

static void verdict(const char *name, double ratio, double goal)
{
	int met = ratio >= goal;

	targets_total++;
	targets_met += met;
	if (ratio <= 0)
		printf("target %s: unmeasured (goal %.2fx) missed\n", name, goal);
	else
		printf("target %s: %.2fx (goal %.2fx) %s\n", name, ratio, goal,
		       met ? "met" : "missed");
}

static void print_verdicts(void)
{
	char name[96];
	unsigned int si, bi, g;

	printf("\n== Targets (every ratio is 'bigger is better': "
	       "peer cost / Vanity cost)\n");
	for (si = 0; si < NSIZE; si++)
		for (bi = 0; bi < NBURST; bi++) {
			double v = tpeers[TP_VANITY].med[si][bi];
			double d = tpeers[TP_DPDK].med[si][bi];

			snprintf(name, sizeof(name),
				 "throughput-%uB-burst%u vanity/rte_ring",
				 sizes[si], bursts[bi]);
			verdict(name, v > 0 && d > 0 ? v / d : -1,
				bursts[bi] == 1 ? 3.0 : 1.5);
		}
	if (rt_med[RT_FLOOR].ok && rt_med[RT_VANITY].ok) {
		printf("info: vanity round-trip p50 = %.2fx the cache-line floor "
		       "(goal <= 1.30x); shown below as floor/vanity\n",
		       (double)rt_med[RT_VANITY].p50 /
		       (double)rt_med[RT_FLOOR].p50);
		verdict("roundtrip-p50 floor/vanity",
			(double)rt_med[RT_FLOOR].p50 /
			(double)rt_med[RT_VANITY].p50, 1 / 1.3);
	} else {
		verdict("roundtrip-p50 floor/vanity", -1, 1 / 1.3);
	}
	for (g = 0; g < NGAP; g++) {
		struct lat *v = &wk[g][WK_VANITY], *e = &wk[g][WK_EVFD];

		if (gaps[g] > VANITY_SPIN_NS_DEFAULT)
			continue;
		snprintf(name, sizeof(name),
			 "blocking-p99-gap%lluus eventfd/vanity",
			 (unsigned long long)(gaps[g] / 1000));
		verdict(name, v->ok && e->ok ? (double)e->p99 / (double)v->p99 :
					       -1, 5.0);
	}
	for (g = 0; g < NGAP; g++) {
		struct lat *v = &wk[g][WK_VSLEEP], *f = &wk[g][WK_FUTEX];

		snprintf(name, sizeof(name),
			 "sleeping-p50-gap%lluus futex/vanity(spin 0)",
			 (unsigned long long)(gaps[g] / 1000));
		verdict(name, v->ok && f->ok ? (double)f->p50 / (double)v->p50 :
					       -1, 1 / 1.1);
	}
	printf("verdict: %d of %d targets met\n", targets_met, targets_total);
}

/* -------------------------------------------------------- experiments */
static void print_experiments(void)
{
	unsigned int si, bi;
	size_t e;
	int p;

	if (!with_exp)
		return;
	printf("\n== EXPERIMENT (not libvanity): protocol variants measured "
	       "in the same runs, Mmsg/s and x rte_ring\n");
	for (e = 0; e < exp_variant_count; e++)
		printf("  %-12s %s\n", exp_variants[e].name, exp_variants[e].what);
	printf("%4s %5s | %9s %9s", "size", "burst", "vanity", "rte_ring");
	for (p = 0; p < ntpeer; p++)
		if (tpeers[p].exp)
			printf(" %18s", tpeers[p].name);
	printf("\n");
	for (si = 0; si < NSIZE; si++)
		for (bi = 0; bi < NBURST; bi++) {
			double d = tpeers[TP_DPDK].med[si][bi];

			printf("%3uB %5u |", sizes[si], bursts[bi]);
			print_rate(tpeers[TP_VANITY].med[si][bi], 0);
			print_rate(d, 0);
			for (p = 0; p < ntpeer; p++) {
				if (!tpeers[p].exp)
					continue;
				print_rate(tpeers[p].med[si][bi],
					   tpeers[p].capped[si][bi]);
				print_ratio(tpeers[p].med[si][bi], d);
			}
			printf("\n");
		}
}

static void run_exp_rtt(int rounds)
{
	size_t e;

	if (!with_exp)
		return;
	printf("\nEXPERIMENT round trip p50/p99 (ns), same method as above:\n");
	for (e = 0; e < exp_variant_count; e++) {
		uint64_t p50[MAXREP], p99[MAXREP];
		int r, ok = 0;

		if (!exp_variants[e].rt)
			continue;
		for (r = 0; r < rounds; r++) {
			struct lat l;

			wd_arm(30, "round trip of %s%.0u%.0u", exp_variants[e].name,
			       0, 0);
			if (exp_variants[e].rt(quick ? 100000 : 300000,
					       now_ns() + 10000000000ULL, &l) ||
			    !l.ok)
				continue;
			p50[ok] = l.p50;
			p99[ok++] = l.p99;
		}
		alarm(0);
		if (ok)
			printf("  %-12s p50 %llu  p99 %llu  p50/floor %.2fx\n",
			       exp_variants[e].name,
			       (unsigned long long)med_u64(p50, ok),
			       (unsigned long long)med_u64(p99, ok),
			       rt_med[RT_FLOOR].ok ? (double)med_u64(p50, ok) /
				       (double)rt_med[RT_FLOOR].p50 : 0.0);
	}
}

int main(void)
{
	const char *s;
	uint64_t n, t_start = now_ns();
	int reps, rounds;
	size_t e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, wd_fire);
	quick = (s = getenv("BENCH_QUICK")) && *s && strcmp(s, "0");
	with_exp = (s = getenv("BENCH_EXP")) && *s && strcmp(s, "0");
	reps = quick ? 3 : 5;
	if ((s = getenv("BENCH_REPS")) && atoi(s) > 0)
		reps = atoi(s) > MAXREP ? MAXREP : atoi(s);
	rounds = 3;
	n = quick ? 200000 : 1000000;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "bench: needs two CPUs (0 and 1)\n");
		return 2;
	}
	if (vanity_bell_setup())
		fprintf(stderr, "bench: membarrier registration failed: the "
			"sleeping cases will fail\n");
	dpdk_ok = !dpdk_setup(1);
	ticks_calibrate();

	add_tpeer("vanity", vanity_tp, 0);
	add_tpeer("vanity-zc", vanity_tp_zc, 0);
	add_tpeer("rte_ring", dpdk_tp, 0);
	add_tpeer("msg_ring", uring_tp, 0);
	add_tpeer("pipe", pipe_tp, 0);
	add_tpeer("eventfd", evfd_tp, 0);
	if (with_exp)
		for (e = 0; e < exp_variant_count && ntpeer < MAXPEER; e++)
			if (exp_variants[e].tp)
				add_tpeer(exp_variants[e].name,
					  exp_variants[e].tp, 1);

	printf("Vanity channels vs peers (hosted: no module; threads pinned "
	       "to CPU 0 and CPU 1; %s mode; tick = %.3f ns)\n",
	       quick ? "quick" : "full", ns_per_tick);

	run_throughput(n, reps);
	print_throughput(n, reps);
	print_experiments();
	run_rtt(rounds);
	print_rtt(rounds);
	run_exp_rtt(rounds);
	run_wake();
	print_wake();
	print_verdicts();
	printf("elapsed %.1f s\n", (double)(now_ns() - t_start) / 1e9);
	return failures ? 1 : 0;
}
