/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image writer: collects shards, channels, strings and devices, then lays
 * them out as header | section directory | shards | channels | strings
 * [| devices], CRC set.
 */
#ifndef VANITY_IMGWRITE_H
#define VANITY_IMGWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/vanity.h>

#include "pci.h"

struct vanity_imgw {
	char name[VANITY_NAME_MAX];
	struct vanity_image_shard shards[VANITY_MAX_SHARDS];
	struct vanity_image_channel channels[VANITY_MAX_CHANNELS];
	unsigned int nshards, nchannels;
	char strtab[VANITY_STRTAB_MAX];
	size_t strtab_len;
	struct vanity_image_device devices[VANITY_MAX_DEVICES];
	unsigned int ndevices;
};

/* Start an image for system @name (copied, truncated to the field). */
void vanity_imgw_init(struct vanity_imgw *w, const char *name);

/* Append a shard; returns its index or -E2BIG / -ENOSPC. @program may be NULL. */
int vanity_imgw_shard(struct vanity_imgw *w, const char *name, uint64_t memory,
		      const uint64_t cpus[VANITY_CPU_WORDS], uint32_t uid,
		      const char *program);

/* Append a channel between shard indices; returns its index or -E2BIG. */
int vanity_imgw_channel(struct vanity_imgw *w, const char *name,
			unsigned int from, unsigned int to, uint32_t slot_size,
			uint32_t slots);

/*
 * Append PCI function @addr, given to shard index @shard with
 * VANITY_DEVICE_F_* @flags and no channel to DMA into (set bits of
 * devices[i].dma_channels for those); returns its index or -E2BIG.
 */
int vanity_imgw_device(struct vanity_imgw *w, const char *name,
		       const struct vanity_pci_addr *addr, unsigned int shard,
		       uint16_t flags);

/*
 * Serialise into a malloc'd buffer (*img, *len). No validation here: a
 * writer must be able to produce bad images for the tests; callers that
 * want a good one run vanity_image_check() on the result. The DEVICES
 * section and its incompatible bit are written only when there is a
 * device, so an image without one is what older readers know. Returns
 * 0 or -ENOMEM / -E2BIG.
 */
int vanity_imgw_finish(const struct vanity_imgw *w, void **img, size_t *len);

/* Recompute the CRC of an image edited in place (tests, fuzzers). */
void vanity_imgw_seal(void *img, size_t len);

#endif
