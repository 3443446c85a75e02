/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image validator and accessors: the single definition of a
 * well-formed image, shared by module, library, CLI and tests.
 */
#ifndef VANITY_CORE_IMAGE_H
#define VANITY_CORE_IMAGE_H

#include "shim.h"

/* Why a check failed: a readable message naming the offending entity. */
struct vanity_diag {
	int shard;		/* offending shard index, or -1 */
	int channel;		/* offending channel index, or -1 */
	int device;		/* offending device index, or -1 */
	char msg[160];
};

/*
 * Validate @len bytes at @img. Returns 0, or a negative errno with @d
 * filled: -EINVAL malformed, -EBADMSG checksum mismatch, -E2BIG over a
 * size bound, -EPROTONOSUPPORT unknown version, -EOPNOTSUPP an
 * incompatible feature this reader does not know, -EOVERFLOW totals past
 * the system limits. @d may be NULL. Versions 1 and 2 read through the
 * same accessors below, which are only safe on an image this function
 * accepted.
 */
int vanity_image_check(const void *img, size_t len, struct vanity_diag *d);

/*
 * The features this reader knows: an image with any other incompatible bit
 * is refused; other compatible bits are ignored, and they license the
 * section types this reader does not know.
 */
#define VANITY_IMAGE_COMPAT_KNOWN	0U
#define VANITY_IMAGE_INCOMPAT_KNOWN	VANITY_IMAGE_INCOMPAT_DEVICES

/*
 * The header as every version reads it: magic, version, sizes, crc,
 * shard_count, channel_count and name sit at the same offsets in each.
 */
static inline const struct vanity_image_hdr *vanity_image_hdr(const void *img)
{
	return (const struct vanity_image_hdr *)img;
}

/*
 * Where the section of @type (VANITY_IMAGE_SEC_*) starts in a checked
 * image of either version, with its entry size and count (bytes for the
 * string table) in *@esize and *@count; NULL when it has none.
 */
const void *__vanity_image_section(const void *img, unsigned int type,
				   u32 *esize, u32 *count);

static inline const struct vanity_image_shard *
vanity_image_shard(const void *img, unsigned int i)
{
	u32 esize, count;
	const u8 *t = (const u8 *)__vanity_image_section(img,
			VANITY_IMAGE_SEC_SHARDS, &esize, &count);

	return (const struct vanity_image_shard *)(t + (size_t)i * esize);
}

static inline const struct vanity_image_channel *
vanity_image_channel(const void *img, unsigned int i)
{
	u32 esize, count;
	const u8 *t = (const u8 *)__vanity_image_section(img,
			VANITY_IMAGE_SEC_CHANNELS, &esize, &count);

	return (const struct vanity_image_channel *)(t + (size_t)i * esize);
}

/* Passed devices: none without a DEVICES section, so none in version 1. */
static inline unsigned int vanity_image_device_count(const void *img)
{
	u32 esize, count;

	__vanity_image_section(img, VANITY_IMAGE_SEC_DEVICES, &esize, &count);
	return count;
}

static inline const struct vanity_image_device *
vanity_image_device(const void *img, unsigned int i)
{
	u32 esize, count;
	const u8 *t = (const u8 *)__vanity_image_section(img,
			VANITY_IMAGE_SEC_DEVICES, &esize, &count);

	return (const struct vanity_image_device *)(t + (size_t)i * esize);
}

/* String at strtab offset @off, or NULL for offset 0 (none). */
const char *vanity_image_str(const void *img, u32 off);

/* Index of the shard / channel / device called @name, or -ENOENT. */
int vanity_image_find_shard(const void *img, const char *name);
int vanity_image_find_channel(const void *img, const char *name);
int vanity_image_find_device(const void *img, const char *name);

/*
 * A channel as shard @shard sees it when it looks it up (the module's
 * CHANNEL ioctl, the simulator's CHANNEL request): by @name, or by @index
 * when @name is NULL. 0 and *@out filled, with role VANITY_ROLE_NONE when
 * the shard is not one of its ends (it may know the channel, as GET tells
 * anyone, but not map it); -ENOENT when there is no such channel. Only
 * @out's size, flags and resv are left as they were.
 */
int vanity_channel_view(const void *img, const char *name, u32 index,
			u32 shard, struct vanity_channel_info *out);

/* Bytes of a channel region: header plus slots * stride, page-rounded. */
u64 vanity_channel_region_size(const struct vanity_image_channel *c);

/* VANITY_ROLE_* of shard @shard on channel @c. */
static inline u32 vanity_channel_role(const struct vanity_image_channel *c,
				      unsigned int shard)
{
	if (c->from == shard)
		return VANITY_ROLE_FROM;
	if (c->to == shard)
		return VANITY_ROLE_TO;
	return VANITY_ROLE_NONE;
}

/* OR of every shard's CPU bitmap into @out. */
void vanity_image_cpus(const void *img, u64 out[VANITY_CPU_WORDS]);

/* True when @name is 1..31 of [a-z0-9_-]. */
bool vanity_name_valid(const char *name, size_t max);

#endif /* VANITY_CORE_IMAGE_H */
