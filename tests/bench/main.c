// SPDX-License-Identifier: GPL-2.0
/*
 * bench-channels: Vanity channels against their peers, in one run, on the
 * same two CPUs (producer or pinger on CPU 0, consumer or ponger on CPU 1),
 * printed as one table of rates and latencies with Vanity/peer ratios,
 * then one verdict line per target. A benchmark, not a test: it exits 0
 * whatever the verdicts say, and non-zero only when a case could not run.
 *
 * Environment: BENCH_QUICK=1 (about 20 s), BENCH_EXP=1 (also measure the
 * experimental protocol variants in exp_*.c), BENCH_REPS=n,
 * BENCH_ONLY=tp,rt,wake (sections; verdicts of the others read unmeasured),
 * BENCH_NO_EAL=1 (rte_ring_init in plain memory instead of EAL).
 */
#include <signal.h>
#include <sys/resource.h>
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

/* ------------------------------------------------- other load on CPUs */
/*
 * Busy time of CPUs 0 and 1 (from /proc/stat) minus our own CPU time: what
 * other processes took while we measured. The numbers are only as good as
 * the machine is quiet; this says how quiet it was.
 */
struct load_mark {
	double cpu_busy, self;	/* seconds */
	uint64_t wall;
};

static void load_mark(struct load_mark *m)
{
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);
	struct rusage ru;
	char line[256];

	m->cpu_busy = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) == 9 && (cpu == 0 || cpu == 1))
			/* user nice system (idle iowait) irq softirq steal */
			m->cpu_busy += (double)(v[0] + v[1] + v[2] + v[5] +
						v[6] + v[7]) / (double)hz;
	}
	if (f)
		fclose(f);
	getrusage(RUSAGE_SELF, &ru);
	m->self = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	m->wall = now_ns();
}

/* Percent of the two CPUs' time that went to other processes. */
static double load_other(const struct load_mark *a, const struct load_mark *b)
{
	double wall = (double)(b->wall - a->wall) / 1e9;
	double other = (b->cpu_busy - a->cpu_busy) - (b->self - a->self);

	if (wall <= 0)
		return 0;
	return other < 0 ? 0 : 100.0 * other / (2 * wall);
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
	double ratio[NSIZE][NBURST];	/* median of per-rep vanity/this */
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
#define ATTEMPTS 4	/* a run another process preempted is run again */

static long disturbed_runs, retried_runs;
static uint64_t retry_until;	/* no more re-runs after this (ns) */

/* Run again a run that was preempted, while the time budget allows. */
static int again(void)
{
	return bench_preempted && now_ns() < retry_until;
}

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
					double best = -1;
					int a;

					wd_arm(60, "throughput of %s, %u B, burst %u",
					       tp->name, sizes[si], bursts[bi]);
					for (a = 0; a < ATTEMPTS; a++) {
						struct tp_case tc = {
							sizes[si], bursts[bi], n,
							now_ns() + (quick ? 3 : 8) *
								1000000000ULL,
						};
						struct tp_result res;
						double rate;

						if (tp->tp(&tc, &res) || res.errors ||
						    !res.moved) {
							if (res.errors)
								fprintf(stderr, "bench: %s %u B burst %u: %llu messages out of order\n",
									tp->name, sizes[si], bursts[bi],
									(unsigned long long)res.errors);
							failures++;
							break;
						}
						tp->capped[si][bi] |= res.capped;
						rate = (double)res.moved * 1e3 /
						       (double)res.ns;
						if (!again()) {
							if (rate > best)
								best = rate;
							if (bench_preempted)
								disturbed_runs++;
							break;
						}
						/* Disturbed: keep the best, try again. */
						retried_runs++;
						if (rate > best)
							best = rate;
						if (a == ATTEMPTS - 1)
							disturbed_runs++;
					}
					tp->rate[si][bi][r] = best;
				}
	alarm(0);
	for (p = 0; p < ntpeer; p++)
		for (si = 0; si < NSIZE; si++)
			for (bi = 0; bi < NBURST; bi++) {
				struct tpeer *tp = &tpeers[p];
				double q[MAXREP];

				tp->med[si][bi] = median(tp->rate[si][bi], reps);
				/* Pair each rep with Vanity's run next to it. */
				for (r = 0; r < reps; r++) {
					double v = tpeers[TP_VANITY].rate[si][bi][r];
					double x = tp->rate[si][bi][r];

					q[r] = v > 0 && x > 0 ? v / x : -1;
				}
				tp->ratio[si][bi] = median(q, reps);
			}
}

static void print_rate(double v, int capped)
{
	if (v < 0)
		printf(" %9s", "-");
	else
		printf(" %8.2f%c", v, capped ? '*' : ' ');
}

static void print_ratio(double q)
{
	if (q <= 0)
		printf(" %8s", "-");
	else
		printf(" %7.2fx", q);
}

static void print_throughput(uint64_t n, int reps)
{
	unsigned int si, bi;
	int p;

	printf("\n== Throughput, Mmsg/s: median of %d runs of %llu messages, "
	       "CPU 0 -> CPU 1, %d-slot queues;\n   ratios: median over runs "
	       "of vanity's rate / the peer's in the run next to it\n", reps,
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
			printf("%3uB %5u |", sizes[si], bursts[bi]);
			for (p = 0; p < ntpeer; p++)
				if (!tpeers[p].exp)
					print_rate(tpeers[p].med[si][bi],
						   tpeers[p].capped[si][bi]);
			printf(" |         ");
			for (p = TP_DPDK; p < ntpeer; p++)
				if (!tpeers[p].exp)
					print_ratio(tpeers[p].ratio[si][bi]);
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
	printf("runs preempted by other processes and run again: %ld; still "
	       "preempted after %d attempts (best kept): %ld\n",
	       retried_runs, ATTEMPTS, disturbed_runs);
}

/* --------------------------------------------------------- round trip */
enum { RT_FLOOR, RT_FLOOR2, RT_VANITY, RT_DPDK, RT_URING, RT_EVFD, RT_PIPE,
       NRT };
static const char *const rt_names[NRT] = {
	"floor", "floor-2line", "vanity", "rte_ring", "msg_ring", "eventfd",
	"pipe",
};
static struct lat rt_med[NRT];

static int rt_run(int k, size_t n, uint64_t deadline, struct lat *l)
{
	switch (k) {
	case RT_FLOOR: return floor_rt(n, deadline, l);
	case RT_FLOOR2: return floor2_rt(n, deadline, l);
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

static double rt_pair_ratio;	/* median over rounds of floor/vanity p50 */
static int rt_rounds_spin, rt_rounds_block;

/* Spinning peers: many short rounds, so the floor and Vanity are measured
 * seconds apart at most and can be paired round by round. */
static int rt_spinning(int k)
{
	return k <= RT_DPDK;
}

static void run_rtt(void)
{
	uint64_t p50[NRT][MAXREP], p99[NRT][MAXREP], p999[NRT][MAXREP];
	double q[MAXREP];
	int ok[NRT] = { 0 }, got[NRT][MAXREP];
	int k, r;

	rt_rounds_spin = quick ? 5 : 11;
	rt_rounds_block = quick ? 2 : 3;
	memset(got, 0, sizeof(got));
	for (r = 0; r < rt_rounds_spin; r++)
		for (k = 0; k < NRT; k++) {
			int spin = rt_spinning(k);
			size_t n = spin ? (quick ? 30000 : 50000) :
				   k == RT_URING ? (quick ? 10000 : 30000) :
						   (quick ? 3000 : 8000);
			struct lat l;
			int a;

			if (!spin && r >= rt_rounds_block)
				continue;
			wd_arm(60, "round trip of %s%.0u%.0u", rt_names[k], 0, 0);
			for (a = 0; a < ATTEMPTS; a++)
				if (rt_run(k, n, now_ns() + 10000000000ULL, &l) ||
				    !again())
					break;
			if (!l.ok)
				continue;
			p50[k][ok[k]] = l.p50;
			p99[k][ok[k]] = l.p99;
			p999[k][ok[k]] = l.p999;
			ok[k]++;
			got[k][r] = (int)ok[k];
		}
	alarm(0);
	for (r = 0; r < rt_rounds_spin; r++) {
		int f = got[RT_FLOOR][r], v = got[RT_VANITY][r];

		q[r] = f && v ? (double)p50[RT_FLOOR][f - 1] /
				(double)p50[RT_VANITY][v - 1] : -1;
	}
	rt_pair_ratio = median(q, rt_rounds_spin);
	for (k = 0; k < NRT; k++) {
		if (!ok[k])
			continue;
		rt_med[k].ok = 1;
		rt_med[k].p50 = med_u64(p50[k], ok[k]);
		rt_med[k].p99 = med_u64(p99[k], ok[k]);
		rt_med[k].p999 = med_u64(p999[k], ok[k]);
	}
}

static void print_rtt(void)
{
	int k;

	printf("\n== Round trip, ping-pong, burst 1, 8 B, two queues A->B and "
	       "B->A (ns; median of %d rounds for the\n   spinning peers, "
	       "interleaved, and of %d for the others)\n", rt_rounds_spin,
	       rt_rounds_block);
	printf("%-11s %8s %8s %8s %10s\n", "peer", "p50", "p99", "p99.9",
	       "p50/floor");
	for (k = 0; k < NRT; k++) {
		if (!rt_med[k].ok) {
			printf("%-11s %8s\n", rt_names[k], "failed");
			continue;
		}
		printf("%-11s %8llu %8llu %8llu", rt_names[k],
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
	       "floor-2line: the same with one line each way, the least any "
	       "design with a queue per direction can do (info only);\n"
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
static struct lat mb_cost;
static int ran_tp, ran_rt, ran_wake;

static size_t wake_samples(uint64_t gap)
{
	/* About 0.4 s (quick: 0.12 s) of each config at each gap. */
	size_t n = (size_t)((quick ? 120e6 : 400e6) / ((double)gap + 15000.0));

	return n > 20000 ? 20000 : n < 100 ? 100 : n;
}

static void run_wake(void)
{
	static uint64_t *pool[NGAP][NWK];
	static size_t pool_n[NGAP][NWK];
	int rounds = quick ? 2 : 3, r, k;
	unsigned int g;

	/* Rounds outermost: each cell's samples are spread over the run. */
	for (r = 0; r < rounds; r++)
		for (g = 0; g < NGAP; g++)
			for (k = 0; k < NWK; k++) {
				size_t cap = wake_samples(gaps[g]);
				struct wake_case wc = {
					gaps[g], (cap + rounds - 1) / rounds, 0,
					k == WK_VSLEEP ? 0 : VANITY_SPIN_NS_DEFAULT,
				};
				struct lat l;
				int a;

				if (!pool[g][k])
					pool[g][k] = calloc(cap + wc.n,
							    sizeof(uint64_t));
				if (!pool[g][k])
					continue;
				wd_arm(90, "wakeup of %s, gap %u ns%.0u",
				       wk_names[k], (unsigned int)gaps[g], 0);
				for (a = 0; a < 2; a++) {
					lat_pool = pool[g][k];
					lat_pool_n = pool_n[g][k];
					lat_pool_cap = cap + wc.n;
					wc.deadline = now_ns() + 20000000000ULL;
					switch (k) {
					case WK_VANITY:
					case WK_VSLEEP:
						vanity_wake(&wc, &l);
						break;
					case WK_EVFD:
						evfd_wake(&wc, &l);
						break;
					default:
						futex_wake_lat(&wc, &l);
					}
					lat_pool = NULL;
					if (!again())
						break;
				}
				/* Keep the last attempt's samples only. */
				if (l.ok)
					pool_n[g][k] = lat_pool_n;
			}
	for (g = 0; g < NGAP; g++)
		for (k = 0; k < NWK; k++) {
			if (pool_n[g][k])
				lat_from_ticks(&wk[g][k], pool[g][k], pool_n[g][k]);
			free(pool[g][k]);
		}
	wd_arm(30, "membarrier timing%.0s%.0u%.0u", "", 0, 0);
	membarrier_cost(quick ? 300 : 1000, now_ns() + 10000000000ULL, &mb_cost);
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
	if (mb_cost.ok)
		printf("the doorbell's barrier alone: membarrier(PRIVATE_EXPEDITED) "
		       "with the peer busy on the other CPU: p50 %llu ns, p99 %llu "
		       "ns\n", (unsigned long long)mb_cost.p50,
		       (unsigned long long)mb_cost.p99);
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
	for (si = 0; ran_tp && si < NSIZE; si++)
		for (bi = 0; bi < NBURST; bi++) {
			snprintf(name, sizeof(name),
				 "throughput-%uB-burst%u vanity/rte_ring",
				 sizes[si], bursts[bi]);
			verdict(name, tpeers[TP_DPDK].ratio[si][bi],
				bursts[bi] == 1 ? 3.0 : 1.5);
		}
	if (!ran_rt) {
		/* section not run */
	} else if (rt_pair_ratio > 0) {
		printf("info: vanity round-trip p50 = %.2fx the cache-line floor "
		       "(median over rounds, each round's floor next to it; goal "
		       "<= 1.30x);\n      the target line shows it inverted, "
		       "floor/vanity\n", 1 / rt_pair_ratio);
		verdict("roundtrip-p50 floor/vanity", rt_pair_ratio, 1 / 1.3);
	} else {
		verdict("roundtrip-p50 floor/vanity", -1, 1 / 1.3);
	}
	for (g = 0; ran_wake && g < NGAP; g++) {
		struct lat *v = &wk[g][WK_VANITY], *e = &wk[g][WK_EVFD];

		if (gaps[g] > VANITY_SPIN_NS_DEFAULT)
			continue;
		snprintf(name, sizeof(name),
			 "blocking-p99-gap%lluus eventfd/vanity",
			 (unsigned long long)(gaps[g] / 1000));
		verdict(name, v->ok && e->ok ? (double)e->p99 / (double)v->p99 :
					       -1, 5.0);
	}
	for (g = 0; ran_wake && g < NGAP; g++) {
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
				print_ratio(d > 0 && tpeers[p].med[si][bi] > 0 ?
					    tpeers[p].med[si][bi] / d : -1);
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
	const char *s, *only;
	uint64_t n, t_start = now_ns();
	struct load_mark l0, l1, l2, l3;
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
	only = getenv("BENCH_ONLY");
	if (only && !*only)
		only = NULL;

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

	/* Re-runs of preempted runs stop when the run is over budget. */
	retry_until = t_start + (quick ? 12 : 80) * 1000000000ULL;
	load_mark(&l0);
	l1 = l2 = l3 = l0;
	if (!only || strstr(only, "tp")) {
		ran_tp = 1;
		run_throughput(n, reps);
		print_throughput(n, reps);
		print_experiments();
		load_mark(&l1);
		printf("other processes took %.0f%% of CPUs 0-1 meanwhile\n",
		       load_other(&l0, &l1));
	}
	if (!only || strstr(only, "rt")) {
		load_mark(&l1);
		ran_rt = 1;
		run_rtt();
		print_rtt();
		run_exp_rtt(rounds);
		load_mark(&l2);
		printf("other processes took %.0f%% of CPUs 0-1 meanwhile\n",
		       load_other(&l1, &l2));
	}
	if (!only || strstr(only, "wake")) {
		load_mark(&l2);
		ran_wake = 1;
		run_wake();
		print_wake();
		load_mark(&l3);
		printf("other processes took %.0f%% of CPUs 0-1 meanwhile\n",
		       load_other(&l2, &l3));
	}
	load_mark(&l3);
	print_verdicts();
	printf("elapsed %.1f s; other processes took %.0f%% of CPUs 0-1 "
	       "(ratios are only as good as that is small)\n",
	       (double)(now_ns() - t_start) / 1e9, load_other(&l0, &l3));
	return failures ? 1 : 0;
}
