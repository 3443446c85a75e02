// SPDX-License-Identifier: GPL-2.0
/*
 * bench-ring: the cost of a NOP through Vanity's submission ring against
 * io_uring's IORING_OP_NOP on the same (guest) kernel, in one run.
 *
 * Four paths: Vanity with ENTER, Vanity with its SQPOLL thread, io_uring
 * with io_uring_enter, io_uring with IORING_SETUP_SQPOLL. Two modes, at
 * batches 1, 8, 32 and 128:
 *   throughput  keep the ring busy: prepare a batch, submit it with one
 *               call (none under SQPOLL unless the poller sleeps), reap
 *               whatever has completed, repeat;
 *   latency     submit a batch and wait until all of it has completed
 *               before the next (at batch 1: one NOP's round trip).
 * Each side reaps the way its library does: io_uring reads the CQ tail
 * once and walks the CQEs (io_uring_for_each_cqe); Vanity walks the CQEs
 * while their stamps say they are posted (vanity_for_each_cqe) and waits
 * on the last one's stamp. Both store the head once and check every
 * user_data.
 *
 * The measuring thread runs on isolated CPU 2 (the shard's CPU; attach
 * pins it, io_uring's submitter is pinned to the same CPU). Each SQPOLL
 * thread runs on a housekeeping CPU: Vanity's on the housekeeping mask,
 * io_uring's bound to CPU 1 (IORING_SETUP_SQ_AFF) so it never shares CPU 2
 * with the submitter. Both pollers idle for 1 s before sleeping.
 *
 * Each cell is the fastest of RING_BENCH_REPS runs (7) of RING_BENCH_SECS
 * (0.15 s) after a short warm-up (interference only adds time); per
 * repetition and cell the four paths run back to back. ratio = io_uring
 * ns/op / Vanity ns/op: above 1 Vanity is faster. A '*' marks a ratio
 * whose runs varied by more than 3x (a busy host). Under QEMU TCG
 * absolute numbers mean nothing; only the ratios do.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define VM_BENCH_NAME "bench-ring"
#include "../vm_bench.h"
#include "imgwrite.h"
#include "nl.h"
#include "vanity.h"

#define SHARD "bench"
#define RING_ENTRIES 256
#define IDLE_US 1000000
#define NBATCH 4
#define MAXREPS 9

enum path { P_VENTER, P_VSQPOLL, P_URING, P_URING_SQPOLL, NPATH };
enum mode { M_THR, M_LAT, NMODE };

static const unsigned int batches[NBATCH] = { 1, 8, 32, 128 };
static const char *mode_names[NMODE] = { "throughput", "latency" };
static const char *path_names[NPATH] = {
	"vanity-enter", "vanity-sqpoll", "io_uring", "io_uring-sqpoll",
};

static double secs = 0.15;
static int reps = 7;
static int cpu = 2;
static double results[NPATH][NMODE][NBATCH][MAXREPS];

/* ------------------------------------------------------------ a path */

/*
 * One path under measurement: @prep queues @n NOPs (false: no room),
 * @submit publishes them (and enters the kernel if the path must),
 * @wait_all blocks or spins until @n are complete, @reap consumes every
 * completion there is and returns how many.
 */
struct path_ops {
	bool (*prep)(void *ctx, unsigned int n);
	void (*submit)(void *ctx, unsigned int n, bool wait);
	void (*wait_all)(void *ctx, unsigned int n);
	unsigned int (*reap)(void *ctx);
	unsigned int depth;	/* SQ entries: most in flight */
};

struct vctx {
	struct vanity *v;
	struct vanity_ring *r;
	uint64_t ud_sub, ud_done;
};

struct uctx {
	struct io_uring ring;
	uint64_t ud_sub, ud_done;
};

static void bad_ud(const char *who, uint64_t got, uint64_t want, int res)
{
	fprintf(stderr, "bench-ring: %s: completion user_data %llu res %d, expected %llu res 0\n",
		who, (unsigned long long)got, res, (unsigned long long)want);
	exit(1);
}

/*
 * Both SQPOLL paths wait for their completions alike: plain loads for a
 * while, then a pause hint per poll. Under QEMU TCG a PAUSE leaves the
 * vCPU's execution loop (it costs about a syscall), so pausing from the
 * first poll would measure the emulator, not the rings.
 */
static inline void spin_hint(unsigned int spins)
{
	if (spins >= 256)
		vanity_cpu_relax();
	else
		__asm__ __volatile__("" ::: "memory");
}

/* Vanity */

/*
 * Both sides alike: the ring and the counters in locals for the length of
 * a call (the SQE stores would otherwise make the compiler reload them
 * through the context after each), written back once.
 */
#define BENCH_INLINE static inline __attribute__((always_inline))

BENCH_INLINE bool v_prep(void *p, unsigned int n)
{
	struct vctx *c = p;
	struct vanity_ring *r = c->r;
	uint64_t ud = c->ud_sub;
	unsigned int i;

	if (!vanity_sq_room(r, n))
		return false;
	for (i = 0; i < n; i++) {
		struct vanity_sqe *sqe = vanity_get_sqe(r);

		if (!sqe)
			die("vanity_get_sqe", ENOSPC);
		vanity_prep_nop(sqe, ud++);
	}
	c->ud_sub = ud;
	return true;
}

BENCH_INLINE void v_submit(void *p, unsigned int n, bool wait)
{
	struct vctx *c = p;
	struct vanity_ring *r = c->r;
	int ret = vanity_submit_and_wait(r, wait && !r->sqpoll ? n : 0);

	if (ret != (int)n)
		die("vanity_submit", ret < 0 ? ret : EIO);
}

BENCH_INLINE void v_wait_all(void *p, unsigned int n)
{
	struct vctx *c = p;

	/* Posted in order: the last one's stamp says all n are there. */
	for (unsigned int spins = 0; !vanity_cqe_at(c->r, n - 1); spins++)
		spin_hint(spins);
}

BENCH_INLINE unsigned int v_reap(void *p)
{
	struct vctx *c = p;
	struct vanity_ring *r = c->r;
	const struct vanity_cqe *cqe;
	uint64_t ud = c->ud_done;
	unsigned int n = 0;
	uint32_t index;

	vanity_for_each_cqe(r, index, cqe) {
		if (cqe->user_data != ud || cqe->res)
			bad_ud("vanity", cqe->user_data, ud, cqe->res);
		ud++;
		n++;
	}
	c->ud_done = ud;
	vanity_cq_advance(r, n);
	return n;
}

/* io_uring */

BENCH_INLINE bool u_prep(void *p, unsigned int n)
{
	struct uctx *c = p;
	struct io_uring *ring = &c->ring;
	uint64_t ud = c->ud_sub;
	unsigned int i;

	if (io_uring_sq_space_left(ring) < n)
		return false;
	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = ud++;
	}
	c->ud_sub = ud;
	return true;
}

BENCH_INLINE void u_submit(void *p, unsigned int n, bool wait)
{
	struct uctx *c = p;
	bool sqpoll = c->ring.flags & IORING_SETUP_SQPOLL;
	int ret = wait && !sqpoll ? io_uring_submit_and_wait(&c->ring, n) :
				    io_uring_submit(&c->ring);

	/* Under SQPOLL liburing returns what the poller has yet to consume. */
	if (ret < 0 || (!sqpoll && ret != (int)n))
		die("io_uring_submit", ret < 0 ? ret : EIO);
}

BENCH_INLINE void u_wait_all(void *p, unsigned int n)
{
	struct uctx *c = p;
	struct io_uring *ring = &c->ring;

	for (unsigned int spins = 0; io_uring_cq_ready(ring) < n; spins++)
		spin_hint(spins);
}

BENCH_INLINE unsigned int u_reap(void *p)
{
	struct uctx *c = p;
	struct io_uring *ring = &c->ring;
	struct io_uring_cqe *cqe;
	uint64_t ud = c->ud_done;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		if (cqe->user_data != ud || cqe->res)
			bad_ud("io_uring", cqe->user_data, ud, cqe->res);
		ud++;
		n++;
	}
	c->ud_done = ud;
	io_uring_cq_advance(ring, n);
	return n;
}

/* ------------------------------------------------------- measuring */

/*
 * Each mode at @batch for about @sec seconds: ns per NOP. Inlined with a
 * constant @o, and each path's functions inlined into it, so the harness
 * costs neither side a call per op: under TCG a call and return in a
 * cross-CPU round trip was measured at 50-180 ns (the SQPOLL paths'
 * whole round trip is ~450), far beyond its cost in a plain loop. What
 * a path's library does not inline (liburing's io_uring_submit, the
 * system calls) it pays, as an application would.
 */

/*
 * Read the clock about once a millisecond: under TCG it may be an
 * emulated HPET read, as costly as the op being measured. True when
 * @sec has passed, with the time so far in *el.
 */
static inline __attribute__((always_inline)) bool
time_up(uint64_t *iter, uint64_t *check, uint64_t t0, uint64_t limit,
	uint64_t *el)
{
	if (++*iter != *check)
		return false;
	*el = now_ns() - t0;
	if (*el >= limit)
		return true;
	*check = *iter + (*el ? *iter * 1000000 / *el : 8) + 1;
	return false;
}

/*
 * Latency: a batch, then all of it back, then the next. wait_all is
 * immediate on the paths whose submit waited (ENTER, io_uring_enter).
 */
static inline __attribute__((always_inline)) double
run_lat(const struct path_ops *o, void *ctx, unsigned int batch, double sec)
{
	uint64_t t0 = now_ns(), limit = (uint64_t)(sec * 1e9), ops = 0, el = 0;
	uint64_t iter = 0, check = 8;

	do {
		if (!o->prep(ctx, batch))
			die("prep", ENOSPC);
		o->submit(ctx, batch, true);
		o->wait_all(ctx, batch);
		ops += o->reap(ctx);
	} while (!time_up(&iter, &check, t0, limit, &el));
	return ops ? (double)el / (double)ops : 0;
}

/* Throughput: keep up to depth in flight, a batch per submit. */
static inline __attribute__((always_inline)) double
run_thr(const struct path_ops *o, void *ctx, unsigned int batch, double sec)
{
	uint64_t t0 = now_ns(), limit = (uint64_t)(sec * 1e9), ops = 0, el = 0;
	uint64_t iter = 0, check = 8;
	unsigned int inflight = 0, got;

	do {
		if (inflight + batch <= o->depth && o->prep(ctx, batch)) {
			o->submit(ctx, batch, false);
			inflight += batch;
		} else {
			vanity_cpu_relax();
		}
		got = o->reap(ctx);
		inflight -= got;
		ops += got;
	} while (!time_up(&iter, &check, t0, limit, &el));
	/* Drain what is still in flight (not counted). */
	while (inflight)
		inflight -= o->reap(ctx);
	return ops ? (double)el / (double)ops : 0;
}

/*
 * Each path's and mode's measuring loop a function of its own, in a page
 * of its own (4 KiB aligned, well under 4 KiB long): under TCG one loop
 * serving both modes measured 60-90 ns slower per round trip than the
 * same loop alone (A/B in one boot), and QEMU chains translated blocks
 * directly only within a guest page.
 */
#define RUN_FN __attribute__((__noinline__, aligned(4096)))

static const struct path_ops vanity_ops = {
	.prep = v_prep, .submit = v_submit, .wait_all = v_wait_all,
	.reap = v_reap, .depth = RING_ENTRIES,
};
static const struct path_ops uring_ops = {
	.prep = u_prep, .submit = u_submit, .wait_all = u_wait_all,
	.reap = u_reap, .depth = RING_ENTRIES,
};

typedef double run_fn(void *ctx, unsigned int batch, double sec);

static RUN_FN double lat_vanity(void *ctx, unsigned int batch, double sec)
{
	return run_lat(&vanity_ops, ctx, batch, sec);
}

static RUN_FN double thr_vanity(void *ctx, unsigned int batch, double sec)
{
	return run_thr(&vanity_ops, ctx, batch, sec);
}

static RUN_FN double lat_uring(void *ctx, unsigned int batch, double sec)
{
	return run_lat(&uring_ops, ctx, batch, sec);
}

static RUN_FN double thr_uring(void *ctx, unsigned int batch, double sec)
{
	return run_thr(&uring_ops, ctx, batch, sec);
}

static void measure(enum path p, void *ctx, enum mode m, unsigned int b,
		    int rep)
{
	bool vanity = p == P_VENTER || p == P_VSQPOLL;
	run_fn *fn = m == M_LAT ? (vanity ? lat_vanity : lat_uring) :
				  (vanity ? thr_vanity : thr_uring);

	fn(ctx, batches[b], secs / 8);	/* warm-up */
	results[p][m][b][rep] = fn(ctx, batches[b], secs);
}

static void bench_vanity(bool sqpoll, enum mode m, unsigned int b, int rep)
{
	struct vctx c = { 0 };
	int ret = vanity_attach_flags(SHARD, sqpoll ? VANITY_ATTACH_SQPOLL : 0,
				      sqpoll ? IDLE_US : 0, &c.v);

	if (ret)
		die("vanity_attach", ret);
	c.r = vanity_ring(c.v);
	pin(cpu);	/* attach pinned us already; say it anyway */
	if (sched_getcpu() != cpu)
		die("not on the shard's CPU", EINVAL);
	measure(sqpoll ? P_VSQPOLL : P_VENTER, &c, m, b, rep);
	vanity_detach(c.v);
}

static void bench_uring(bool sqpoll, enum mode m, unsigned int b, int rep)
{
	struct io_uring_params prm;
	struct uctx c;
	int ret;

	memset(&c, 0, sizeof(c));
	memset(&prm, 0, sizeof(prm));
	pin(cpu);
	if (sqpoll) {
		prm.flags = IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
		prm.sq_thread_cpu = 1;
		prm.sq_thread_idle = IDLE_US / 1000;	/* ms */
	}
	ret = io_uring_queue_init_params(RING_ENTRIES, &c.ring, &prm);
	if (ret)
		die("io_uring_queue_init_params", ret);
	measure(sqpoll ? P_URING_SQPOLL : P_URING, &c, m, b, rep);
	io_uring_queue_exit(&c.ring);
}

/* ------------------------------------------------------------ floors */

/*
 * The fixed cost of entering each kernel path with nothing to do: what a
 * batch of 1 cannot amortise. Reported, not a target.
 */
enum floor { F_GETPPID, F_URING_ENTER, F_VANITY_ENTER, F_IOCTL_ENOTTY, F_FSYNC,
	     F_PINGPONG, NFLOOR };
static const char *floor_names[NFLOOR] = {
	"getppid()", "io_uring_enter(0)", "vanity ENTER(0)",
	"ioctl(-ENOTTY)", "fsync(vanity fd)", "cache-line round trip CPU 2-1",
};
static double floors[NFLOOR];

/*
 * The cross-CPU floor an SQPOLL round trip cannot beat: this thread
 * (CPU 2) stores a number on one line, a thread on CPU 1 (where the
 * pollers run) spins until it sees it and answers on another line, and
 * this one spins until it sees the answer. Both spin on loads alone, as
 * the pollers do.
 */
struct pingpong {
	_Alignas(128) uint64_t ping;
	_Alignas(128) uint64_t pong;
	_Alignas(128) uint64_t stop;
};

static void *pong_fn(void *p)
{
	struct pingpong *pp = p;
	uint64_t seen = 0, v;

	pin(1);
	while (!__atomic_load_n(&pp->stop, __ATOMIC_RELAXED)) {
		v = __atomic_load_n(&pp->ping, __ATOMIC_ACQUIRE);
		if (v != seen) {
			seen = v;
			__atomic_store_n(&pp->pong, v, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static double pingpong_run(void)
{
	static struct pingpong pp;
	uint64_t n = 0, t0, el;
	pthread_t t;

	memset(&pp, 0, sizeof(pp));
	if (pthread_create(&t, NULL, pong_fn, &pp))
		die("pthread_create", EAGAIN);
	/* Warm up: both threads running on their CPUs. */
	for (int i = 1; i <= 1000; i++) {
		__atomic_store_n(&pp.ping, i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&pp.pong, __ATOMIC_ACQUIRE) != (uint64_t)i)
			;
	}
	n = 1000;
	t0 = now_ns();
	do {
		for (int i = 0; i < 1000; i++) {
			__atomic_store_n(&pp.ping, ++n, __ATOMIC_RELEASE);
			while (__atomic_load_n(&pp.pong, __ATOMIC_ACQUIRE) != n)
				;
		}
		el = now_ns() - t0;
	} while (el < (uint64_t)(secs * 1e9));
	__atomic_store_n(&pp.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	return (double)el / (double)(n - 1000);
}

static double floor_run(enum floor f, int vfd, int ufd)
{
	struct vanity_enter e = { .size = sizeof(e) };
	uint64_t n = 0, t0 = now_ns(), el;

	if (f == F_PINGPONG)
		return pingpong_run();
	do {
		for (int i = 0; i < 1000; i++) {
			switch (f) {
			case F_GETPPID:
				getppid();
				break;
			case F_URING_ENTER:
				syscall(__NR_io_uring_enter, ufd, 0, 0, 0, NULL, 0);
				break;
			case F_VANITY_ENTER:
				ioctl(vfd, VANITY_IOC_ENTER, &e);
				break;
			case F_IOCTL_ENOTTY:
				ioctl(vfd, _IO(VANITY_IOC_MAGIC, 0x7f), 0);
				break;
			default:
				fsync(vfd);
			}
		}
		n += 1000;
		el = now_ns() - t0;
	} while (el < (uint64_t)(secs * 1e9));
	return (double)el / (double)n;
}

static void measure_floors(void)
{
	struct io_uring ring;
	struct vanity *v;
	int ret, f, rep;

	ret = vanity_attach(SHARD, &v);
	if (ret)
		die("vanity_attach", ret);
	ret = io_uring_queue_init(8, &ring, 0);
	if (ret)
		die("io_uring_queue_init", ret);
	for (rep = 0; rep < reps; rep++)
		for (f = 0; f < NFLOOR; f++) {
			double t = floor_run(f, vanity_fd(v), ring.ring_fd);

			if (!rep || t < floors[f])
				floors[f] = t;
		}
	io_uring_queue_exit(&ring);
	vanity_detach(v);
}

/* ------------------------------------------------------------ system */

static void system_up(void)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 0 };
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	struct vanity_nl *nl;
	size_t len;
	void *img;
	int ret;

	if (!w)
		die("calloc", ENOMEM);
	cpus[cpu / 64] = 1ULL << (cpu % 64);
	vanity_imgw_init(w, "bench-ring");
	vanity_imgw_shard(w, SHARD, 0, cpus, 0, NULL);
	w->shards[0].ring_entries = RING_ENTRIES;
	ret = vanity_imgw_finish(w, &img, &len);
	if (ret)
		die("image", ret);
	ret = vanity_nl_open(&nl);
	if (ret)
		die("netlink (is vanity.ko loaded?)", ret);
	vanity_nl_down(nl, true);
	ret = vanity_nl_up(nl, img, len);
	if (ret) {
		fprintf(stderr, "bench-ring: up: %s\n", vanity_nl_msg(nl));
		die("up", ret);
	}
	vanity_nl_close(nl);
	free(img);
	free(w);
}

static void system_down(void)
{
	struct vanity_nl *nl;

	if (!vanity_nl_open(&nl)) {
		vanity_nl_down(nl, true);
		vanity_nl_close(nl);
	}
}

/* ------------------------------------------------------------ report */

/*
 * A cell's value: its fastest repetition. Interference on a shared host
 * (TCG vCPUs are host threads) only ever adds time, and an SQPOLL path
 * needs two vCPUs running at once, so a busy host can slow a repetition
 * by orders of magnitude; the minimum is the least disturbed estimate.
 */
static double best(enum path p, enum mode m, unsigned int b)
{
	double v = results[p][m][b][0];
	int i;

	for (i = 1; i < reps; i++)
		if (results[p][m][b][i] < v)
			v = results[p][m][b][i];
	return v;
}

/* Slowest over fastest repetition: how disturbed a cell was. */
static double spread(enum path p, enum mode m, unsigned int b)
{
	double v = results[p][m][b][0];
	int i;

	for (i = 1; i < reps; i++)
		if (results[p][m][b][i] > v)
			v = results[p][m][b][i];
	return v / best(p, m, b);
}

/* io_uring's ns/op over Vanity's: above 1 Vanity is faster. */
static double ratio(enum path up, enum mode um, enum path vp, enum mode vm,
		    unsigned int b)
{
	return best(up, um, b) / best(vp, vm, b);
}

/* '*' when either side of a ratio varied by more than 3x between runs. */
static char noisy(enum path up, enum mode um, enum path vp, enum mode vm,
		  unsigned int b)
{
	return spread(up, um, b) > 3 || spread(vp, vm, b) > 3 ? '*' : ' ';
}

static void target(const char *name, enum path up, enum mode um,
		   enum path vp, enum mode vm, unsigned int b, double goal)
{
	double r = ratio(up, um, vp, vm, b);

	printf("target %s: %.2fx (goal %.1fx) %s\n", name, r, goal,
	       r >= goal ? "met" : "missed");
	if (noisy(up, um, vp, vm, b) == '*')
		printf("  (noisy: %s %.1fx, %s %.1fx slowest/fastest run)\n",
		       path_names[up], spread(up, um, b), path_names[vp],
		       spread(vp, vm, b));
}

static void report(void)
{
	struct utsname u;
	unsigned int m, b;

	uname(&u);
	printf("\nbench-ring: NOP through the submission ring, ns per op "
	       "(fastest of %d runs of %.2f s; lower is better)\n", reps, secs);
	printf("kernel %s; submitter on CPU %d. QEMU TCG: absolute ns are "
	       "meaningless, compare ratios only.\n", u.release, cpu);
	printf("ratio = io_uring ns/op / Vanity ns/op: above 1.00x Vanity is "
	       "faster, below it io_uring is. *: a run of the pair was >3x "
	       "slower than its fastest (busy host).\n\n");
	printf("%-10s %5s | %12s %12s %8s | %13s %15s %8s\n", "mode", "batch",
	       "vanity-enter", "io_uring", "ratio", "vanity-sqpoll",
	       "io_uring-sqpoll", "ratio");
	for (m = 0; m < NMODE; m++)
		for (b = 0; b < NBATCH; b++)
			printf("%-10s %5u | %12.1f %12.1f %6.2fx%c | %13.1f %15.1f %6.2fx%c\n",
			       mode_names[m], batches[b], best(P_VENTER, m, b),
			       best(P_URING, m, b),
			       ratio(P_URING, m, P_VENTER, m, b),
			       noisy(P_URING, m, P_VENTER, m, b),
			       best(P_VSQPOLL, m, b), best(P_URING_SQPOLL, m, b),
			       ratio(P_URING_SQPOLL, m, P_VSQPOLL, m, b),
			       noisy(P_URING_SQPOLL, m, P_VSQPOLL, m, b));
	printf("\nEmpty kernel entries, ns (fastest of %d):", reps);
	for (m = 0; m < NFLOOR; m++)
		printf(" %s %.0f%s", floor_names[m], floors[m],
		       m + 1 < NFLOOR ? ";" : "\n");
	printf("\nVanity SQPOLL latency vs io_uring's syscall path (io_uring "
	       "ns/op / vanity-sqpoll ns/op):\n");
	for (b = 0; b < NBATCH; b++)
		printf("  batch %3u: %.2fx%c\n", batches[b],
		       ratio(P_URING, M_LAT, P_VSQPOLL, M_LAT, b),
		       noisy(P_URING, M_LAT, P_VSQPOLL, M_LAT, b));
	printf("\n");
	target("enter-throughput-batch1", P_URING, M_THR, P_VENTER, M_THR, 0, 1.0);
	target("enter-throughput-batch32", P_URING, M_THR, P_VENTER, M_THR, 2, 2.0);
	target("enter-throughput-batch128", P_URING, M_THR, P_VENTER, M_THR, 3, 2.0);
	target("sqpoll-latency-batch1-vs-io_uring-syscall", P_URING, M_LAT,
	       P_VSQPOLL, M_LAT, 0, 3.0);
}

/* Whether cell @p @m @b is the one RING_BENCH_ONLY names ("path/mode/batch"). */
static bool cell_is(const char *only, unsigned int p, unsigned int m,
		    unsigned int b)
{
	char name[64];

	snprintf(name, sizeof(name), "%s/%s/%u", path_names[p], mode_names[m],
		 batches[b]);
	return !strcmp(only, name);
}

static bool any_cell(const char *only)
{
	for (unsigned int p = 0; p < NPATH; p++)
		for (unsigned int m = 0; m < NMODE; m++)
			for (unsigned int b = 0; b < NBATCH; b++)
				if (cell_is(only, p, m, b))
					return true;
	return false;
}

int main(void)
{
	const char *e, *only = getenv("RING_BENCH_ONLY");
	unsigned int m, b;
	int rep, k;

	if (only && !*only)
		only = NULL;
	if ((e = getenv("RING_BENCH_SECS")))
		secs = strtod(e, NULL);
	if ((e = getenv("RING_BENCH_REPS")))
		reps = atoi(e);
	if ((e = getenv("RING_BENCH_CPU")))
		cpu = atoi(e);
	if (reps < 1 || reps > MAXREPS || secs <= 0)
		die("RING_BENCH_REPS in [1, 9], RING_BENCH_SECS > 0", EINVAL);
	if (only && !any_cell(only)) {
		fprintf(stderr, "bench-ring: RING_BENCH_ONLY=%s: no such cell (path/mode/batch, e.g. vanity-sqpoll/latency/1)\n",
			only);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	system_up();
	measure_floors();
	if (getenv("RING_BENCH_FLOORS_ONLY")) {
		for (k = 0; k < NFLOOR; k++)
			printf("floor %s: %.0f ns\n", floor_names[k], floors[k]);
		system_down();
		return 0;
	}
	/*
	 * Per repetition and cell, the four paths back to back (each set up
	 * afresh: no idle poller of another path spins meanwhile), in an
	 * order rotated per cell, so that drift on a shared host hits all.
	 */
	for (rep = 0; rep < reps; rep++) {
		fprintf(stderr, "bench-ring: rep %d/%d\n", rep + 1, reps);
		for (m = 0; m < NMODE; m++)
			for (b = 0; b < NBATCH; b++)
				for (k = 0; k < NPATH; k++) {
					enum path p = (rep + m + b + k) % NPATH;

					if (only && !cell_is(only, p, m, b))
						continue;
					switch (p) {
					case P_VENTER:
						bench_vanity(false, m, b, rep);
						break;
					case P_VSQPOLL:
						bench_vanity(true, m, b, rep);
						break;
					case P_URING:
						bench_uring(false, m, b, rep);
						break;
					default:
						bench_uring(true, m, b, rep);
					}
					usleep(5000);
				}
	}
	system_down();
	if (only) {
		/* One cell's every repetition, for looking into it. */
		for (m = 0; m < NMODE; m++)
			for (b = 0; b < NBATCH; b++)
				for (k = 0; k < NPATH; k++) {
					if (!cell_is(only, k, m, b))
						continue;
					printf("%s %s %u:", path_names[k],
					       mode_names[m], batches[b]);
					for (rep = 0; rep < reps; rep++)
						printf(" %.1f", results[k][m][b][rep]);
					printf(" ns/op\n");
				}
		return 0;
	}
	report();
	return 0;
}
