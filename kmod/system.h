/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The system: the one image that is up, its shards and channels, and the
 * lock that orders UP, DOWN, attach and detach against each other.
 */
#ifndef VANITY_SYSTEM_H
#define VANITY_SYSTEM_H

#include <linux/mutex.h>
#include <linux/kref.h>
#include <linux/cpumask.h>
#include <linux/pid.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/vanity.h>

#include "cpus.h"
#include "region.h"
#include "ring_engine.h"

struct file;
struct vanity_system;
struct vanity_ring;
struct vanity_pdev;

struct vanity_shard {
	struct vanity_system *sys;
	unsigned int index;
	const struct vanity_image_shard *desc;	/* in sys->image */
	cpumask_var_t cpus;
	kuid_t uid;
	struct vanity_region *mem;	/* NULL when memory_size is 0 */
	struct vanity_ring *ring;	/* submission ring, from UP */
	struct file *attached;		/* under vanity_lock; no reference */
	struct pid *pid;		/* attacher's thread group */
};

struct vanity_channel {
	unsigned int index;
	const struct vanity_image_channel *desc;	/* in sys->image */
	struct vanity_region *region;
	wait_queue_head_t wq_data;	/* consumer waits for data */
	wait_queue_head_t wq_space;	/* producer waits for space */
	atomic64_t waits, wakes;	/* doorbell ioctls, for debugfs */
	struct vanity_engine_chan eng;	/* the ring engine's: notifies, armed WAITs */
};

struct vanity_system {
	struct kref ref;		/* vanity_sys + one per attached file */
	bool dead;			/* DOWN done: regions revoked and freed */
	void *image;			/* private, validated copy */
	size_t image_len;
	unsigned int nshards, nchannels;
	struct vanity_shard *shards;
	struct vanity_channel *channels;
	struct vanity_cpus cpus;
	u64 memory_bytes;		/* all regions */
	unsigned int ndevices;		/* passed PCI functions (device.h) */
	struct vanity_pdev *devices;
};

/* Serialises every state change; never held across user copies. */
extern struct mutex vanity_lock;
/* The system that is up, or NULL. Under vanity_lock. */
extern struct vanity_system *vanity_sys;

#define VANITY_MSG_LEN 192

/*
 * Bring up @img (validated again here). 0, or -errno with @msg naming
 * the offending shard, channel or CPU; on failure nothing has changed.
 */
int vanity_system_up(const void *img, size_t len, char *msg);
/* Take the system down; -EBUSY (msg names attached shards) unless @force. */
int vanity_system_down(bool force, char *msg);
void vanity_system_put(struct vanity_system *sys);

#endif
