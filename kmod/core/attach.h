/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may attach to which shard, and which errno everyone else gets, in
 * one order for the module's ATTACH ioctl and the simulator's ATTACH
 * request: the transports only gather the facts (the caller's identity,
 * its connection, which shards are taken).
 */
#ifndef VANITY_CORE_ATTACH_H
#define VANITY_CORE_ATTACH_H

#include "shim.h"
#include "image.h"

/* ATTACH's own arguments: known flags and a terminated name. 0 or -EINVAL. */
static inline int vanity_attach_args(u32 flags, const char *name, size_t len)
{
	if (flags & ~VANITY_ATTACH_SQPOLL || !memchr(name, '\0', len))
		return -EINVAL;
	return 0;
}

/*
 * The uid a shard belongs to: its manifest's user, or, for a shard that
 * named none (VANITY_SHARD_F_SYSTEM_OWNER), whoever runs the system
 * (@system_owner: root for the module, the simulator's own user).
 */
static inline u32 vanity_shard_owner(const struct vanity_image_shard *d,
				     u32 system_owner)
{
	return d->flags & VANITY_SHARD_F_SYSTEM_OWNER ? system_owner : d->uid;
}

/* What a transport knows of the caller and of the shards. */
struct vanity_attacher {
	bool attached;		/* its fd or connection has a shard already */
	bool admin;		/* may take anyone's shard */
	/*
	 * Whether the caller is shard @index's owner (vanity_shard_owner, in
	 * the transport's terms: kuids, peer credentials), and whether the
	 * shard has an attachment already.
	 */
	bool (*owns)(const void *ctx, unsigned int index);
	bool (*taken)(const void *ctx, unsigned int index);
	const void *ctx;
};

/*
 * Shard @name of the checked image @img for @who: its index, or -EBUSY
 * (the caller is attached already), -ENOENT (no such shard), -EPERM (not
 * the shard's owner, nor an admin), -EBUSY (someone else has it), in that
 * order.
 */
static inline int vanity_attach_decide(const void *img, const char *name,
				       const struct vanity_attacher *who)
{
	int idx;

	if (who->attached)
		return -EBUSY;
	idx = vanity_image_find_shard(img, name);
	if (idx < 0)
		return -ENOENT;
	if (!who->admin && !who->owns(who->ctx, (unsigned int)idx))
		return -EPERM;
	if (who->taken(who->ctx, (unsigned int)idx))
		return -EBUSY;
	return idx;
}

#endif /* VANITY_CORE_ATTACH_H */
