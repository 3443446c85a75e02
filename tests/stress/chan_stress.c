// SPDX-License-Identifier: GPL-2.0
/*
 * chan_stress: the channel protocol between two processes, no module.
 *
 * A producer process and a consumer process share one region (shared
 * anonymous memory made before fork, formatted with vanity_channel_format,
 * each end bound with vanity_channel_bind) and move --messages messages
 * per slot size. Message k carries k (xor a key) in its first 8 bytes
 * and a pattern derived from k in every other byte; the consumer checks
 * every byte of every slot against k, its own count, so loss, duplication,
 * reordering, a stale slot from an earlier lap, a torn slot and a slot
 * never written all fail. Bursts are random in 1..--max-burst on each
 * side independently, and each call picks the copy API (send_burst/
 * recv_burst), the zero-copy API (reserve/slot/commit, peek/peek_slot/
 * release, sometimes in pieces or with a prefix only) or a single
 * send/recv.
 *
 * Modes:
 *   spin     (default) non-blocking calls; a full or empty ring spins
 *            with sched_yield. No doorbell.
 *   blocking vanity_wait_space/vanity_wait_data and vanity_send_wait/
 *            vanity_recv_wait with a small spin budget: the doorbell
 *            (tests/stress/hosted_bell.c) is used all the time.
 *   sleepy   spin budget 0 (every full/empty wait sleeps), random 0-20 us
 *            delays or sched_yield on both sides, and probes: after a
 *            commit the producer sometimes waits (polling, bounded) for
 *            the ring to drain, which only happens if the consumer's
 *            wakeup arrived; the consumer does the same for a producer
 *            it had to wake.
 *
 * In the blocking modes every wait has a finite timeout (--stuck-ms). A
 * wait whose doorbell timed out although its condition was true, or a
 * probe that saw no progress within the timeout, is a lost wakeup and
 * fails the run when the peer cannot be about to ring: it is asleep in
 * FUTEX_WAIT ('S' in /proc, not merely woken and waiting for a CPU), in a
 * probe, or done. Otherwise the peer is busy or starved of CPU (a loaded
 * machine can keep a runnable process off the CPU for a second or more):
 * that is counted as "suspect" and waited out, up to five timeouts, after
 * which the run fails as stalled; so does a side that moved nothing for
 * five timeouts (both ends asleep). After each pass the region header must agree with what
 * both sides did: head, tail, messages, bursts, stalls, sleeps (doorbell
 * waits) and wakeups (doorbells rung).
 *
 * --inject KIND[@K] breaks the run on purpose (the checker must fail):
 * byte, tear, skip, dup, swap at message K; nowake drops the producer's
 * doorbells from the K-th on and forces a drain probe after each.
 * --no-membarrier leaves the handshake out of the doorbell: on x86 the
 * two-slot sleepy pass then loses a wakeup now and then (store buffering).
 *
 * Exit status: 0 when every pass passed, 1 when one failed, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <vanity.h>

#include "hosted_bell.h"

#define MAX_SIZES	8
#define MAX_BURST	64

enum mode { MODE_SPIN, MODE_BLOCKING, MODE_SLEEPY };
static const char *const mode_names[] = { "spin", "blocking", "sleepy" };

enum inject {
	INJ_NONE, INJ_BYTE, INJ_TEAR, INJ_SKIP, INJ_DUP, INJ_SWAP, INJ_NOWAKE,
};
static const char *const inject_names[] = {
	"none", "byte", "tear", "skip", "dup", "swap", "nowake",
};

struct opts {
	uint64_t messages;
	uint32_t start;
	uint32_t slots;
	uint32_t sizes[MAX_SIZES];
	unsigned int nsizes;
	enum mode mode;
	uint32_t spin_ns;
	unsigned int max_burst;
	uint64_t seed;
	unsigned int stuck_ms;
	unsigned int time_limit_s;
	bool pin;
	bool quiet;
	bool no_membarrier;
	enum inject inject;
	uint64_t inject_at;
};

/* What one side reports to the parent, in shared memory. */
struct side_result {
	uint64_t moved;		/* messages moved */
	uint64_t bursts;	/* calls that moved at least one */
	uint64_t stalls;	/* direct calls that found full/empty */
	uint64_t api[4];	/* copy, zero-copy, single, blocking single */
	uint64_t waits;		/* wait_space/wait_data calls */
	uint64_t slow;		/* waits that timed out, condition false */
	uint64_t lost;		/* lost wakeups detected */
	uint64_t probes;	/* progress probes run */
	uint64_t drops;		/* injected dropped doorbells */
	struct hosted_bell bell;
	uint64_t elapsed_ns;
	uint64_t suspect;	/* timeouts blamed on a busy or starved peer */
	int where;		/* enum where: what the side is doing now */
	int64_t since;		/* and since when (doorbell modes) */
	/* Read by the peer on every call: a line the owner rarely writes. */
	int failed __attribute__((aligned(128)));
	int ready;
	int done;
	int pid;
	char why[512];
};

enum where { AT_START, AT_CALL, AT_WAIT, AT_PROBE, AT_DELAY, AT_END };
static const char *const where_names[] = {
	"starting", "in a channel call", "in a doorbell wait", "in a probe",
	"in a random delay", "finished",
};

struct shared {
	struct side_result prod, cons;
};

struct side {
	struct vanity_channel ch;
	struct hosted_bell *hb;
	const struct opts *o;
	struct side_result *res;
	struct side_result *peer;
	uint64_t rng;
	uint8_t *buf;
	uint32_t size;
	int64_t deadline;
	int64_t stuck_ns;
	int64_t progress;	/* when this side last moved a message */
	unsigned int iter;
	char stall[192];	/* what poll_until saw when it gave up */
	bool stall_lost;	/* and whether the peer was asleep then */
};

/* ------------------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A process's scheduler state from /proc: 'R', 'S', ..., or '?'. */
static char proc_state(int pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

/*
 * The peer cannot be about to ring us: it is asleep in FUTEX_WAIT (not
 * merely woken and waiting for a CPU: that is 'R'), polling in a probe,
 * or done. A heavily loaded machine can leave a runnable peer off the CPU
 * for seconds; that is not a lost wakeup.
 */
static bool peer_quiet(struct side *s)
{
	int w = __atomic_load_n(&s->peer->where, __ATOMIC_RELAXED);
	int ph = __atomic_load_n(&s->peer->bell.phase, __ATOMIC_RELAXED);

	if (w == AT_PROBE || w == AT_END)
		return true;
	return ph == HB_FUTEX && proc_state(s->peer->pid) == 'S';
}

/* Where this side is, for the peer's diagnosis of a stall. */
static void at(struct side *s, enum where w)
{
	__atomic_store_n(&s->res->where, w, __ATOMIC_RELAXED);
	if (s->o->mode != MODE_SPIN)
		__atomic_store_n(&s->res->since, now_ns(), __ATOMIC_RELAXED);
}

/* The peer's state and the header's, after a probe saw no progress. */
static void stall_report(struct side *s, char *buf, size_t len)
{
	const struct vanity_chan_hdr *h = s->ch.hdr;
	int w = __atomic_load_n(&s->peer->where, __ATOMIC_RELAXED);
	int64_t since = __atomic_load_n(&s->peer->since, __ATOMIC_RELAXED);
	int ph = __atomic_load_n(&s->peer->bell.phase, __ATOMIC_RELAXED);

	snprintf(buf, len, "the peer is %s%s since %" PRId64 " ms, state "
		 "%c; head %u tail %u cons_waiting %u prod_waiting %u",
		 w >= 0 && w <= AT_END ? where_names[w] : "?",
		 ph == HB_MEMBARRIER ? " (in membarrier)" :
		 ph == HB_FUTEX ? " (in FUTEX_WAIT)" : "",
		 (now_ns() - since) / 1000000, proc_state(s->peer->pid),
		 __atomic_load_n(&h->head, __ATOMIC_RELAXED),
		 __atomic_load_n(&h->tail, __ATOMIC_RELAXED),
		 __atomic_load_n(&h->cons_waiting, __ATOMIC_RELAXED),
		 __atomic_load_n(&h->prod_waiting, __ATOMIC_RELAXED));
}

static uint64_t rnd(struct side *s)
{
	/* xorshift64* */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#define WORD_STEP 0x9e3779b97f4a7c15ULL
/* Word 0 is k ^ this, so that no message is all zeroes like a fresh slot. */
#define WORD0_KEY 0x5a5aa5a5c3c33c3cULL

/* Message @k: k ^ key in word 0, mix(k) + i * step in word i: every byte. */
static void gen(uint8_t *p, uint32_t size, uint64_t k)
{
	uint64_t x = mix64(k), w = k ^ WORD0_KEY;
	uint32_t i;

	if (size >= 8) {
		memcpy(p, &w, 8);
	} else {
		memcpy(p, &w, size);
		return;
	}
	for (i = 8; i + 8 <= size; i += 8) {
		w = x + (uint64_t)i * WORD_STEP;
		memcpy(p + i, &w, 8);
	}
	if (i < size) {
		w = x + (uint64_t)i * WORD_STEP;
		memcpy(p + i, &w, size - i);
	}
}

static bool check(const uint8_t *p, uint32_t size, uint64_t k,
		  char *why, size_t len)
{
	uint8_t want[4096];
	uint64_t got = 0;
	uint32_t i;

	gen(want, size, k);
	if (!memcmp(p, want, size))
		return true;
	for (i = 0; i < size && p[i] == want[i]; i++)
		;
	memcpy(&got, p, size < 8 ? size : 8);
	got ^= WORD0_KEY;
	snprintf(why, len,
		 "message %" PRIu64 ": byte %u of %u is 0x%02x, want 0x%02x "
		 "(slot's word 0 says message %" PRIu64 ")",
		 k, i, size, p[i], want[i], got);
	return false;
}

static void fail(struct side *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct side *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->res->failed) {
		va_start(ap, fmt);
		vsnprintf(s->res->why, sizeof(s->res->why), fmt, ap);
		va_end(ap);
	}
	s->res->failed = 1;
}

static void cpu_delay_ns(int64_t ns)
{
	int64_t end = now_ns() + ns;

	while (now_ns() < end)
		vanity_cpu_relax();
}

/* Sleepy mode: nothing, a 0-20 us busy wait, or a yield. */
static void random_delay(struct side *s)
{
	uint64_t r = rnd(s);

	at(s, AT_DELAY);
	switch (r & 3) {
	case 1:
		cpu_delay_ns((int64_t)((r >> 8) % 20001));
		break;
	case 2:
		sched_yield();
		break;
	default:
		break;
	}
}

static unsigned int burst(struct side *s, uint64_t left)
{
	unsigned int b = 1 + (unsigned int)(rnd(s) % s->o->max_burst);

	return left < b ? (unsigned int)left : b;
}

static bool time_up(struct side *s)
{
	if (++s->iter % 1024)
		return false;
	if (now_ns() < s->deadline)
		return false;
	fail(s, "time limit of %u s reached after %" PRIu64 " messages",
	     s->o->time_limit_s, s->res->moved);
	return true;
}

/* Spin mode: the ring was full or empty; back off without a doorbell. */
static bool idle(struct side *s, unsigned int *spins, int64_t *since)
{
	if (!*spins)
		*since = now_ns();
	if (++*spins % 128) {
		vanity_cpu_relax();
		return true;
	}
	sched_yield();
	if (now_ns() - *since > 10 * s->stuck_ns) {
		fail(s, "no progress for %" PRId64 " ms at message %" PRIu64,
		     (now_ns() - *since) / 1000000, s->res->moved);
		return false;
	}
	return true;
}

/*
 * A wait timed out and its condition is false: the peer did not move. It
 * may be slow (descheduled), or stuck itself, and then it reports why.
 * Nobody moving at all for several timeouts is a deadlock (both asleep:
 * a lost wakeup, or a ring whose slots were corrupted).
 */
static bool slow_wait(struct side *s)
{
	int64_t idle_ns = now_ns() - s->progress;

	s->res->slow++;
	if (idle_ns > 5 * s->stuck_ns) {
		fail(s, "no progress for %" PRId64 " ms at message %" PRIu64
		     ": both ends asleep?", idle_ns / 1000000, s->res->moved);
		return false;
	}
	return !s->peer->failed;
}

/*
 * A doorbell wait timed out, yet its condition held when it returned: the
 * peer published (or freed space) without waking us. A lost wakeup,
 * unless the peer may still be on its way to ringing (busy or starved).
 * True when that failed the run.
 */
static bool slept_through(struct side *s, const char *call)
{
	char peer[192];

	if (!peer_quiet(s)) {
		s->res->suspect++;
		return false;
	}
	stall_report(s, peer, sizeof(peer));
	s->res->lost++;
	fail(s, "lost wakeup: %s slept %u ms although %s at message %" PRIu64
	     "; %s", call, s->o->stuck_ms,
	     s->ch.role == VANITY_ROLE_FROM ? "the ring had space" :
	     "a message was published", s->res->moved, peer);
	return true;
}

/*
 * Blocking modes: the ring was full (producer) or empty (consumer). A
 * doorbell that timed out while the condition held is a lost wakeup:
 * block() returns 0 then, so the bell's own timeout count tells.
 */
static bool wait_peer(struct side *s)
{
	bool prod = s->ch.role == VANITY_ROLE_FROM;
	uint64_t before = s->hb->timeouts;
	int ret;

	at(s, AT_WAIT);
	s->res->waits++;
	ret = prod ? vanity_wait_space(&s->ch, s->stuck_ns) :
		     vanity_wait_data(&s->ch, s->stuck_ns);
	if (!ret && s->hb->timeouts != before)
		return !slept_through(s, prod ? "vanity_wait_space" :
				      "vanity_wait_data");
	if (ret == -ETIME)
		return slow_wait(s);
	if (ret && ret != -EINTR) {
		fail(s, "%s: %s", prod ? "vanity_wait_space" :
		     "vanity_wait_data", strerror(-ret));
		return false;
	}
	return true;
}

/* Poll (never sleep on the doorbell) until @cond holds or stuck_ns. */
static bool poll_until(struct side *s, bool (*cond)(struct side *, uint32_t),
		       uint32_t arg)
{
	int64_t t0 = now_ns(), end = t0 + s->stuck_ns;
	int64_t hard_end = t0 + 5 * s->stuck_ns;
	unsigned int n = 0;
	bool suspect = false;

	at(s, AT_PROBE);
	s->res->probes++;
	while (!cond(s, arg)) {
		if (++n % 16) {
			vanity_cpu_relax();
			continue;
		}
		sched_yield();
		if (s->peer->failed)
			return true;
		if (now_ns() < end)
			continue;
		if (cond(s, arg))
			break;
		/* Asleep with work to do: nobody woke it. */
		s->stall_lost = peer_quiet(s);
		if (s->stall_lost || now_ns() > hard_end) {
			stall_report(s, s->stall, sizeof(s->stall));
			return false;
		}
		/* Runnable but not running, or busy: give it time. */
		if (!suspect)
			s->res->suspect++;
		suspect = true;
	}
	return true;
}

static bool drained(struct side *s, uint32_t pos)
{
	return __atomic_load_n(&s->ch.hdr->tail, __ATOMIC_ACQUIRE) == pos;
}

static bool head_moved(struct side *s, uint32_t head)
{
	return __atomic_load_n(&s->ch.hdr->head, __ATOMIC_ACQUIRE) != head;
}

/* ------------------------------------------------------------------ */
/* Fault injection: the payload of send position @k, and doorbell drops. */

static uint64_t inj_seq(const struct opts *o, uint64_t k)
{
	switch (o->inject) {
	case INJ_SKIP:
		return k >= o->inject_at ? k + 1 : k;
	case INJ_DUP:
		return k > o->inject_at ? k - 1 : k;
	case INJ_SWAP:
		if (k == o->inject_at)
			return k + 1;
		if (k == o->inject_at + 1)
			return k - 1;
		return k;
	default:
		return k;
	}
}

static void make_msg(struct side *s, uint8_t *p, uint64_t k)
{
	const struct opts *o = s->o;

	gen(p, s->size, inj_seq(o, k));
	if (k != o->inject_at)
		return;
	if (o->inject == INJ_BYTE) {
		p[(k * 7) % s->size] ^= 0x10;
	} else if (o->inject == INJ_TEAR) {
		uint8_t old[4096];

		/* First half from the previous message: a torn slot. */
		gen(old, s->size, k - 1);
		memcpy(p, old, (s->size + 1) / 2);
	}
}

static uint64_t wakes_seen;
static bool wake_dropped;
static const struct opts *bell_opts;

static int drop_wait(struct vanity_channel *ch, uint32_t expect,
		     int64_t timeout_ns)
{
	return hosted_bell_ops.wait(ch, expect, timeout_ns);
}

/*
 * Producer only: swallow its doorbells from the inject_at-th on, reporting
 * success. (One dropped doorbell alone is often harmless: the consumer had
 * raised its flag but not yet slept, and saw the message itself.)
 */
static int drop_wake(struct vanity_channel *ch)
{
	if (bell_opts->inject == INJ_NOWAKE && ch->role == VANITY_ROLE_FROM &&
	    ++wakes_seen >= bell_opts->inject_at) {
		wake_dropped = true;
		return 0;
	}
	return hosted_bell_ops.wake(ch);
}

static const struct vanity_bell_ops drop_bell_ops = {
	.wait = drop_wait,
	.wake = drop_wake,
};

/* ------------------------------------------------------------------ */

static void producer(struct side *s)
{
	const struct opts *o = s->o;
	struct vanity_channel *ch = &s->ch;
	uint64_t k = 0, n = o->messages;
	unsigned int spins = 0;
	int64_t since = 0;

	while (k < n && !s->res->failed && !s->peer->failed) {
		unsigned int want = burst(s, n - k), got = 0, i, j;
		uint64_t r = rnd(s);
		int api = (int)(r % 8);

		if (time_up(s))
			break;
		at(s, AT_CALL);
		if (api == 7 && o->mode == MODE_SPIN)
			api = 6;
		if (api <= 2) {			/* copy */
			for (i = 0; i < want; i++)
				make_msg(s, s->buf + (size_t)i * s->size, k + i);
			got = vanity_send_burst(ch, s->buf, want);
			s->res->api[0]++;
			if (got)
				s->res->bursts++;
		} else if (api <= 5) {		/* zero-copy */
			got = vanity_reserve(ch, want);
			for (i = 0; i < got; i++)
				make_msg(s, vanity_slot(ch, i), k + i);
			/* Sometimes a prefix only, sometimes in two pieces. */
			if (got > 1 && (r >> 8) % 4 == 0)
				got = 1 + (unsigned int)((r >> 16) % got);
			if (got > 1 && (r >> 24) % 3 == 0) {
				j = 1 + (unsigned int)((r >> 32) % (got - 1));
				vanity_commit(ch, j);
				vanity_commit(ch, got - j);
				s->res->bursts += 2;
			} else if (got) {
				vanity_commit(ch, got);
				s->res->bursts++;
			} else {
				vanity_commit(ch, 0);	/* a no-op */
			}
			s->res->api[1]++;
		} else if (api == 6) {		/* single */
			make_msg(s, s->buf, k);
			got = vanity_send(ch, s->buf) ? 0 : 1;
			s->res->api[2]++;
			s->res->bursts += got;
		} else {			/* blocking single */
			uint64_t before = s->hb->timeouts;
			int ret;

			make_msg(s, s->buf, k);
			at(s, AT_WAIT);
			ret = vanity_send_wait(ch, s->buf, s->stuck_ns);
			s->res->api[3]++;
			if (!ret) {
				got = 1;
				s->res->bursts++;
				if (s->hb->timeouts != before)
					slept_through(s, "vanity_send_wait");
			} else if (ret == -ETIME) {
				slow_wait(s);
			} else {
				fail(s, "vanity_send_wait: %s", strerror(-ret));
			}
		}
		k += got;
		s->res->moved = k;
		if (got) {
			spins = 0;
			s->progress = now_ns();
			if (wake_dropped) {
				/* The consumer sleeps unwoken: the probe fails. */
				wake_dropped = false;
				s->res->drops++;
				if (!poll_until(s, drained, ch->pos))
					fail(s, "%s: the consumer did not drain "
					     "the ring after message %" PRIu64
					     " (dropped doorbell): %s",
					     s->stall_lost ? "lost wakeup" :
					     "stalled", k, s->stall);
			} else if (o->mode == MODE_SLEEPY && (r >> 40) % 4 == 0 &&
				   !poll_until(s, drained, ch->pos)) {
				s->res->lost += s->stall_lost;
				fail(s, "%s: the consumer did not drain the ring "
				     "after message %" PRIu64 ": %s",
				     s->stall_lost ? "lost wakeup" : "stalled",
				     k, s->stall);
			}
		} else if (api != 7) {
			s->res->stalls++;
			if (o->mode == MODE_SPIN ? !idle(s, &spins, &since) :
			    !wait_peer(s))
				break;
		}
		if (o->mode == MODE_SLEEPY)
			random_delay(s);
	}
}

static void consumer(struct side *s)
{
	const struct opts *o = s->o;
	struct vanity_channel *ch = &s->ch;
	uint64_t k = 0, n = o->messages;
	unsigned int spins = 0;
	int64_t since = 0;
	char why[256];

	while (k < n && !s->res->failed && !s->peer->failed) {
		unsigned int want = burst(s, n - k), got = 0, i, j;
		uint64_t r = rnd(s);
		int api = (int)(r % 8);
		uint32_t head0 = 0, waiting = 0;

		if (time_up(s))
			break;
		at(s, AT_CALL);
		if (api == 7 && o->mode == MODE_SPIN)
			api = 6;
		if (o->mode == MODE_SLEEPY) {
			/* Before the release that may have to wake it. */
			head0 = __atomic_load_n(&ch->hdr->head,
						__ATOMIC_ACQUIRE);
			waiting = __atomic_load_n(&ch->hdr->prod_waiting,
						  __ATOMIC_RELAXED);
		}
		if (api <= 2) {			/* copy */
			got = vanity_recv_burst(ch, s->buf, want);
			for (i = 0; i < got; i++)
				if (!check(s->buf + (size_t)i * s->size, s->size,
					   k + i, why, sizeof(why)))
					break;
			s->res->api[0]++;
			if (got)
				s->res->bursts++;
			if (i < got) {
				fail(s, "recv_burst: %s", why);
				break;
			}
		} else if (api <= 5) {		/* zero-copy, checked in place */
			got = vanity_peek(ch, want);
			for (i = 0; i < got; i++)
				if (!check(vanity_peek_slot(ch, i), s->size, k + i,
					   why, sizeof(why)))
					break;
			s->res->api[1]++;
			if (i < got) {
				fail(s, "peek: %s", why);
				break;
			}
			if (got > 1 && (r >> 8) % 4 == 0)
				got = 1 + (unsigned int)((r >> 16) % got);
			if (got > 1 && (r >> 24) % 3 == 0) {
				j = 1 + (unsigned int)((r >> 32) % (got - 1));
				vanity_release(ch, j);
				vanity_release(ch, got - j);
				s->res->bursts += 2;
			} else if (got) {
				vanity_release(ch, got);
				s->res->bursts++;
			} else {
				vanity_release(ch, 0);	/* a no-op */
			}
		} else if (api == 6) {		/* single */
			got = vanity_recv(ch, s->buf) ? 0 : 1;
			s->res->api[2]++;
			s->res->bursts += got;
			if (got && !check(s->buf, s->size, k, why, sizeof(why))) {
				fail(s, "recv: %s", why);
				break;
			}
		} else {			/* blocking single */
			uint64_t before = s->hb->timeouts;
			int ret;

			at(s, AT_WAIT);
			ret = vanity_recv_wait(ch, s->buf, s->stuck_ns);

			s->res->api[3]++;
			if (!ret) {
				got = 1;
				s->res->bursts++;
				if (!check(s->buf, s->size, k, why, sizeof(why))) {
					fail(s, "recv_wait: %s", why);
					break;
				}
				if (s->hb->timeouts != before)
					slept_through(s, "vanity_recv_wait");
			} else if (ret == -ETIME) {
				slow_wait(s);
			} else {
				fail(s, "vanity_recv_wait: %s", strerror(-ret));
			}
		}
		k += got;
		s->res->moved = k;
		if (got) {
			spins = 0;
			s->progress = now_ns();
			/*
			 * We released slots to a producer that was asleep for
			 * space and emptied the ring as it was: it must wake
			 * and publish more (unless it has sent everything).
			 */
			if (o->mode == MODE_SLEEPY && waiting &&
			    (r >> 40) % 2 == 0 &&
			    head0 - o->start < n && ch->pos == head0 &&
			    !poll_until(s, head_moved, head0)) {
				s->res->lost += s->stall_lost;
				fail(s, "%s: the producer did not publish "
				     "after the ring was drained at message %"
				     PRIu64 ": %s", s->stall_lost ?
				     "lost wakeup" : "stalled", k, s->stall);
			}
		} else if (api != 7) {
			s->res->stalls++;
			if (o->mode == MODE_SPIN ? !idle(s, &spins, &since) :
			    !wait_peer(s))
				break;
		}
		if (o->mode == MODE_SLEEPY)
			random_delay(s);
	}
	if (s->res->failed || s->peer->failed)
		return;
	/* Nothing may follow the last message. */
	while (!__atomic_load_n(&s->peer->done, __ATOMIC_ACQUIRE)) {
		if (s->peer->failed || now_ns() > s->deadline)
			return;
		sched_yield();
	}
	if (!vanity_peek(ch, 1)) {
		s->res->stalls++;	/* the header counts this look too */
		return;
	}
	fail(s, "a message beyond the %" PRIu64 " sent: %s", n,
	     check(vanity_peek_slot(ch, 0), s->size, n, why, sizeof(why)) ?
	     "a well-formed message n" : why);
}

/* ------------------------------------------------------------------ */

static void pin_to(unsigned int nth)
{
	cpu_set_t set, one;
	unsigned int cpu, seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) < 2)
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (seen++ == nth) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			sched_setaffinity(0, sizeof(one), &one);
			return;
		}
	}
}

static void run_side(const struct opts *o, uint32_t size, void *region,
		     size_t bytes, struct shared *sh, bool prod)
{
	struct side s;
	struct side_result *me = prod ? &sh->prod : &sh->cons;
	struct side_result *peer = prod ? &sh->cons : &sh->prod;
	struct hosted_bell *hb = &me->bell;	/* live, for the peer to see */
	int64_t t0;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.res = me;
	s.peer = peer;
	s.hb = hb;
	hb->no_membarrier = o->no_membarrier;
	me->pid = (int)getpid();
	s.size = size;
	s.rng = mix64(o->seed ^ (prod ? 0x70726f64ULL : 0x636f6e73ULL)) | 1;
	s.stuck_ns = (int64_t)o->stuck_ms * 1000000;
	s.buf = malloc((size_t)MAX_BURST * size);
	bell_opts = o;
	if (!s.buf) {
		fail(&s, "out of memory");
		return;
	}
	if (o->pin)
		pin_to(prod ? 0 : 1);
	ret = hosted_bell_register();
	if (ret) {
		fail(&s, "membarrier register: %s", strerror(-ret));
		return;
	}
	ret = vanity_channel_bind(&s.ch, region, bytes,
				  prod ? VANITY_ROLE_FROM : VANITY_ROLE_TO,
				  &drop_bell_ops, hb);
	if (ret) {
		fail(&s, "vanity_channel_bind: %s", strerror(-ret));
		return;
	}
	vanity_channel_set_spin(&s.ch, o->mode == MODE_BLOCKING ?
				o->spin_ns : 0);
	/* Both registered and bound before either moves a message. */
	__atomic_store_n(&me->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&peer->ready, __ATOMIC_ACQUIRE)) {
		if (peer->failed)
			return;
		sched_yield();
	}
	t0 = now_ns();
	s.progress = t0;
	s.deadline = t0 + (int64_t)o->time_limit_s * 1000000000;
	if (prod)
		producer(&s);
	else
		consumer(&s);
	at(&s, AT_END);
	me->elapsed_ns = (uint64_t)(now_ns() - t0);
	__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	free(s.buf);
}

static pid_t spawn(const struct opts *o, uint32_t size, void *region,
		   size_t bytes, struct shared *sh, bool prod)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	run_side(o, size, region, bytes, sh, prod);
	_exit((prod ? sh->prod.failed : sh->cons.failed) ? 1 : 0);
}

static int reap(pid_t *pid, int64_t deadline, struct shared *sh)
{
	int status, bad = 0, live = 2, i;

	while (live) {
		for (i = 0; i < 2; i++) {
			pid_t r;

			if (!pid[i])
				continue;
			r = waitpid(pid[i], &status, WNOHANG);
			if (r == pid[i]) {
				pid[i] = 0;
				live--;
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					bad = 1;
				if (WIFSIGNALED(status)) {
					struct side_result *res = i ? &sh->cons :
								      &sh->prod;

					if (!res->failed)
						snprintf(res->why,
							 sizeof(res->why),
							 "killed by signal %d",
							 WTERMSIG(status));
					res->failed = 1;
				}
			}
		}
		if (!live)
			break;
		if (now_ns() > deadline) {
			for (i = 0; i < 2; i++)
				if (pid[i]) {
					kill(pid[i], SIGKILL);
					snprintf((i ? &sh->cons : &sh->prod)->why,
						 sizeof(sh->prod.why),
						 "hung: killed by the watchdog");
					(i ? &sh->cons : &sh->prod)->failed = 1;
				}
			bad = 1;
			deadline = INT64_MAX;
		}
		usleep(2000);
	}
	return bad;
}

static void print_side(const char *name, const struct side_result *r,
		       const struct vanity_chan_ctr *c)
{
	printf("  %s: msgs %" PRIu64 " bursts %" PRIu64 " stalls %" PRIu64
	       " sleeps %" PRIu64 " wakeups %" PRIu64
	       " | calls copy %" PRIu64 " zc %" PRIu64 " single %" PRIu64
	       " wait %" PRIu64 " | waits %" PRIu64 " slept %" PRIu64
	       " no-sleep %" PRIu64 " timeouts %" PRIu64 " probes %" PRIu64
	       " lost %" PRIu64 " suspect %" PRIu64 " | longest membarrier "
	       "%.3f ms futex %.3f ms\n",
	       name, (uint64_t)c->msgs, (uint64_t)c->bursts,
	       (uint64_t)c->stalls, (uint64_t)c->sleeps, (uint64_t)c->wakeups,
	       r->api[0], r->api[1], r->api[2], r->api[3], r->waits,
	       r->bell.slept, r->bell.changed, r->bell.timeouts, r->probes,
	       r->lost, r->suspect, (double)r->bell.max_mb_ns / 1e6,
	       (double)r->bell.max_wait_ns / 1e6);
}

/* The header's counters against what each side did. */
static int audit(const struct opts *o, const struct vanity_chan_hdr *h,
		 const struct side_result *p, const struct side_result *c,
		 char *why, size_t len)
{
	uint32_t end = o->start + (uint32_t)o->messages;

	if (h->head != end || h->tail != end)
		return snprintf(why, len, "head %u tail %u, want both %u",
				h->head, h->tail, end);
	if (h->prod.msgs != o->messages || h->cons.msgs != o->messages)
		return snprintf(why, len, "counted %llu sent, %llu received",
				(unsigned long long)h->prod.msgs,
				(unsigned long long)h->cons.msgs);
	if (h->prod.bursts != p->bursts || h->cons.bursts != c->bursts)
		return snprintf(why, len, "bursts %llu/%llu, sides saw %"
				PRIu64 "/%" PRIu64,
				(unsigned long long)h->prod.bursts,
				(unsigned long long)h->cons.bursts,
				p->bursts, c->bursts);
	/* Blocking singles stall inside the library, out of our sight. */
	if (h->prod.stalls < p->stalls || h->cons.stalls < c->stalls ||
	    (!p->api[3] && h->prod.stalls != p->stalls) ||
	    (!c->api[3] && h->cons.stalls != c->stalls))
		return snprintf(why, len, "stalls %llu/%llu, sides saw %"
				PRIu64 "/%" PRIu64,
				(unsigned long long)h->prod.stalls,
				(unsigned long long)h->cons.stalls,
				p->stalls, c->stalls);
	if (h->prod.sleeps != p->bell.waits || h->cons.sleeps != c->bell.waits)
		return snprintf(why, len, "sleeps %llu/%llu, doorbell waits %"
				PRIu64 "/%" PRIu64,
				(unsigned long long)h->prod.sleeps,
				(unsigned long long)h->cons.sleeps,
				p->bell.waits, c->bell.waits);
	if (h->prod.wakeups != p->bell.wakes + p->drops ||
	    h->cons.wakeups != c->bell.wakes)
		return snprintf(why, len, "wakeups %llu/%llu, doorbells rung %"
				PRIu64 "/%" PRIu64,
				(unsigned long long)h->prod.wakeups,
				(unsigned long long)h->cons.wakeups,
				p->bell.wakes, c->bell.wakes);
	if (o->mode == MODE_SPIN && (h->prod.sleeps || h->cons.sleeps ||
				     h->prod.wakeups || h->cons.wakeups))
		return snprintf(why, len, "doorbell used in spin mode");
	return 0;
}

static int run_pass(const struct opts *o, uint32_t size)
{
	size_t bytes = vanity_channel_region_bytes(size, o->slots);
	struct vanity_chan_hdr *h;
	struct shared *sh;
	pid_t pid[2];
	int64_t t0;
	double secs;
	char why[512] = "";
	void *region;
	int bad;

	region = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || sh == MAP_FAILED) {
		perror("chan_stress: mmap");
		exit(1);
	}
	vanity_channel_format(region, size, o->slots, o->start);
	h = region;

	fflush(stdout);
	t0 = now_ns();
	pid[0] = spawn(o, size, region, bytes, sh, true);
	pid[1] = spawn(o, size, region, bytes, sh, false);
	if (pid[0] < 0 || pid[1] < 0) {
		perror("chan_stress: fork");
		exit(1);
	}
	bad = reap(pid, t0 + ((int64_t)o->time_limit_s + 30) * 1000000000,
		   sh);
	secs = (double)(now_ns() - t0) / 1e9;
	if (!bad && audit(o, h, &sh->prod, &sh->cons, why, sizeof(why)))
		bad = 1;

	printf("chan_stress: %s size %u slots %u start 0x%08x mode %s%s%s: "
	       "%" PRIu64 " messages in %.2f s (%.1f M/s), sleeps %llu+%llu, "
	       "wakeups %llu+%llu, lost wakeups %" PRIu64 "\n",
	       bad ? "FAIL" : "ok", size, o->slots, o->start,
	       mode_names[o->mode], o->inject ? " inject " : "",
	       o->inject ? inject_names[o->inject] : "",
	       sh->cons.moved, secs, (double)sh->cons.moved / secs / 1e6,
	       (unsigned long long)h->prod.sleeps,
	       (unsigned long long)h->cons.sleeps,
	       (unsigned long long)h->prod.wakeups,
	       (unsigned long long)h->cons.wakeups,
	       sh->prod.lost + sh->cons.lost);
	if (!o->quiet || bad) {
		print_side("prod", &sh->prod, &h->prod);
		print_side("cons", &sh->cons, &h->cons);
	}
	if (sh->prod.failed)
		printf("  producer: %s\n", sh->prod.why);
	if (sh->cons.failed)
		printf("  consumer: %s\n", sh->cons.why);
	if (why[0])
		printf("  header: %s\n", why);
	fflush(stdout);
	munmap(region, bytes);
	munmap(sh, sizeof(*sh));
	return bad;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: chan_stress [options]\n"
"  --messages N     messages per slot size (default 100000000)\n"
"  --sizes A,B,..   slot sizes (default 8,64,256)\n"
"  --slots N        ring slots, a power of two (default 256)\n"
"  --start S|wrap   first position; wrap: 2^32 is crossed halfway\n"
"  --blocking       doorbell waits with a small spin budget\n"
"  --sleepy         spin budget 0, random delays, lost-wakeup probes\n"
"  --spin-ns N      spin budget in --blocking mode (default 500)\n"
"  --max-burst N    bursts are random in 1..N, N <= 64 (default 64)\n"
"  --seed N         random seed (default: from the clock, printed)\n"
"  --stuck-ms N     a wait or probe stuck this long fails (default 2000)\n"
"  --time-limit S   per pass (default 900)\n"
"  --no-pin         do not pin the two sides to two CPUs\n"
"  --inject KIND[@K] break it on purpose: byte tear skip dup swap nowake\n"
"  --quiet          one line per passing pass\n"
"  --no-membarrier  doorbell without the handshake (expect lost wakeups)\n");
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "chan_stress: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "messages", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "slots", required_argument, NULL, 'S' },
		{ "start", required_argument, NULL, 's' },
		{ "blocking", no_argument, NULL, 'b' },
		{ "sleepy", no_argument, NULL, 'y' },
		{ "spin-ns", required_argument, NULL, 'p' },
		{ "max-burst", required_argument, NULL, 'B' },
		{ "seed", required_argument, NULL, 'r' },
		{ "stuck-ms", required_argument, NULL, 'k' },
		{ "time-limit", required_argument, NULL, 't' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "inject", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-membarrier", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct opts o = {
		.messages = 100000000,
		.slots = 256,
		.sizes = { 8, 64, 256 },
		.nsizes = 3,
		.spin_ns = 500,
		.max_burst = MAX_BURST,
		.seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32),
		.stuck_ms = 2000,
		.time_limit_s = 900,
		.pin = true,
	};
	unsigned int i, failed = 0;
	bool start_wrap = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.messages = num(optarg, "--messages");
			break;
		case 'z': {
			char *dup = strdup(optarg), *tok, *save = NULL;

			o.nsizes = 0;
			for (tok = strtok_r(dup, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				uint64_t v = num(tok, "--sizes");

				if (o.nsizes == MAX_SIZES ||
				    v < VANITY_SLOT_SIZE_MIN || v > 4096) {
					fprintf(stderr, "chan_stress: slot "
						"sizes are 8..4096, at most "
						"%d\n", MAX_SIZES);
					return 2;
				}
				o.sizes[o.nsizes++] = (uint32_t)v;
			}
			free(dup);
			break;
		}
		case 'S':
			o.slots = (uint32_t)num(optarg, "--slots");
			break;
		case 's':
			start_wrap = !strcmp(optarg, "wrap");
			if (!start_wrap)
				o.start = (uint32_t)num(optarg, "--start");
			break;
		case 'b':
			o.mode = MODE_BLOCKING;
			break;
		case 'y':
			o.mode = MODE_SLEEPY;
			break;
		case 'p':
			o.spin_ns = (uint32_t)num(optarg, "--spin-ns");
			break;
		case 'B':
			o.max_burst = (unsigned int)num(optarg, "--max-burst");
			break;
		case 'r':
			o.seed = num(optarg, "--seed");
			break;
		case 'k':
			o.stuck_ms = (unsigned int)num(optarg, "--stuck-ms");
			break;
		case 't':
			o.time_limit_s = (unsigned int)num(optarg, "--time-limit");
			break;
		case 'P':
			o.pin = false;
			break;
		case 'i': {
			char *at = strchr(optarg, '@');
			size_t len = at ? (size_t)(at - optarg) : strlen(optarg);

			for (i = 1; i < sizeof(inject_names) / sizeof(*inject_names); i++)
				if (strlen(inject_names[i]) == len &&
				    !strncmp(optarg, inject_names[i], len))
					o.inject = (enum inject)i;
			if (!o.inject) {
				fprintf(stderr, "chan_stress: bad --inject\n");
				return 2;
			}
			o.inject_at = at ? num(at + 1, "--inject") : 0;
			break;
		}
		case 'q':
			o.quiet = true;
			break;
		case 'M':
			o.no_membarrier = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o.messages || o.messages > UINT32_MAX ||
	    o.slots < VANITY_SLOTS_MIN || o.slots > VANITY_SLOTS_MAX ||
	    (o.slots & (o.slots - 1)) || !o.max_burst ||
	    o.max_burst > MAX_BURST || !o.stuck_ms || !o.time_limit_s) {
		usage(stderr);
		return 2;
	}
	/* Positions wrap 2^32 halfway through each pass. */
	if (start_wrap)
		o.start = (uint32_t)(0x100000000ULL - o.messages / 2 - 1);
	if (o.inject && !o.inject_at)
		o.inject_at = o.inject == INJ_NOWAKE ? 100 : o.messages / 2;
	if (o.inject == INJ_NOWAKE && o.mode == MODE_SPIN) {
		fprintf(stderr, "chan_stress: --inject nowake needs a doorbell "
			"mode\n");
		return 2;
	}
	if (o.mode != MODE_SPIN && !hosted_bell_supported()) {
		fprintf(stderr, "chan_stress: this kernel has no "
			"membarrier GLOBAL_EXPEDITED\n");
		return 1;
	}
	printf("chan_stress: seed %" PRIu64 " (--seed to repeat)\n", o.seed);
	for (i = 0; i < o.nsizes; i++)
		failed += run_pass(&o, o.sizes[i]) ? 1 : 0;
	printf("chan_stress: %u passes, %u failed\n", o.nsizes, failed);
	return failed ? 1 : 0;
}
