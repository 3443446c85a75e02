/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring tests' backend: the module (UP, GET, debugfs) or the hosted
 * simulator in a thread of this process, behind one set of calls.
 */
#ifndef VANITY_SELFTEST_RING_BACKEND_H
#define VANITY_SELFTEST_RING_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

/*
 * The standard image: "producer" (index 0, CPU 2), "consumer" (1, CPU 3),
 * "third" (2, CPU 3), each the user running the test's; channels "data"
 * 0: producer -> consumer, "back" 1: consumer -> producer, "side" 2:
 * consumer -> third (foreign to the producer), SLOTS slots of SLOT_SIZE.
 */
#define CH_DATA 0
#define CH_BACK 1
#define CH_SIDE 2
#define NCHANNELS 3
#define SLOTS 16
#define SLOT_SIZE 64

/*
 * The simulator when VANITY_BACKEND=hosted or there is no /dev/vanity
 * (and VANITY_BACKEND is not "module"), else the module.
 */
bool vtb_hosted(void);

/* The standard image into @w; @ring_entries for the producer (0: default). */
void vtb_std_image(struct vanity_imgw *w, uint32_t ring_entries);

/*
 * Take down what is up, then bring @w up: the module's UP, or a simulator
 * serving from a thread of this process, with VANITY_BACKEND and
 * VANITY_SOCKET set so that this process and its children attach to it.
 * 0 or -errno, the refusal in @msg.
 */
int vtb_up(const struct vanity_imgw *w, char *msg, size_t len);
int vtb_up_std(uint32_t ring_entries, char *msg, size_t len);

/*
 * A forced DOWN with shards attached: the module's DOWN --force; the
 * simulator stops (as `vanityctl run` ending), which is the hosted
 * system going away under its shards. 0 or -errno.
 */
int vtb_force_down(void);

/* Take down whatever is up (teardown paths). */
void vtb_reset(void);

/* The status GET gives (simulator: the same view), heap copy: 0 or -errno. */
int vtb_status(struct vanity_status **st);
int vtb_shard(unsigned int idx, struct vanity_status_shard *out);
int vtb_channel(unsigned int idx, struct vanity_status_channel *out);

/*
 * Armed WAIT and TIMEOUT ops holding CQE slots: the module's debugfs
 * `inflight` of @shard; the simulator's count over every ring it serves
 * (it keeps no per-shard one): callers arm ops on one shard at a time.
 * -errno on failure.
 */
long vtb_inflight(const char *shard);

/* Whether @pid sleeps in a channel doorbell (the WAIT ioctl; a futex). */
bool vtb_sleeps_in_doorbell(pid_t pid);

/* ------------------------------------------------------ module only */

/* One row of debugfs vanity/rings. */
struct vtb_ring_row {
	char name[64];
	unsigned int entries;
	char sqpoll[8];
	unsigned long long submitted, completed, overflows, wakeups, inflight;
	unsigned long long ops[VANITY_OP_LAST];
};

/* @shard's row of debugfs vanity/rings: 0, -ENOENT, -EPROTO or -errno. */
int vtb_ring_row(const char *shard, struct vtb_ring_row *o);

#endif
