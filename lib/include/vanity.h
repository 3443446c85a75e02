/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity: the shard side of Vanity. Attach to a shard by name, reach its
 * private region and the channels it is an endpoint of, detach. Every call
 * returns 0 (or a count) on success and -errno on failure; none prints.
 */
#ifndef VANITY_H
#define VANITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <linux/vanity.h>
#include <vanity/arch.h>
#include <vanity/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An attached shard. Opaque; one per process is the expected use. */
struct vanity;
struct vanity_channel;

/*
 * Attach to shard @name (NULL: $VANITY_SHARD) through /dev/vanity and map
 * its private region. The calling thread is pinned to the shard's CPUs.
 * -ENOENT no such shard or no system up, -EPERM not the shard's user,
 * -EBUSY already attached elsewhere, -ENODEV no /dev/vanity.
 */
int vanity_attach(const char *name, struct vanity **out);

/* Unmap everything and detach; the shard's regions keep their contents. */
void vanity_detach(struct vanity *v);

/* This shard's index and name in the image. */
int vanity_shard_index(const struct vanity *v);
const char *vanity_shard_name(const struct vanity *v);

/* The private region: *addr is NULL and *len 0 when it has none. */
int vanity_memory(const struct vanity *v, void **addr, size_t *len);

/* The CPUs the shard owns, as a bitmap of VANITY_CPU_WORDS words. */
const uint64_t *vanity_cpus(const struct vanity *v);

/*
 * Map channel @name (once; later calls return the same object). -ENOENT
 * unknown channel, -EACCES this shard is not one of its endpoints,
 * -EPROTO/-EPROTONOSUPPORT the region's layout is not this library's.
 */
int vanity_channel_get(struct vanity *v, const char *name,
		       struct vanity_channel **out);

/*
 * What the system says of channel @name, whether or not this shard is one
 * of its ends (role VANITY_ROLE_NONE then: it cannot be mapped): its
 * index, ends, geometry. -ENOENT unknown channel. No mapping is made.
 */
int vanity_channel_lookup(struct vanity *v, const char *name,
			  struct vanity_channel_info *out);

/*
 * Which ring ops this backend issues (as io_uring_get_probe): fills
 * @out, whose size the library sets. See vanity_op_supported().
 */
int vanity_probe(struct vanity *v, struct vanity_probe *out);

/* Whether @p says opcode @op is issued. */
static inline bool vanity_op_supported(const struct vanity_probe *p,
				       unsigned int op)
{
	return op < p->ops_len && op < VANITY_PROBE_OPS_MAX &&
	       (p->ops[op].flags & VANITY_PROBE_OP_SUPPORTED);
}

/* The file descriptor of the attachment (for poll loops and tests). */
int vanity_fd(const struct vanity *v);

#ifdef __cplusplus
}
#endif

#include <vanity/channel.h>
#include <vanity/ring.h>
#include <vanity/device.h>

#endif /* VANITY_H */
