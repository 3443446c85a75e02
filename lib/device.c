// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Passed devices on the shard side: the module's description of each
 * (VANITY_IOC_DEVICE), its BARs mapped through the attach fd once each,
 * and the address translation a driver hands the device, asked of the
 * module per region and cached.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lib.h"
#include "vanity/ring.h"

/* Regions a device may reach: the private one, and one per channel. */
struct vanity_device_win {
	uint32_t kind, index;
	int known;			/* asked; iova 0 and -ENOENT: not granted */
	int err;
	uint64_t iova;
};

struct vanity_device {
	struct vanity_device *next;
	struct vanity *v;
	struct vanity_device_info info;
	volatile void *bar[VANITY_DEVICE_BARS];
	struct vanity_device_win priv;
	struct vanity_device_win *chans;	/* v->nchannels of them */
};

static int device_ioctl(struct vanity *v, struct vanity_device_info *info)
{
	return ioctl(v->fd, VANITY_IOC_DEVICE, info) ? -errno : 0;
}

int vanity_device_get(struct vanity *v, const char *name,
		      struct vanity_device **out)
{
	struct vanity_device *d;
	int ret;

	if (!v || !name || !out || strlen(name) >= VANITY_NAME_MAX)
		return -EINVAL;
	if (v->hosted)
		return -EOPNOTSUPP;
	for (d = v->devs; d; d = d->next) {
		if (!strcmp(d->info.name, name)) {
			*out = d;
			return 0;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->chans = calloc(v->nchannels ? v->nchannels : 1, sizeof(*d->chans));
	if (!d->chans) {
		free(d);
		return -ENOMEM;
	}
	d->v = v;
	d->info.size = sizeof(d->info);
	strcpy(d->info.name, name);
	ret = device_ioctl(v, &d->info);
	if (ret) {
		free(d->chans);
		free(d);
		return ret;
	}
	d->next = v->devs;
	v->devs = d;
	*out = d;
	return 0;
}

const struct vanity_device_info *
vanity_device_info(const struct vanity_device *d)
{
	return &d->info;
}

int vanity_device_bar(struct vanity_device *d, unsigned int bar,
		      volatile void **addr, size_t *len)
{
	const struct vanity_device_bar *b;
	void *p;

	if (!d || !addr || !len || bar >= VANITY_DEVICE_BARS)
		return -EINVAL;
	b = &d->info.bars[bar];
	if (!b->size || !(b->flags & VANITY_BAR_F_MAPPABLE))
		return -ENXIO;
	if (!d->bar[bar]) {
		p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 d->v->fd, (off_t)b->mmap_offset);
		if (p == MAP_FAILED)
			return -errno;
		d->bar[bar] = p;
	}
	*addr = d->bar[bar];
	*len = b->size;
	return 0;
}

/* Where the device reaches window @w, asked once. */
static int window(struct vanity_device *d, struct vanity_device_win *w,
		  uint32_t kind, uint32_t index, uint64_t *iova)
{
	struct vanity_device_info q;

	if (!w->known) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.flags = VANITY_DEVICE_F_INDEX | VANITY_DEVICE_F_WINDOW;
		q.index = d->info.index;
		q.win_kind = kind;
		q.win_index = index;
		w->err = device_ioctl(d->v, &q);
		if (w->err && w->err != -ENOENT)
			return w->err;	/* not cached: it may pass later */
		w->iova = q.win_iova;
		w->known = 1;
	}
	*iova = w->iova;
	return w->err;
}

int vanity_device_iova(struct vanity_device *d, const void *addr, size_t len,
		       uint64_t *iova)
{
	const uint8_t *p = addr, *base;
	struct vanity_chan_map *m;
	struct vanity *v;
	uint64_t at;
	int ret;

	if (!d || !addr || !len || !iova)
		return -EINVAL;
	v = d->v;
	base = v->mem;
	if (base && p >= base && p < base + v->mem_len) {
		if (len > v->mem_len - (size_t)(p - base))
			return -EINVAL;
		ret = window(d, &d->priv, VANITY_MMAP_K_PRIVATE, 0, &at);
		if (!ret)
			*iova = at + (uint64_t)(p - base);
		return ret;
	}
	for (m = v->chans; m; m = m->next) {
		base = m->ch.region;
		if (p < base || p >= base + m->ch.size)
			continue;
		if (len > m->ch.size - (size_t)(p - base) ||
		    m->ch.index >= v->nchannels)
			return -EINVAL;
		ret = window(d, &d->chans[m->ch.index], VANITY_MMAP_K_CHANNEL,
			     m->ch.index, &at);
		if (!ret)
			*iova = at + (uint64_t)(p - base);
		return ret;
	}
	return -EINVAL;
}

void vanity__devices_free(struct vanity *v)
{
	struct vanity_device *d, *next;
	unsigned int i;

	for (d = v->devs; d; d = next) {
		next = d->next;
		for (i = 0; i < VANITY_DEVICE_BARS; i++)
			if (d->bar[i])
				munmap((void *)d->bar[i], d->info.bars[i].size);
		free(d->chans);
		free(d);
	}
	v->devs = NULL;
}

int vanity_device_irq_arm(struct vanity_device *d, uint64_t vectors,
			  int64_t timeout_ns, uint64_t user_data)
{
	struct vanity_ring *r;
	struct vanity_sqe *sqe;
	unsigned int n;

	if (!d || !vectors)
		return -EINVAL;
	n = d->info.irq_vectors;
	if (!n)
		return -ENODEV;
	if (n < 64 && vectors >> n)
		return -EINVAL;
	r = vanity_ring(d->v);
	if (!r)
		return -ENODEV;
	sqe = vanity_get_sqe(r);
	if (!sqe)
		return -EBUSY;
	vanity_prep_irq_wait(sqe, d->info.index, vectors, timeout_ns,
			     user_data);
	return 0;
}
