/* SPDX-License-Identifier: GPL-2.0 */
/* Channel doorbells: WAIT until the peer moves an index, WAKE the peer. */
#ifndef VANITY_DOORBELL_H
#define VANITY_DOORBELL_H

#include <linux/types.h>
#include <linux/vanity.h>

struct vanity_system;
struct vanity_shard;

long vanity_doorbell_wait(struct vanity_system *sys, struct vanity_shard *me,
			  const struct vanity_doorbell *db);
/*
 * A full barrier on each of @peer's CPUs: its fence-free stores before
 * its next loads, so a sleeper's flag and the peer's index meet.
 */
void vanity_doorbell_barrier(const struct vanity_shard *peer);
long vanity_doorbell_wake(struct vanity_system *sys, struct vanity_shard *me,
			  const struct vanity_doorbell *db);

#endif
