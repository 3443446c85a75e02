/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared fixtures of the unit tests: scratch directories and files, a
 * known-good image, and manifest loading with its messages captured.
 */
#ifndef VANITY_UNIT_HELPERS_H
#define VANITY_UNIT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "imgwrite.h"

/* A fresh directory under $TMPDIR, removed with its files by rm_tree(). */
char *scratch_dir(void);
void rm_tree(const char *dir);
/* Remove every scratch directory still there: a failed assert skips cleanup. */
void scratch_cleanup(void);

/* Write @text to @dir/@name; returns the malloc'd path. */
char *write_text(const char *dir, const char *name, const char *text);
/* Whole file into a malloc'd buffer (NUL-terminated), or NULL. */
char *read_all(const char *path, size_t *len);
bool exists(const char *path);
/* Entries of @dir other than . and .. */
unsigned int dir_entries(const char *dir);

/*
 * The reference image: system "sys"; shards "a" (cpus 2, 1 MiB, uid 0,
 * program "./a") and "b" (cpus 3-4, no memory, uid 1000); channels
 * "ab" a->b 64x1024 and "ba" b->a 8x2.
 */
void good_image(uint8_t **img, size_t *len);
/*
 * The reference image with devices, for what relates them to shards and
 * channels: shards "a" (cpus 2, 1 MiB), "b" (cpus 3, no memory) and "c"
 * (cpus 4, 64 KiB); channels "ab" a->b 64x1024, "ba" b->a 8x2 and "bc"
 * b->c 8x2; devices "edu" (0000:00:03.0) of "a", DMA into a's private
 * region and channels "ab" and "ba", and "nic" (0001:02:1f.7) of "b", DMA
 * into channels "ab" and "bc" only. Directory entry 3 is the devices.
 */
void good_image_devices(uint8_t **img, size_t *len);
struct vanity_image_hdr *hdr_of(uint8_t *img);
/*
 * Directory entry @k of a writer's image: 0 shards, 1 channels, 2 strings,
 * 3 devices (when it has any).
 */
struct vanity_image_section *sec_of(uint8_t *img, unsigned int k);
struct vanity_image_shard *shard_of(uint8_t *img, unsigned int i);
struct vanity_image_channel *chan_of(uint8_t *img, unsigned int i);
struct vanity_image_device *dev_of(uint8_t *img, unsigned int i);

/*
 * Copy @img with a header of @hdr_size and entries of the given sizes,
 * the extra bytes zero, offsets and total adjusted, CRC sealed.
 */
uint8_t *relayout(const uint8_t *img, size_t hdr_size, size_t shard_size,
		  size_t chan_size, size_t *len);

/*
 * The version 1 twin of writer image @img, built by hand: the v1 header
 * with fixed offset fields, then shards, channels and strings as they are.
 */
uint8_t *to_v1(const uint8_t *img, size_t *len);

/* Manifest @text, written to a scratch file and loaded into @w. */
struct load {
	int ret;
	char *dir;
	char *path;
	char *errs;		/* everything printed, "" when nothing */
	unsigned int nerrs;	/* lines in errs */
};
struct load load_text(const char *text, struct vanity_imgw *w);
/* The same, as `vanityctl run` loads it for effective uid @runner. */
struct load load_text_run(const char *text, struct vanity_imgw *w,
			  uint32_t runner);
void load_free(struct load *l);

/* True when errs has a line "PATH:LINE: ..." that contains @needle. */
bool has_error(const struct load *l, int line, const char *needle);

#endif
