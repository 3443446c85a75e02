// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The hosted doorbell: FUTEX_WAIT on the index word the sleeper watches,
 * after a global expedited membarrier that plays the module's barrier IPI
 * (the peer's fence-free publish is visible, or it will see our flag).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vanity.h"
#include "hosted.h"
#include "bell.h"

/* The word our end sleeps on (@waiting), or the one its peer sleeps on. */
static uint32_t *watched(struct vanity_channel *ch, bool waiting)
{
	bool cons = ch->role == VANITY_ROLE_TO;

	return vanity_bell_word(ch->hdr, cons == waiting);
}

static int futex_wait(struct vanity_channel *ch, uint32_t expect,
		      int64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;
	bool napping = false;

	/*
	 * Without the barrier (a kernel without membarrier, or one that
	 * refuses it) the peer's fence-free publish may still be in flight:
	 * sleep at most a nap, so a ring we raced with is found on the
	 * caller's next look (it loops until ready or its own deadline). A
	 * nap that ends is a spurious wakeup, not the caller's timeout.
	 */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)) {
		if (errno != EINVAL && errno != ENOSYS && errno != EPERM)
			return -errno;
		if (timeout_ns < 0 || timeout_ns > VANITY_BELL_NAP_NS) {
			timeout_ns = VANITY_BELL_NAP_NS;
			napping = true;
		}
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tp = &ts;
	}
	if (syscall(SYS_futex, watched(ch, true), FUTEX_WAIT, expect, tp,
		    NULL, 0) == 0)
		return 0;
	if (errno == EAGAIN || (errno == ETIMEDOUT && napping))
		return 0;	/* the word already moved, or the nap is over */
	/* Vanity's one timeout errno, the module's and the ring's: -ETIME. */
	return errno == ETIMEDOUT ? -ETIME : errno == EINTR ? -EINTR : -errno;
}

static int futex_wake(struct vanity_channel *ch)
{
	/*
	 * Every sleeper: the peer's thread in vanity_recv_wait and a ring
	 * WAIT of the simulator can sleep on the same word.
	 */
	if (syscall(SYS_futex, watched(ch, false), FUTEX_WAKE, INT_MAX, NULL,
		    NULL, 0) < 0)
		return -errno;
	return 0;
}

const struct vanity_bell_ops vanity__futex_bell = {
	.wait = futex_wait,
	.wake = futex_wake,
};
