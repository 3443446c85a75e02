// SPDX-License-Identifier: GPL-2.0
/*
 * UP and DOWN. UP validates the image again, checks and claims CPUs and
 * allocates every region before publishing the system; any failure
 * unwinds in reverse so the machine is exactly as it was.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/cred.h>
#include <linux/user_namespace.h>
#include <linux/vmalloc.h>

#include "system.h"
#include "attach.h"
#include "dev.h"
#include "image.h"
#include "chan.h"
#include "ring.h"
#include "device.h"

DEFINE_MUTEX(vanity_lock);
struct vanity_system *vanity_sys;

/* Free every region's pages now; vmas may keep the (revoked) structs. */
static void system_retire_regions(struct vanity_system *sys)
{
	unsigned int i;

	for (i = 0; sys->channels && i < sys->nchannels; i++) {
		if (sys->channels[i].region)
			vanity_region_retire(sys->channels[i].region);
		sys->channels[i].region = NULL;
	}
	for (i = 0; sys->shards && i < sys->nshards; i++) {
		if (sys->shards[i].mem)
			vanity_region_retire(sys->shards[i].mem);
		sys->shards[i].mem = NULL;
	}
}

static void system_free(struct vanity_system *sys)
{
	unsigned int i;

	/* Devices quiet and unmapped before anything they reach is freed. */
	vanity_devices_release(sys);
	/*
	 * The rings first: their armed ops hold channels' and devices'
	 * wait queues.
	 */
	for (i = 0; sys->shards && i < sys->nshards; i++)
		vanity_ring_destroy(&sys->shards[i]);
	for (i = 0; sys->devices && i < sys->ndevices; i++)
		kfree(sys->devices[i].win);
	kfree(sys->devices);
	system_retire_regions(sys);
	kfree(sys->channels);
	if (sys->shards) {
		for (i = 0; i < sys->nshards; i++) {
			put_pid(sys->shards[i].pid);
			free_cpumask_var(sys->shards[i].cpus);
		}
		kfree(sys->shards);
	}
	free_cpumask_var(sys->cpus.mask);
	kvfree(sys->image);
	kfree(sys);
}

static void system_release(struct kref *ref)
{
	system_free(container_of(ref, struct vanity_system, ref));
}

void vanity_system_put(struct vanity_system *sys)
{
	kref_put(&sys->ref, system_release);
}

static int build_shard(struct vanity_system *sys, unsigned int i, char *msg)
{
	struct vanity_shard *s = &sys->shards[i];
	const struct vanity_image_shard *d = vanity_image_shard(sys->image, i);
	char why[96];
	int ret;

	s->sys = sys;
	s->index = i;
	s->desc = d;
	if (!zalloc_cpumask_var(&s->cpus, GFP_KERNEL))
		return -ENOMEM;
	/* A shard that named no user is the one who brings the system up's. */
	s->uid = make_kuid(current_user_ns(),
			   vanity_shard_owner(d, from_kuid_munged(current_user_ns(),
								   current_euid())));
	if (!uid_valid(s->uid)) {
		snprintf(msg, VANITY_MSG_LEN, "shard '%s': uid %u is not mapped",
			 d->name, d->uid);
		return -EINVAL;
	}
	ret = vanity_cpus_from_image(d->cpus, s->cpus, why, sizeof(why));
	if (!ret)
		ret = vanity_cpus_check(s->cpus, why, sizeof(why));
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN, "shard '%s': %s", d->name, why);
		return ret;
	}
	cpumask_or(sys->cpus.mask, sys->cpus.mask, s->cpus);
	if (d->memory_size) {
		s->mem = vanity_region_alloc(d->memory_size, VANITY_MMAP_PRIVATE);
		if (IS_ERR(s->mem)) {
			ret = PTR_ERR(s->mem);
			s->mem = NULL;
			snprintf(msg, VANITY_MSG_LEN,
				 "shard '%s': cannot allocate %llu bytes of memory",
				 d->name, d->memory_size);
			return ret;
		}
		sys->memory_bytes += d->memory_size;
	}
	return 0;
}

/* Rings after channels: validation needs to know the shard's channels. */
static int build_ring(struct vanity_system *sys, unsigned int i, char *msg)
{
	struct vanity_shard *s = &sys->shards[i];
	int ret = vanity_ring_create(s, vanity_ring_entries(s->desc->ring_entries));

	if (ret)
		snprintf(msg, VANITY_MSG_LEN,
			 "shard '%s': cannot allocate its submission ring",
			 s->desc->name);
	else
		sys->memory_bytes += s->ring->off.size;
	return ret;
}

static int build_channel(struct vanity_system *sys, unsigned int i, char *msg)
{
	struct vanity_channel *c = &sys->channels[i];
	const struct vanity_image_channel *d = vanity_image_channel(sys->image, i);
	u64 size = vanity_channel_region_size(d);

	void *va;

	c->index = i;
	c->desc = d;
	init_waitqueue_head(&c->wq_data);
	init_waitqueue_head(&c->wq_space);
	c->region = vanity_region_alloc(size, VANITY_MMAP_CHANNEL(i));
	if (IS_ERR(c->region)) {
		int ret = PTR_ERR(c->region);

		c->region = NULL;
		snprintf(msg, VANITY_MSG_LEN,
			 "channel '%s': cannot allocate %llu bytes", d->name, size);
		return ret;
	}
	sys->memory_bytes += size;
	/* The identity line and every slot's sequence word, once, at UP. */
	va = vmap(c->region->pages, c->region->npages, VM_MAP, PAGE_KERNEL);
	if (!va) {
		snprintf(msg, VANITY_MSG_LEN, "channel '%s': cannot map region",
			 d->name);
		return -ENOMEM;
	}
	vanity_chan_init(va, d->slot_size, d->slots, 0);
	vunmap(va);
	return 0;
}

int vanity_system_up(const void *img, size_t len, char *msg)
{
	const struct vanity_image_hdr *h;
	struct vanity_system *sys;
	struct vanity_diag diag;
	unsigned int i;
	int ret;

	/* The caller's buffer may be shared: validate a private copy. */
	if (len > VANITY_IMAGE_MAX_SIZE) {
		snprintf(msg, VANITY_MSG_LEN, "image of %zu bytes exceeds %u",
			 len, VANITY_IMAGE_MAX_SIZE);
		return -E2BIG;
	}
	sys = kzalloc(sizeof(*sys), GFP_KERNEL);
	if (!sys)
		return -ENOMEM;
	kref_init(&sys->ref);
	sys->image = kvmalloc(len ?: 1, GFP_KERNEL);
	if (!sys->image || !zalloc_cpumask_var(&sys->cpus.mask, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_free;
	}
	memcpy(sys->image, img, len);
	sys->image_len = len;
	ret = vanity_image_check(sys->image, len, &diag);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN, "%s", diag.msg);
		goto err_free;
	}
	h = vanity_image_hdr(sys->image);

	mutex_lock(&vanity_lock);
	if (vanity_sys) {
		snprintf(msg, VANITY_MSG_LEN, "system '%s' is already up",
			 vanity_image_hdr(vanity_sys->image)->name);
		ret = -EBUSY;
		goto err_unlock;
	}
	sys->shards = kcalloc(h->shard_count, sizeof(*sys->shards), GFP_KERNEL);
	sys->channels = kcalloc(h->channel_count ?: 1, sizeof(*sys->channels),
				GFP_KERNEL);
	if (!sys->shards || !sys->channels) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	for (i = 0; i < h->shard_count; i++) {
		sys->nshards = i + 1;
		ret = build_shard(sys, i, msg);
		if (ret)
			goto err_unlock;
	}
	for (i = 0; i < h->channel_count; i++) {
		sys->nchannels = i + 1;
		ret = build_channel(sys, i, msg);
		if (ret)
			goto err_unlock;
	}
	for (i = 0; i < h->shard_count; i++) {
		ret = build_ring(sys, i, msg);
		if (ret)
			goto err_unlock;
	}
	/* Last but the CPUs: every region they may DMA into exists. */
	ret = vanity_devices_take(sys, msg);
	if (ret)
		goto err_unlock;
	ret = vanity_cpus_claim(&sys->cpus);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN, "cannot move irqs off %*pbl",
			 cpumask_pr_args(sys->cpus.mask));
		goto err_unlock;
	}
	vanity_sys = sys;
	mutex_unlock(&vanity_lock);
	pr_info("vanity: system '%s' up: %u shards, %u channels, cpus %*pbl, %llu bytes, %u irqs moved\n",
		h->name, sys->nshards, sys->nchannels,
		cpumask_pr_args(sys->cpus.mask), sys->memory_bytes,
		sys->cpus.nirqs);
	return 0;

err_unlock:
	/* Under the lock, so the next UP finds every device given back. */
	vanity_devices_release(sys);
	mutex_unlock(&vanity_lock);
err_free:
	system_free(sys);
	return ret;
}

int vanity_system_down(bool force, char *msg)
{
	struct vanity_system *sys;
	unsigned int i, busy = 0;
	int n = 0;

	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	if (!sys) {
		mutex_unlock(&vanity_lock);
		snprintf(msg, VANITY_MSG_LEN, "no system is up");
		return -ENOENT;
	}
	for (i = 0; i < sys->nshards; i++) {
		struct vanity_shard *s = &sys->shards[i];

		if (!s->attached)
			continue;
		if (!busy++)
			n = scnprintf(msg, VANITY_MSG_LEN, "shards attached:");
		n += scnprintf(msg + n, VANITY_MSG_LEN - n, " %s (pid %d)",
			       s->desc->name, pid_nr(s->pid));
	}
	if (busy && !force) {
		mutex_unlock(&vanity_lock);
		return -EBUSY;
	}
	msg[0] = '\0';

	/*
	 * Stop the pollers, revoke, then zap: no fault can map a page after
	 * this point. Ring memory itself lives until the last attached file
	 * closes, so an ENTER racing this DOWN never touches freed pages.
	 */
	for (i = 0; i < sys->nshards; i++) {
		vanity_ring_detach(&sys->shards[i]);
		vanity_region_revoke(sys->shards[i].ring->region);
		if (sys->shards[i].mem)
			vanity_region_revoke(sys->shards[i].mem);
	}
	for (i = 0; i < sys->nchannels; i++)
		vanity_region_revoke(sys->channels[i].region);
	vanity_devices_revoke(sys);
	for (i = 0; i < sys->nshards; i++) {
		struct vanity_shard *s = &sys->shards[i];

		if (s->attached) {
			vanity_dev_zap(s->attached);
			s->attached = NULL;
		}
	}
	sys->dead = true;
	for (i = 0; i < sys->nchannels; i++) {
		wake_up_all(&sys->channels[i].wq_data);
		wake_up_all(&sys->channels[i].wq_space);
	}
	/* An ENTER asleep for CQEs ends with -ENODEV too. */
	for (i = 0; i < sys->nshards; i++)
		vanity_ring_wake_dead(&sys->shards[i]);
	/*
	 * The security order: devices quiet and reset, their IOMMU
	 * mappings gone and flushed, and only then their memory freed.
	 */
	vanity_devices_release(sys);
	system_retire_regions(sys);
	vanity_cpus_release(&sys->cpus);
	vanity_sys = NULL;
	mutex_unlock(&vanity_lock);

	pr_info("vanity: system '%s' down%s\n",
		vanity_image_hdr(sys->image)->name, busy ? " (forced)" : "");
	vanity_system_put(sys);
	return 0;
}
