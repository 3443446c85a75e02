// SPDX-License-Identifier: GPL-2.0
/*
 * Image validation in a fixed order (size, magic, version, header, CRC,
 * sections, strings, entries, cross references, totals), with overflow-
 * checked arithmetic throughout: the module trusts nothing the CLI did.
 */
#include "image.h"
#include "crc32c.h"
#include "chan.h"
#include "uapi_asserts.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vanity images are little-endian; big-endian hosts are unsupported"
#endif


#define ENTRY_SIZE_MAX	1024
#define HDR_SIZE_MAX	1024

/* Record why a check failed in @d (may be NULL) and return @err. */
static __printf(5, 6)
int failf(struct vanity_diag *d, int err, int shard, int channel,
	  const char *fmt, ...)
{
	va_list ap;

	if (d) {
		d->shard = shard;
		d->channel = channel;
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool all_zero(const void *p, size_t n)
{
	const u8 *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

bool vanity_name_valid(const char *name, size_t max)
{
	size_t i, n = strnlen(name, max);

	if (n == 0 || n >= max || n >= VANITY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A fixed name field: valid characters, then NUL padding to the end. */
static bool name_field_ok(const char name[VANITY_NAME_MAX])
{
	size_t n;

	if (!vanity_name_valid(name, VANITY_NAME_MAX))
		return false;
	n = strnlen(name, VANITY_NAME_MAX);
	return all_zero(name + n, VANITY_NAME_MAX - n);
}

static bool is_pow2(u64 v)
{
	return v && !(v & (v - 1));
}

/* [off, off + count * size) inside [min, total), 8-byte aligned. */
static bool section_ok(u32 off, u32 count, u32 size, u32 min, u32 total,
		       u32 *end)
{
	u64 bytes = (u64)count * size;	/* both <= 2^16: cannot overflow */

	if (off % 8 || off < min || off > total)
		return false;
	if (bytes > (u64)total - off)
		return false;
	*end = off + (u32)bytes;
	return true;
}

static bool overlap(u32 a0, u32 a1, u32 b0, u32 b1)
{
	if (a0 == a1 || b0 == b1)
		return false;
	return a0 < b1 && b0 < a1;
}

const char *vanity_image_str(const void *img, u32 off)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);

	if (!off || off >= h->strtab_size)
		return NULL;
	return (const char *)img + h->strtab_off + off;
}

u64 vanity_channel_region_size(const struct vanity_image_channel *c)
{
	return vanity_chan_region_bytes(c->slot_size, c->slots);
}

static int check_hdr(const void *img, size_t len, struct vanity_diag *d)
{
	const struct vanity_image_hdr *h = img;
	struct vanity_image_hdr tmp;
	u32 crc;

	if (len < 8)
		return failf(d, -EINVAL, -1, -1, "image truncated: %zu bytes", len);
	if (h->magic != VANITY_IMAGE_MAGIC)
		return failf(d, -EINVAL, -1, -1, "bad magic 0x%08x", h->magic);
	if (h->version != VANITY_IMAGE_VERSION)
		return failf(d, -EPROTONOSUPPORT, -1, -1,
		     "image version %u unsupported (want %u)", h->version,
		     VANITY_IMAGE_VERSION);
	if (len > VANITY_IMAGE_MAX_SIZE)
		return failf(d, -E2BIG, -1, -1, "image of %zu bytes exceeds %u", len,
		     VANITY_IMAGE_MAX_SIZE);
	if (len < sizeof(*h))
		return failf(d, -EINVAL, -1, -1, "image truncated: %zu bytes", len);
	if (h->total_size != len)
		return failf(d, -EINVAL, -1, -1, "total_size %u but image is %zu bytes",
		     h->total_size, len);
	if (h->hdr_size < sizeof(*h) || h->hdr_size > HDR_SIZE_MAX ||
	    h->hdr_size % 8 || h->hdr_size > len)
		return failf(d, -EINVAL, -1, -1, "bad header size %u", h->hdr_size);

	/* The CRC field reads as zero; hash a copy of the header, then the rest. */
	memcpy(&tmp, h, sizeof(tmp));
	tmp.crc32c = 0;
	crc = vanity_crc32c_update(~0U, &tmp, sizeof(tmp));
	crc = ~vanity_crc32c_update(crc, (const u8 *)img + sizeof(tmp),
				    len - sizeof(tmp));
	if (crc != h->crc32c)
		return failf(d, -EBADMSG, -1, -1, "checksum mismatch: 0x%08x, computed 0x%08x",
		     h->crc32c, crc);

	if (h->flags || h->resv0 || !all_zero(h->resv, sizeof(h->resv)))
		return failf(d, -EINVAL, -1, -1, "reserved header fields are not zero");
	if (!all_zero((const u8 *)img + sizeof(*h), h->hdr_size - sizeof(*h)))
		return failf(d, -EINVAL, -1, -1, "unknown header extension is not zero");
	if (!name_field_ok(h->name))
		return failf(d, -EINVAL, -1, -1, "bad system name");
	return 0;
}

static int check_sections(const struct vanity_image_hdr *h,
			  struct vanity_diag *d)
{
	u32 s_end, c_end, t_end;

	if (h->shard_count == 0)
		return failf(d, -EINVAL, -1, -1, "no shards");
	if (h->shard_count > VANITY_MAX_SHARDS)
		return failf(d, -E2BIG, -1, -1, "%u shards exceed %u", h->shard_count,
		     VANITY_MAX_SHARDS);
	if (h->channel_count > VANITY_MAX_CHANNELS)
		return failf(d, -E2BIG, -1, -1, "%u channels exceed %u",
		     h->channel_count, VANITY_MAX_CHANNELS);
	if (h->shard_entry_size < sizeof(struct vanity_image_shard) ||
	    h->shard_entry_size > ENTRY_SIZE_MAX || h->shard_entry_size % 8)
		return failf(d, -EINVAL, -1, -1, "bad shard entry size %u",
		     h->shard_entry_size);
	if (h->channel_entry_size < sizeof(struct vanity_image_channel) ||
	    h->channel_entry_size > ENTRY_SIZE_MAX || h->channel_entry_size % 8)
		return failf(d, -EINVAL, -1, -1, "bad channel entry size %u",
		     h->channel_entry_size);
	if (h->strtab_size > VANITY_STRTAB_MAX)
		return failf(d, -E2BIG, -1, -1, "string table of %u bytes exceeds %u",
		     h->strtab_size, VANITY_STRTAB_MAX);

	if (!section_ok(h->shard_off, h->shard_count, h->shard_entry_size,
			h->hdr_size, h->total_size, &s_end))
		return failf(d, -EINVAL, -1, -1, "shard table at %u runs past the image",
		     h->shard_off);
	if (!section_ok(h->channel_off, h->channel_count, h->channel_entry_size,
			h->hdr_size, h->total_size, &c_end))
		return failf(d, -EINVAL, -1, -1, "channel table at %u runs past the image",
		     h->channel_off);
	if (!section_ok(h->strtab_off, h->strtab_size, 1, h->hdr_size,
			h->total_size, &t_end))
		return failf(d, -EINVAL, -1, -1, "string table at %u runs past the image",
		     h->strtab_off);
	if (overlap(h->shard_off, s_end, h->channel_off, c_end) ||
	    overlap(h->shard_off, s_end, h->strtab_off, t_end) ||
	    overlap(h->channel_off, c_end, h->strtab_off, t_end))
		return failf(d, -EINVAL, -1, -1, "image sections overlap");
	return 0;
}

static int check_strtab(const void *img, const struct vanity_image_hdr *h,
			struct vanity_diag *d)
{
	const char *t = (const char *)img + h->strtab_off;

	if (!h->strtab_size)
		return 0;
	if (t[0] != '\0' || t[h->strtab_size - 1] != '\0')
		return failf(d, -EINVAL, -1, -1, "string table is not NUL-delimited");
	return 0;
}

static int check_shard(const void *img, const struct vanity_image_hdr *h,
		       unsigned int i, struct vanity_diag *d)
{
	const struct vanity_image_shard *s = vanity_image_shard(img, i);
	const char *prog;
	unsigned int w, j;
	bool any = false;

	if (!name_field_ok(s->name))
		return failf(d, -EINVAL, i, -1, "shard %u: bad name", i);
	for (j = 0; j < i; j++)
		if (!strncmp(vanity_image_shard(img, j)->name, s->name,
			     VANITY_NAME_MAX))
			return failf(d, -EINVAL, i, -1, "shard '%s': duplicate name",
			     s->name);
	if (s->flags & ~(VANITY_SHARD_F_RESTART | VANITY_SHARD_F_SYSTEM_OWNER) ||
	    !all_zero(s->resv, sizeof(s->resv)) ||
	    !all_zero(s + 1, h->shard_entry_size - sizeof(*s)))
		return failf(d, -EINVAL, i, -1, "shard '%s': reserved fields are not zero",
		     s->name);
	if (s->memory_size % VANITY_PAGE_SIZE)
		return failf(d, -EINVAL, i, -1,
		     "shard '%s': memory %llu is not a multiple of %u", s->name,
		     (unsigned long long)s->memory_size, VANITY_PAGE_SIZE);
	if (s->memory_size > VANITY_MEMORY_MAX)
		return failf(d, -E2BIG, i, -1, "shard '%s': memory %llu exceeds %llu",
		     s->name, (unsigned long long)s->memory_size,
		     (unsigned long long)VANITY_MEMORY_MAX);
	for (w = 0; w < VANITY_CPU_WORDS; w++)
		any |= s->cpus[w] != 0;
	if (!any)
		return failf(d, -EINVAL, i, -1, "shard '%s': no cpus", s->name);
	if (s->ring_entries && (!is_pow2(s->ring_entries) ||
				s->ring_entries < 2 ||
				s->ring_entries > VANITY_RING_ENTRIES_MAX))
		return failf(d, -EINVAL, i, -1,
			     "shard '%s': ring_entries %u is not a power of two in [2, %u]",
			     s->name, s->ring_entries, VANITY_RING_ENTRIES_MAX);
	if (s->uid == (u32)-1)
		return failf(d, -EINVAL, i, -1, "shard '%s': invalid uid", s->name);
	/* One encoding per meaning: the flag's uid is root's, as the module reads it. */
	if (s->flags & VANITY_SHARD_F_SYSTEM_OWNER && s->uid)
		return failf(d, -EINVAL, i, -1,
			     "shard '%s': uid %u with the system-owner flag (want 0)",
			     s->name, s->uid);
	if (s->program) {
		if (s->program >= h->strtab_size)
			return failf(d, -EINVAL, i, -1,
			     "shard '%s': program offset %u outside string table",
			     s->name, s->program);
		prog = vanity_image_str(img, s->program);
		if (!prog[0] || ((const char *)img + h->strtab_off)[s->program - 1])
			return failf(d, -EINVAL, i, -1,
			     "shard '%s': program offset %u is not a string start",
			     s->name, s->program);
		if (strnlen(prog, VANITY_PROGRAM_MAX) >= VANITY_PROGRAM_MAX)
			return failf(d, -E2BIG, i, -1, "shard '%s': program too long",
			     s->name);
	}
	return 0;
}

static int check_channel(const void *img, const struct vanity_image_hdr *h,
			 unsigned int i, struct vanity_diag *d)
{
	const struct vanity_image_channel *c = vanity_image_channel(img, i);
	unsigned int j;

	if (!name_field_ok(c->name))
		return failf(d, -EINVAL, -1, i, "channel %u: bad name", i);
	for (j = 0; j < i; j++)
		if (!strncmp(vanity_image_channel(img, j)->name, c->name,
			     VANITY_NAME_MAX))
			return failf(d, -EINVAL, -1, i, "channel '%s': duplicate name",
			     c->name);
	if (c->flags || !all_zero(c->resv, sizeof(c->resv)) ||
	    !all_zero(c + 1, h->channel_entry_size - sizeof(*c)))
		return failf(d, -EINVAL, -1, i,
		     "channel '%s': reserved fields are not zero", c->name);
	if (c->from >= h->shard_count || c->to >= h->shard_count)
		return failf(d, -EINVAL, -1, i, "channel '%s': endpoint out of range",
		     c->name);
	if (c->from == c->to)
		return failf(d, -EINVAL, -1, i, "channel '%s': both ends are shard '%s'",
		     c->name, vanity_image_shard(img, c->from)->name);
	if (!is_pow2(c->slot_size) || c->slot_size < VANITY_SLOT_SIZE_MIN ||
	    c->slot_size > VANITY_SLOT_SIZE_MAX)
		return failf(d, -EINVAL, -1, i,
		     "channel '%s': slot_size %u is not a power of two in [%u, %u]",
		     c->name, c->slot_size, VANITY_SLOT_SIZE_MIN,
		     VANITY_SLOT_SIZE_MAX);
	if (!is_pow2(c->slots) || c->slots < VANITY_SLOTS_MIN ||
	    c->slots > VANITY_SLOTS_MAX)
		return failf(d, -EINVAL, -1, i,
		     "channel '%s': slots %u is not a power of two in [%u, %u]",
		     c->name, c->slots, VANITY_SLOTS_MIN, VANITY_SLOTS_MAX);
	if ((u64)c->slot_size * c->slots > VANITY_CHANNEL_DATA_MAX)
		return failf(d, -E2BIG, -1, i, "channel '%s': %llu bytes of slots exceed %llu",
		     c->name, (unsigned long long)c->slot_size * c->slots,
		     (unsigned long long)VANITY_CHANNEL_DATA_MAX);
	return 0;
}

int vanity_image_check(const void *img, size_t len, struct vanity_diag *d)
{
	const struct vanity_image_hdr *h = img;
	u64 total = 0;
	unsigned int i;
	int ret;

	if (d) {
		d->shard = -1;
		d->channel = -1;
		d->msg[0] = '\0';
	}
	if (!img)
		return failf(d, -EINVAL, -1, -1, "no image");
	ret = check_hdr(img, len, d);
	if (ret)
		return ret;
	ret = check_sections(h, d);
	if (ret)
		return ret;
	ret = check_strtab(img, h, d);
	if (ret)
		return ret;
	for (i = 0; i < h->shard_count; i++) {
		ret = check_shard(img, h, i, d);
		if (ret)
			return ret;
		/* Each term <= 1 GiB and at most 64 of them: no overflow. */
		total += vanity_image_shard(img, i)->memory_size;
	}
	for (i = 0; i < h->channel_count; i++) {
		ret = check_channel(img, h, i, d);
		if (ret)
			return ret;
		total += vanity_channel_region_size(vanity_image_channel(img, i));
	}
	if (total > VANITY_TOTAL_MAX)
		return failf(d, -EOVERFLOW, -1, -1,
		     "regions total %llu bytes, over the %llu limit",
		     (unsigned long long)total,
		     (unsigned long long)VANITY_TOTAL_MAX);
	return 0;
}

int vanity_image_find_shard(const void *img, const char *name)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	unsigned int i;

	for (i = 0; i < h->shard_count; i++)
		if (!strncmp(vanity_image_shard(img, i)->name, name,
			     VANITY_NAME_MAX))
			return i;
	return -ENOENT;
}

int vanity_image_find_channel(const void *img, const char *name)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	unsigned int i;

	for (i = 0; i < h->channel_count; i++)
		if (!strncmp(vanity_image_channel(img, i)->name, name,
			     VANITY_NAME_MAX))
			return i;
	return -ENOENT;
}

int vanity_channel_view(const void *img, const char *name, u32 index,
			u32 shard, struct vanity_channel_info *out)
{
	const struct vanity_image_channel *c;
	int idx;

	if (name)
		idx = vanity_image_find_channel(img, name);
	else
		idx = index < vanity_image_hdr(img)->channel_count ?
		      (int)index : -ENOENT;
	if (idx < 0)
		return idx;
	c = vanity_image_channel(img, idx);
	memcpy(out->name, c->name, sizeof(out->name));
	out->index = idx;
	out->role = vanity_channel_role(c, shard);
	out->slot_size = c->slot_size;
	out->slots = c->slots;
	out->region_size = vanity_channel_region_size(c);
	out->mmap_offset = VANITY_MMAP_CHANNEL(idx);
	out->from = c->from;
	out->to = c->to;
	return 0;
}

void vanity_image_cpus(const void *img, u64 out[VANITY_CPU_WORDS])
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	unsigned int i, w;

	for (w = 0; w < VANITY_CPU_WORDS; w++)
		out[w] = 0;
	for (i = 0; i < h->shard_count; i++)
		for (w = 0; w < VANITY_CPU_WORDS; w++)
			out[w] |= vanity_image_shard(img, i)->cpus[w];
}
