/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity's hosted backend, inside the library: its calls to the
 * simulator, whose wire protocol is tools/sim/wire.h.
 */
#ifndef VANITY_HOSTED_H
#define VANITY_HOSTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vanity.h>

#include "wire.h"

/* Futex doorbell on a shared region (module-less WAIT/WAKE). */
extern const struct vanity_bell_ops vanity__futex_bell;

/*
 * Check and read the simulator's reply @msg of @len bytes (@truncated:
 * longer than any) to a request of @op into @rep: 0, the server's -errno,
 * -EPROTO for a malformed or other-version reply, -ECONNRESET for none.
 */
int vanity__hosted_reply(const void *msg, size_t len, bool truncated,
			 uint16_t op, struct vh_rep *rep);

/* Whether the file @fd has @len bytes to map (else touching them SIGBUSes). */
bool vanity__fd_holds(int fd, uint64_t len);

/* A PROBE reply into @out: 0, or -EPROTO for words out of range. */
int vanity__hosted_probe_decode(const struct vh_rep *rep,
				struct vanity_probe *out);

struct vanity;
struct vanity_ring;

/* lib/hosted.c: attach through the simulator with VANITY_ATTACH_* flags. */
int vanity__hosted_attach_flags(struct vanity *v, const char *name,
				uint32_t flags, uint32_t sq_idle_us);

/* lib/hosted_ring.c: map the ring memfd @fd described by @o (closes @fd). */
int vanity__hosted_map_ring(struct vanity_ring *r, int fd,
			    const struct vanity_ring_offsets *o, int sock,
			    uint32_t flags);
/* ENTER on a hosted ring, with the module's semantics and errors. */
int vanity__hosted_enter(struct vanity_ring *r, uint32_t to_submit,
			 uint32_t min_complete, uint32_t flags);

#endif
