/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A channel doorbell without the module, for tests and as the model of
 * the simulator's: futexes on the region's index words plus the
 * membarrier handshake the module does with a barrier IPI.
 *
 *   wait (consumer: on head; producer: on tail):
 *       membarrier(GLOBAL_EXPEDITED)   every registered process, the peer
 *                                      included, runs a full barrier: its
 *                                      fence-free publish is visible now,
 *                                      or its later flag load sees ours
 *       FUTEX_WAIT(word, expect)       sleeps only while word == expect
 *   wake (producer: on head; consumer: on tail):
 *       FUTEX_WAKE(word)
 *
 * Both processes call hosted_bell_register() once before they use the
 * channel (GLOBAL_EXPEDITED only interrupts registered processes). The
 * region must be MAP_SHARED (memfd or shared anonymous): the futexes are
 * process-shared, keyed by the page, not private.
 */
#ifndef VANITY_HOSTED_BELL_H
#define VANITY_HOSTED_BELL_H

#include <stdint.h>

#include <vanity.h>

/*
 * Per-endpoint statistics and knobs; pass as bell_ctx (or NULL). Written
 * by its endpoint only; may live in shared memory for a watchdog to read.
 */
struct hosted_bell {
	uint64_t waits;		/* wait op entered */
	uint64_t slept;		/* FUTEX_WAIT actually slept and was woken */
	uint64_t changed;	/* word already differed: no sleep */
	uint64_t timeouts;	/* FUTEX_WAIT timed out */
	uint64_t intr;		/* FUTEX_WAIT interrupted */
	uint64_t wakes;		/* wake op called */
	uint64_t woken;		/* sleepers FUTEX_WAKE reported woken */
	uint64_t max_mb_ns;	/* longest membarrier call */
	uint64_t max_wait_ns;	/* longest FUTEX_WAIT call */
	int phase;		/* HB_IDLE, HB_MEMBARRIER or HB_FUTEX now */
	int no_membarrier;	/* fault injection: skip the handshake */
};

enum { HB_IDLE, HB_MEMBARRIER, HB_FUTEX };

/* Register this process for GLOBAL_EXPEDITED: 0 or -errno. */
int hosted_bell_register(void);

/* Whether the running kernel offers the commands the bell needs. */
int hosted_bell_supported(void);

extern const struct vanity_bell_ops hosted_bell_ops;

#endif
