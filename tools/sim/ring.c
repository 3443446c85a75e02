// SPDX-License-Identifier: GPL-2.0
/*
 * The simulator's submission rings, a platform of the core's ring engine
 * (kmod/core/ring_engine.h), which decides everything an SQE does, as it
 * does for the module. Here: each attachment's ring memfd (the module's
 * layout, then the control page of wire.h) and the poller thread
 * that serves it, playing ENTER for the shard (enter_loop) or polling the
 * SQ (sqpoll_loop); the platform's mechanisms (clock, futex doorbells,
 * membarrier); and the sleeps, which watch the armed WAITs' channel words
 * and the nearest deadline, so armed ops complete with no call (the
 * engine's reap decides them at each look). Every word the shard can
 * write is read as hostile, and every sleep also watches a private stop
 * word, so no value in the ring can crash, stall or outlive the
 * simulator's hold on it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

#include <vanity/arch.h>

#include "sim_ring.h"
#include "ring_engine.h"
#include "wire.h"

/* ENTER mode: how long the poller looks for the next request awake. */
#define ENTER_SPIN_NS 20000
/* Sleeps without futex_waitv or membarrier: look again this often. */
#define FALLBACK_NAP_NS 1000000
/* Words one sleep watches besides the stop word (futex_waitv's limit). */
#define SLEEP_WORDS (FUTEX_WAITV_MAX - 1)

/* Armed ops alive in every ring of the process. */
static uint64_t armed_live;

struct vanity_sim_ring {
	/* set at start, then read-only */
	uint8_t *mem;
	size_t size;			/* ring + control page */
	struct vanity_ring_offsets off;
	struct vh_ring_ctl *ctl;
	struct vanity_sim_chan *chans;
	bool sqpoll;
	int64_t idle_ns;
	pthread_t thread;
	/* the poller's own: the engine's state, never read back from the ring */
	struct vanity_engine eng;
	/* private futex: 1 when the poller must leave */
	uint32_t stop;
};

static struct vanity_sim_ring *ring_of(struct vanity_engine *e)
{
	return (struct vanity_sim_ring *)((char *)e -
					  offsetof(struct vanity_sim_ring, eng));
}

/* ------------------------------------------------------------ helpers */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * @ns from now, by the core's rule (saturated: a shard's timeout cannot
 * wrap the clock), in this file's terms: < 0 for VANITY_NEVER, no deadline.
 */
static int64_t deadline_after(int64_t ns)
{
	int64_t d = vanity_deadline_after(now_ns(), ns);

	return d == VANITY_NEVER ? -1 : d;
}

static uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void wake_shared(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static bool stopping(const struct vanity_sim_ring *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

/* Whether the global expedited membarrier works here (learnt at first use). */
static int barrier_state = 1;	/* 1 unknown, 0 works, -1 does not */

/*
 * The module's barrier IPI to the peers' CPUs: every registered process
 * (each hosted shard registers at attach) runs a full barrier, so a
 * peer's fence-free publish is visible to us or it sees our flag.
 */
static bool peers_barrier(void)
{
	int st = __atomic_load_n(&barrier_state, __ATOMIC_RELAXED);

	if (st < 0)
		return false;
	if (!syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)) {
		if (st)
			__atomic_store_n(&barrier_state, 0, __ATOMIC_RELAXED);
		return true;
	}
	__atomic_store_n(&barrier_state, -1, __ATOMIC_RELAXED);
	return false;
}

/* 1 unknown, 0 futex_waitv works, -1 it does not (old kernel, valgrind). */
static int waitv_state = 1;

static bool waitv_usable(void)
{
	int st = __atomic_load_n(&waitv_state, __ATOMIC_RELAXED);

	if (st == 1) {
#ifdef RUNNING_ON_VALGRIND
		/* Valgrind does not know the call and says so at every use. */
		st = RUNNING_ON_VALGRIND ? -1 : 0;
#else
		st = 0;
#endif
		__atomic_store_n(&waitv_state, st, __ATOMIC_RELAXED);
	}
	return !st;
}

/*
 * Sleep until one of @n (<= SLEEP_WORDS) shared words leaves its value
 * in @vals, the deadline @deadline (CLOCK_MONOTONIC ns; < 0: none)
 * passes or the poller must stop. Returns 0 (look again: wakeups may be
 * spurious), -ETIME or -EINTR. Callers re-check their condition after
 * every return.
 */
static int sleep_on(struct vanity_sim_ring *r, uint32_t *const *words,
		    const uint32_t *vals, unsigned int n, int64_t deadline)
{
	struct futex_waitv w[FUTEX_WAITV_MAX];
	struct timespec ts;
	unsigned int k = 0, i;
	int64_t t;

	if (stopping(r))
		return -EINTR;
	memset(w, 0, sizeof(w[0]));
	w[k].uaddr = (uintptr_t)&r->stop;
	w[k++].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
	for (i = 0; i < n && k < FUTEX_WAITV_MAX; i++, k++) {
		w[k].val = vals[i];
		w[k].uaddr = (uintptr_t)words[i];
		w[k].flags = FUTEX_32;
		w[k].__reserved = 0;
	}
	if (deadline >= 0) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
	}
	if (waitv_usable()) {
		if (syscall(SYS_futex_waitv, w, k, 0, deadline >= 0 ? &ts : NULL,
			    CLOCK_MONOTONIC) >= 0 || errno == EAGAIN ||
		    errno == EINTR)
			return 0;
		if (errno == ETIMEDOUT)
			return -ETIME;
		if (errno == ENOSYS)
			__atomic_store_n(&waitv_state, -1, __ATOMIC_RELAXED);
	}
	/* No futex_waitv (older kernel, qemu-user, valgrind): a short nap. */
	t = now_ns();
	if (deadline >= 0 && t >= deadline)
		return -ETIME;
	ts.tv_sec = 0;
	ts.tv_nsec = deadline >= 0 && deadline - t < FALLBACK_NAP_NS ?
		     deadline - t : FALLBACK_NAP_NS;
	syscall(SYS_futex, &r->stop, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	return 0;
}

/* The earlier of @deadline (< 0: none) and one fallback nap from now. */
static int64_t nap_until(int64_t deadline)
{
	int64_t nap = deadline_after(FALLBACK_NAP_NS);

	return deadline >= 0 && deadline < nap ? deadline : nap;
}

/* ------------------------------------------------------------ platform */

static s64 plat_now(struct vanity_engine *e)
{
	(void)e;
	return now_ns();
}

/*
 * The simulator's DOWN is its stop, which ends the poller before anything
 * else is issued or decided (and ENTER's -ENODEV is the control page's).
 */
static bool plat_dead(struct vanity_engine *e)
{
	(void)e;
	return false;
}

static struct vanity_engine_chan *plat_chan(struct vanity_engine *e, u32 ch)
{
	return &ring_of(e)->chans[ch].eng;
}

/* Every sleeper on the peer's word: its thread and any WAIT of its poller. */
static void plat_ring(struct vanity_engine *e, u32 ch, bool peer_consumer)
{
	wake_shared(vanity_bell_word(ring_of(e)->chans[ch].hdr, peer_consumer),
		    INT_MAX);
}

/* Armed ops are the poller's own memory, never shared. */
static struct vanity_armed *plat_alloc(struct vanity_engine *e,
				       unsigned int nends)
{
	struct vanity_armed *a;

	(void)e;
	a = malloc(sizeof(*a) + nends * sizeof(struct vanity_armed_end));
	if (!a)
		return NULL;
	a->w = (struct vanity_armed_end *)(a + 1);
	__atomic_fetch_add(&armed_live, 1, __ATOMIC_RELAXED);
	return a;
}

static void plat_free(struct vanity_engine *e, struct vanity_armed *a)
{
	(void)e;
	free(a);
	__atomic_fetch_sub(&armed_live, 1, __ATOMIC_RELAXED);
}

/* The poller's sleeps watch the channel's word (sleep_armed). */
static int plat_watch(struct vanity_engine *e, struct vanity_armed *a,
		      unsigned int i)
{
	a->w[i].hdr = ring_of(e)->chans[a->w[i].chan].hdr;
	return 0;
}

static void plat_unwatch(struct vanity_engine *e, struct vanity_armed *a,
			 unsigned int i)
{
	(void)e;
	(void)a;
	(void)i;
}

static bool plat_peer_barrier(struct vanity_engine *e, u32 peer)
{
	(void)e;
	(void)peer;
	return peers_barrier();
}

/* Deadlines need no timer: the poller's sleeps end at the nearest. */
static void plat_timer(struct vanity_engine *e, struct vanity_armed *a)
{
	(void)e;
	(void)a;
}

/* Wake a shard sleeping for CQEs (ENTER with GETEVENTS). */
static void plat_wake_cq(struct vanity_engine *e)
{
	struct vanity_sim_ring *r = ring_of(e);

	/* Our cq_tail before its flag; pairs with the shard's fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->ctl->cq_waiting, __ATOMIC_RELAXED))
		wake_shared(e->cq_tail, INT_MAX);
}

static const struct vanity_ring_platform sim_platform = {
	.now = plat_now,
	.dead = plat_dead,
	.chan = plat_chan,
	.ring = plat_ring,
	.alloc = plat_alloc,
	.free = plat_free,
	.watch = plat_watch,
	.unwatch = plat_unwatch,
	.peer_barrier = plat_peer_barrier,
	.timer_start = plat_timer,
	.timer_cancel = plat_timer,
	.wake_cq = plat_wake_cq,
};

int vanity_sim_ring_ops_check(void)
{
	return vanity_engine_ops_check();
}

/* Any SQE but a plain NOP, out of line as the module's. */
static noinline int ring_issue(struct vanity_engine *e, const u64 *src,
			       bool poller, u64 *ud)
{
	return vanity_engine_issue(e, &sim_platform, src, poller, ud);
}

/* Consume up to @max SQEs (the engine's rules) and wake CQ sleepers. */
static int ring_submit(struct vanity_sim_ring *r, uint32_t max, bool poller)
{
	int n = vanity_engine_submit(&r->eng, &sim_platform, max, poller,
				     ring_issue);

	if (n > 0)
		plat_wake_cq(&r->eng);
	return n;
}

/*
 * Complete every armed op the engine decides on now; the nearest deadline
 * left in *@next (< 0: none) if asked for.
 */
static unsigned int armed_reap(struct vanity_sim_ring *r, int64_t *next)
{
	int64_t near;
	unsigned int n = vanity_engine_reap(&r->eng, &sim_platform, now_ns(),
					    &near);

	if (n)
		plat_wake_cq(&r->eng);
	if (next)
		*next = near == VANITY_NEVER ? -1 : near;
	return n;
}

/* Detach, stop: every armed op goes, flags down, no CQE posted. */
static void armed_cancel_all(struct vanity_sim_ring *r)
{
	struct vanity_armed *a;
	bool busy;

	/* Nothing claims an op but this thread: never busy here. */
	while ((a = vanity_engine_cancel_next(&r->eng, &sim_platform, &busy)))
		vanity_engine_discard(&r->eng, &sim_platform, a);
}

/*
 * The poller's sleep: until *@word leaves @val, the poller must stop,
 * @deadline (< 0: none) or the nearest armed deadline passes, or a
 * channel an armed WAIT holds moves; then complete what is ready or
 * expired. The channel words' values are read before the armed ops are
 * looked at, so a peer's move after that look fails the futex compare
 * instead of being missed. Beyond futex_waitv's limit, or for a WAIT
 * armed without the peers' barrier, short naps instead.
 */
static void sleep_armed(struct vanity_sim_ring *r, uint32_t *word,
			uint32_t val, int64_t deadline)
{
	uint64_t seen[VANITY_MAX_CHANNELS * 2 / 64] = { 0 };
	uint32_t *words[SLEEP_WORDS], vals[SLEEP_WORDS];
	const struct vanity_armed_end *w;
	struct vanity_armed *a;
	unsigned int n = 0, i, k;
	bool nap = false;
	int64_t near;

	words[n] = word;
	vals[n++] = val;
	for (a = r->eng.armed; a && !nap; a = a->next) {
		nap = !a->strong;
		for (i = 0; i < a->n && !nap; i++) {
			w = &a->w[i];
			k = w->chan * 2u + w->consumer;
			if ((seen[k / 64] >> (k % 64)) & 1)
				continue;
			if (n == SLEEP_WORDS) {
				nap = true;
				break;
			}
			seen[k / 64] |= 1ULL << (k % 64);
			words[n] = vanity_bell_word(w->hdr, w->consumer);
			vals[n] = ld(words[n]);
			n++;
		}
	}
	if (armed_reap(r, &near))
		return;
	if (near >= 0 && (deadline < 0 || near < deadline))
		deadline = near;
	if (nap)
		deadline = nap_until(deadline);
	if (sleep_on(r, words, vals, n, deadline) != -EINTR)
		armed_reap(r, NULL);
}

/* ENTER mode: serve each request the shard numbers in req_seq. */
static void enter_loop(struct vanity_sim_ring *r)
{
	struct vh_ring_ctl *c = r->ctl;
	uint32_t last = 0, seq, n;
	int64_t spin_end = now_ns() + ENTER_SPIN_NS;
	unsigned int i = 0;
	int res;

	while (!stopping(r)) {
		/* Acquire: the request's fields after its number. */
		seq = ld(&c->req_seq);
		if (seq == last) {
			if (r->eng.armed)
				armed_reap(r, NULL);
			/* Awake a while: back-to-back ENTERs need no futex. */
			if (++i % 64 || now_ns() < spin_end) {
				vanity_cpu_relax();
				continue;
			}
			__atomic_store_n(&c->poller_sleeping, 1, __ATOMIC_RELAXED);
			/* Our flag before our look; pairs with the shard's fence. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			seq = ld(&c->req_seq);
			if (seq == last)
				sleep_armed(r, &c->req_seq, seq, -1);
			__atomic_store_n(&c->poller_sleeping, 0, __ATOMIC_RELAXED);
			continue;
		}
		last = seq;
		n = __atomic_load_n(&c->req_to_submit, __ATOMIC_RELAXED);
		res = n ? ring_submit(r, n, false) : 0;
		__atomic_store_n(&c->done_res, res, __ATOMIC_RELAXED);
		/* The batch's YIELDs: the shard runs them once, after ENTER. */
		__atomic_store_n(&c->done_yield,
				 !!vanity_engine_take_yields(&r->eng),
				 __ATOMIC_RELAXED);
		/* Release: the CQEs and the result before the answer's number. */
		__atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->done_waiting, __ATOMIC_RELAXED))
			wake_shared(&c->done_seq, INT_MAX);
		spin_end = now_ns() + ENTER_SPIN_NS;
		i = 0;
	}
}

/*
 * SQPOLL: consume without ENTER; after idle_ns without work the engine
 * raises NEED_WAKEUP and says whether to sleep until ENTER bumps kick,
 * nap while the CQ is full (the shard frees room without a call), or go
 * on. Each SQE is consumed once because only this thread moves head.
 * Armed ops complete between polls and from the sleeps, which never end
 * for them alone.
 */
static void sqpoll_loop(struct vanity_sim_ring *r)
{
	struct vh_ring_ctl *c = r->ctl;
	struct vanity_engine *e = &r->eng;
	int64_t last = now_ns();
	enum vanity_idle idle;
	unsigned int spins = 0;
	uint32_t k;
	bool slept;
	int n;

	while (!stopping(r)) {
		n = ring_submit(r, r->off.sq_entries, true);
		if (e->armed)
			armed_reap(r, NULL);
		if (n > 0) {
			last = now_ns();
			spins = 0;
			continue;
		}
		/* n < 0: the CQ is full; nothing to do until the shard reaps. */
		if (now_ns() - last < r->idle_ns) {
			/* Spinning, but never hogging a CPU from the shards. */
			if (++spins % 256 == 0)
				sched_yield();
			else
				vanity_cpu_relax();
			continue;
		}
		k = __atomic_load_n(&c->kick, __ATOMIC_ACQUIRE);
		idle = vanity_engine_idle_begin(e, n < 0);
		slept = false;
		if (idle == VANITY_IDLE_NAP) {
			/* Reaping makes no call: look for room every nap. */
			while (!stopping(r) && ld(&c->kick) == k &&
			       !vanity_engine_cq_room(e, e->cqt, 1)) {
				sleep_armed(r, &c->kick, k,
					    deadline_after(VANITY_CQ_FULL_NAP_NS));
				slept = true;
			}
		} else if (idle == VANITY_IDLE_SLEEP) {
			while (!stopping(r) && ld(&c->kick) == k) {
				sleep_armed(r, &c->kick, k, -1);
				slept = true;
			}
		}
		vanity_engine_idle_end(e, slept);
		last = now_ns();
		spins = 0;
	}
}

static void *poller(void *arg)
{
	struct vanity_sim_ring *r = arg;

	if (r->sqpoll)
		sqpoll_loop(r);
	else
		enter_loop(r);
	return NULL;
}

/* A memfd the shard cannot shrink under our mapping (SIGBUS otherwise). */
static int sealed_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), ret;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int vanity_sim_ring_start(struct vanity_sim_ring **out, int *fd,
			  struct vanity_ring_offsets *off, unsigned int shard,
			  const char *name, uint32_t entries, uint32_t flags,
			  uint32_t idle_us, const void *img,
			  struct vanity_sim_chan *chans,
			  struct vanity_ring_ctr *ctr)
{
	struct vanity_sim_ring *r;
	sigset_t all, old;
	char comm[16];
	uint8_t *p;
	int ret;

	if (flags & ~VANITY_ATTACH_SQPOLL || !entries ||
	    entries & (entries - 1) || entries > VANITY_RING_ENTRIES_MAX)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->size = vanity_ring_layout(entries, &r->off) + VH_CTL_SIZE;
	*fd = sealed_memfd("vanity-ring", r->size);
	if (*fd < 0) {
		ret = *fd;
		free(r);
		return ret;
	}
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_fd;
	}
	r->mem = p;
	r->ctl = (struct vh_ring_ctl *)(p + r->off.size);
	vanity_engine_init(&r->eng, p, &r->off, img, shard, ctr);
	r->chans = chans;
	r->sqpoll = flags & VANITY_ATTACH_SQPOLL;
	r->idle_ns = vanity_sqpoll_idle_ns(idle_us);
	/* Signals are the main thread's: block them all in the poller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&r->thread, NULL, poller, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err_map;
	snprintf(comm, sizeof(comm), "vsq/%s", name);
	pthread_setname_np(r->thread, comm);
	*off = r->off;
	*out = r;
	return 0;
err_map:
	munmap(r->mem, r->size);
err_fd:
	close(*fd);
	*fd = -1;
	free(r);
	return ret;
}

void vanity_sim_ring_stop(struct vanity_sim_ring *r)
{
	if (!r)
		return;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &r->stop, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	pthread_join(r->thread, NULL);
	/* Nothing armed outlives the attachment that submitted it. */
	armed_cancel_all(r);
	/* A shard still waiting in ENTER gets -ENODEV, not a hang. */
	__atomic_store_n(&r->ctl->dead, 1, __ATOMIC_RELEASE);
	wake_shared(&r->ctl->done_seq, INT_MAX);
	wake_shared(r->eng.cq_tail, INT_MAX);
	munmap(r->mem, r->size);
	free(r);
}

bool vanity_sim_ring_sqpoll(const struct vanity_sim_ring *r)
{
	return r && r->sqpoll;
}

uint64_t vanity_sim_ring_armed_live(void)
{
	return __atomic_load_n(&armed_live, __ATOMIC_RELAXED);
}
