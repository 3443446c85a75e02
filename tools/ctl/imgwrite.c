// SPDX-License-Identifier: GPL-2.0
/*
 * Lays out and checksums a binary image (version 2). Entries are written at
 * their own sizes; the string table starts with the NUL offset 0 points at.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imgwrite.h"
#include "crc32c.h"

/*
 * The directory lists shards, channels and strings, always in that order,
 * then the devices when there are any.
 */
#define NSECTIONS	3
#define NSECTIONS_MAX	4

static void copy_name(char dst[VANITY_NAME_MAX], const char *src)
{
	memset(dst, 0, VANITY_NAME_MAX);
	strncpy(dst, src, VANITY_NAME_MAX - 1);
}

void vanity_imgw_init(struct vanity_imgw *w, const char *name)
{
	memset(w, 0, sizeof(*w));
	copy_name(w->name, name);
	w->strtab_len = 1;	/* offset 0 is the empty string: "none" */
}

static int add_string(struct vanity_imgw *w, const char *s, uint32_t *off)
{
	size_t n = strlen(s) + 1;

	if (n > sizeof(w->strtab) - w->strtab_len)
		return -E2BIG;
	memcpy(w->strtab + w->strtab_len, s, n);
	*off = (uint32_t)w->strtab_len;
	w->strtab_len += n;
	return 0;
}

int vanity_imgw_shard(struct vanity_imgw *w, const char *name, uint64_t memory,
		      const uint64_t cpus[VANITY_CPU_WORDS], uint32_t uid,
		      const char *program)
{
	struct vanity_image_shard *s;
	int ret;

	if (w->nshards >= VANITY_MAX_SHARDS)
		return -E2BIG;
	s = &w->shards[w->nshards];
	memset(s, 0, sizeof(*s));
	copy_name(s->name, name);
	s->memory_size = memory;
	memcpy(s->cpus, cpus, sizeof(s->cpus));
	s->uid = uid;
	if (program && *program) {
		ret = add_string(w, program, &s->program);
		if (ret)
			return ret;
	}
	return (int)w->nshards++;
}

int vanity_imgw_channel(struct vanity_imgw *w, const char *name,
			unsigned int from, unsigned int to, uint32_t slot_size,
			uint32_t slots)
{
	struct vanity_image_channel *c;

	if (w->nchannels >= VANITY_MAX_CHANNELS)
		return -E2BIG;
	c = &w->channels[w->nchannels];
	memset(c, 0, sizeof(*c));
	copy_name(c->name, name);
	c->from = (uint16_t)from;
	c->to = (uint16_t)to;
	c->slot_size = slot_size;
	c->slots = slots;
	return (int)w->nchannels++;
}

int vanity_imgw_device(struct vanity_imgw *w, const char *name,
		       const struct vanity_pci_addr *addr, unsigned int shard,
		       uint16_t flags)
{
	struct vanity_image_device *d;

	if (w->ndevices >= VANITY_MAX_DEVICES)
		return -E2BIG;
	d = &w->devices[w->ndevices];
	memset(d, 0, sizeof(*d));
	copy_name(d->name, name);
	d->pci_domain = addr->domain;
	d->pci_bus = addr->bus;
	d->pci_devfn = addr->devfn;
	d->shard = (uint16_t)shard;
	d->flags = flags;
	return (int)w->ndevices++;
}

void vanity_imgw_seal(void *img, size_t len)
{
	struct vanity_image_hdr *h = img;

	if (len < sizeof(*h))
		return;
	h->crc32c = 0;
	h->crc32c = vanity_crc32c(img, len);
}

static void put_section(struct vanity_image_section *s, uint16_t type,
			size_t off, size_t count, size_t entry_size)
{
	s->type = type;
	s->offset = (uint32_t)off;
	s->count = (uint32_t)count;
	s->entry_size = (uint32_t)entry_size;
}

int vanity_imgw_finish(const struct vanity_imgw *w, void **img, size_t *len)
{
	size_t nsec = w->ndevices ? NSECTIONS_MAX : NSECTIONS;
	size_t dir_bytes = nsec * sizeof(struct vanity_image_section);
	size_t shard_bytes = w->nshards * sizeof(struct vanity_image_shard);
	size_t chan_bytes = w->nchannels * sizeof(struct vanity_image_channel);
	size_t dev_bytes = w->ndevices * sizeof(struct vanity_image_device);
	size_t strtab = (w->strtab_len + 7) & ~(size_t)7;
	size_t shard_off = sizeof(struct vanity_image_hdr) + dir_bytes;
	size_t chan_off = shard_off + shard_bytes;
	size_t strtab_off = chan_off + chan_bytes;
	size_t dev_off = strtab_off + strtab;
	size_t total = dev_off + dev_bytes;
	struct vanity_image_section *dir;
	struct vanity_image_hdr *h;
	uint8_t *buf;

	if (total > VANITY_IMAGE_MAX_SIZE)
		return -E2BIG;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	h = (struct vanity_image_hdr *)buf;
	h->magic = VANITY_IMAGE_MAGIC;
	h->version = VANITY_IMAGE_VERSION;
	h->hdr_size = sizeof(*h);
	h->total_size = (uint32_t)total;
	memcpy(h->name, w->name, sizeof(h->name));
	h->shard_count = (uint16_t)w->nshards;
	h->channel_count = (uint16_t)w->nchannels;
	h->section_count = (uint16_t)nsec;
	h->section_off = sizeof(*h);
	dir = (struct vanity_image_section *)(buf + h->section_off);
	put_section(&dir[0], VANITY_IMAGE_SEC_SHARDS, shard_off, w->nshards,
		    sizeof(struct vanity_image_shard));
	put_section(&dir[1], VANITY_IMAGE_SEC_CHANNELS, chan_off, w->nchannels,
		    sizeof(struct vanity_image_channel));
	put_section(&dir[2], VANITY_IMAGE_SEC_STRTAB, strtab_off, strtab, 1);
	if (w->ndevices) {
		/* An older reader must refuse what it cannot confine. */
		h->features_incompat |= VANITY_IMAGE_INCOMPAT_DEVICES;
		put_section(&dir[3], VANITY_IMAGE_SEC_DEVICES, dev_off,
			    w->ndevices, sizeof(struct vanity_image_device));
	}
	memcpy(buf + shard_off, w->shards, shard_bytes);
	memcpy(buf + chan_off, w->channels, chan_bytes);
	memcpy(buf + strtab_off, w->strtab, w->strtab_len);
	memcpy(buf + dev_off, w->devices, dev_bytes);
	vanity_imgw_seal(buf, total);
	*img = buf;
	*len = total;
	return 0;
}
