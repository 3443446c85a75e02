// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted doorbell: see hosted_bell.h for the protocol.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include "hosted_bell.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void phase(struct hosted_bell *hb, int p)
{
	if (hb)
		__atomic_store_n(&hb->phase, p, __ATOMIC_RELAXED);
}

static void longest(uint64_t *max, uint64_t t0)
{
	uint64_t d = mono_ns() - t0;

	if (d > *max)
		*max = d;
}

static long sys_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static long sys_futex(uint32_t *word, int op, uint32_t val,
		      const struct timespec *ts)
{
	return syscall(__NR_futex, word, op, val, ts, NULL, 0);
}

int hosted_bell_supported(void)
{
	long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);
	long need = MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		    MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;

	return cmds >= 0 && (cmds & need) == need;
}

int hosted_bell_register(void)
{
	return sys_membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) ?
	       -errno : 0;
}

/* The index word the peer moves and this endpoint sleeps on. */
static uint32_t *wait_word(struct vanity_channel *ch)
{
	return ch->role == VANITY_ROLE_FROM ? &ch->hdr->tail : &ch->hdr->head;
}

/* The index word this endpoint moves and its peer sleeps on. */
static uint32_t *wake_word(struct vanity_channel *ch)
{
	return ch->role == VANITY_ROLE_FROM ? &ch->hdr->head : &ch->hdr->tail;
}

static int bell_wait(struct vanity_channel *ch, uint32_t expect,
		     int64_t timeout_ns)
{
	struct hosted_bell *hb = ch->bell_ctx;
	struct timespec ts, *tsp = NULL;
	uint64_t t0;
	long ret;

	if (hb)
		hb->waits++;
	/*
	 * Our *_waiting flag is already stored (block() raised it and
	 * fenced). After this every other registered thread has run a full
	 * barrier: a peer publication that preceded it in the peer's program
	 * order is visible to the FUTEX_WAIT compare below, and a peer flag
	 * load that follows it sees our flag and rings.
	 */
	if (!hb || !hb->no_membarrier) {
		t0 = mono_ns();
		phase(hb, HB_MEMBARRIER);
		ret = sys_membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) ?
		      -errno : 0;
		phase(hb, HB_IDLE);
		if (ret)
			return (int)ret;
		if (hb)
			longest(&hb->max_mb_ns, t0);
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	/* Shared futex: the two ends are different processes. */
	t0 = mono_ns();
	phase(hb, HB_FUTEX);
	ret = sys_futex(wait_word(ch), FUTEX_WAIT, expect, tsp) ? -errno : 0;
	phase(hb, HB_IDLE);
	if (hb)
		longest(&hb->max_wait_ns, t0);
	if (!ret) {
		if (hb)
			hb->slept++;
		return 0;
	}
	switch (-ret) {
	case EAGAIN:		/* the peer moved before we slept */
		if (hb)
			hb->changed++;
		return 0;
	case ETIMEDOUT:
		if (hb)
			hb->timeouts++;
		return -ETIME;	/* as libvanity's doorbells */
	case EINTR:
		if (hb)
			hb->intr++;
		return -EINTR;
	default:
		return (int)ret;
	}
}

static int bell_wake(struct vanity_channel *ch)
{
	struct hosted_bell *hb = ch->bell_ctx;
	long n = sys_futex(wake_word(ch), FUTEX_WAKE, INT_MAX, NULL);

	if (n < 0)
		return -errno;
	if (hb) {
		hb->wakes++;
		hb->woken += (uint64_t)n;
	}
	return 0;
}

const struct vanity_bell_ops hosted_bell_ops = {
	.wait = bell_wait,
	.wake = bell_wake,
};
