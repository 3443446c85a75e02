// SPDX-License-Identifier: GPL-2.0
/*
 * Image validation in a fixed order (size, magic, version, header, CRC,
 * sections, strings, entries, cross references, totals), with overflow-
 * checked arithmetic throughout: the module trusts nothing the CLI did.
 */
#include "image.h"
#include "crc32c.h"
#include "chan.h"
#include "pci.h"
#include "uapi_asserts.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vanity images are little-endian; big-endian hosts are unsupported"
#endif


#define ENTRY_SIZE_MAX	1024
#define HDR_SIZE_MAX	1024

static __printf(5, 0)
void vfail(struct vanity_diag *d, int shard, int channel, int device,
	   const char *fmt, va_list ap)
{
	if (!d)
		return;
	d->shard = shard;
	d->channel = channel;
	d->device = device;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

/* Record why a check failed in @d (may be NULL) and return @err. */
static __printf(5, 6)
int failf(struct vanity_diag *d, int err, int shard, int channel,
	  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(d, shard, channel, -1, fmt, ap);
	va_end(ap);
	return err;
}

/* The same for a refusal that names device @dev. */
static __printf(4, 5)
int dev_failf(struct vanity_diag *d, int err, unsigned int dev,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(d, -1, -1, dev, fmt, ap);
	va_end(ap);
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

#define SEC_KNOWN	VANITY_IMAGE_SEC_DEVICES	/* highest type this reader serves */

static const char *const sec_names[SEC_KNOWN + 1] = {
	[VANITY_IMAGE_SEC_SHARDS] = "shards",
	[VANITY_IMAGE_SEC_CHANNELS] = "channels",
	[VANITY_IMAGE_SEC_STRTAB] = "string table",
	[VANITY_IMAGE_SEC_DEVICES] = "devices",
};

/* Where each known section lives, read from either version's header. */
struct layout {
	u32 off[SEC_KNOWN + 1];
	u32 count[SEC_KNOWN + 1];	/* entries; bytes for the string table */
	u32 esize[SEC_KNOWN + 1];
};

const void *__vanity_image_section(const void *img, unsigned int type,
				   u32 *esize, u32 *count)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	const struct vanity_image_hdr_v1 *v1 = img;
	const struct vanity_image_section *sec;
	unsigned int i;

	*esize = 0;
	*count = 0;
	if (h->version == 1) {
		switch (type) {
		case VANITY_IMAGE_SEC_SHARDS:
			*esize = v1->shard_entry_size;
			*count = v1->shard_count;
			return (const u8 *)img + v1->shard_off;
		case VANITY_IMAGE_SEC_CHANNELS:
			*esize = v1->channel_entry_size;
			*count = v1->channel_count;
			return (const u8 *)img + v1->channel_off;
		case VANITY_IMAGE_SEC_STRTAB:
			*esize = 1;
			*count = v1->strtab_size;
			return (const u8 *)img + v1->strtab_off;
		}
		return NULL;
	}
	sec = (const struct vanity_image_section *)((const u8 *)img +
						    h->section_off);
	for (i = 0; i < h->section_count; i++) {
		if (sec[i].type != type)
			continue;
		*esize = sec[i].entry_size;
		*count = sec[i].count;
		return (const u8 *)img + sec[i].offset;
	}
	return NULL;
}

const char *vanity_image_str(const void *img, u32 off)
{
	u32 esize, size;
	const char *t = __vanity_image_section(img, VANITY_IMAGE_SEC_STRTAB,
					       &esize, &size);

	if (!off || off >= size)
		return NULL;
	return t + off;
}

u64 vanity_channel_region_size(const struct vanity_image_channel *c)
{
	return vanity_chan_region_bytes(c->slot_size, c->slots);
}

/* Lowest set bit of a non-zero @v, for messages that name one bit. */
static unsigned int low_bit(u32 v)
{
	unsigned int b = 0;

	while (!(v & 1)) {
		v >>= 1;
		b++;
	}
	return b;
}

static int check_hdr(const void *img, size_t len, struct vanity_diag *d)
{
	const struct vanity_image_hdr *h = img;
	const struct vanity_image_hdr_v1 *v1 = img;
	struct vanity_image_hdr tmp;
	u32 crc;

	if (len < 8)
		return failf(d, -EINVAL, -1, -1, "image truncated: %zu bytes", len);
	if (h->magic != VANITY_IMAGE_MAGIC)
		return failf(d, -EINVAL, -1, -1, "bad magic 0x%08x", h->magic);
	if (h->version != 1 && h->version != VANITY_IMAGE_VERSION)
		return failf(d, -EPROTONOSUPPORT, -1, -1,
		     "image version %u unsupported (want 1 or %u)", h->version,
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

	if (h->version == 1) {
		if (v1->flags || v1->resv0 || !all_zero(v1->resv, sizeof(v1->resv)))
			return failf(d, -EINVAL, -1, -1,
				     "reserved header fields are not zero");
	} else {
		/* Before anything else: such an image may use what we call reserved. */
		if (h->features_incompat & ~VANITY_IMAGE_INCOMPAT_KNOWN)
			return failf(d, -EOPNOTSUPP, -1, -1,
				     "unknown incompatible feature bit %u",
				     low_bit(h->features_incompat &
					     ~VANITY_IMAGE_INCOMPAT_KNOWN));
		if (h->resv0 || !all_zero(h->resv1, sizeof(h->resv1)) ||
		    !all_zero(h->resv, sizeof(h->resv)))
			return failf(d, -EINVAL, -1, -1,
				     "reserved header fields are not zero");
	}
	if (!all_zero((const u8 *)img + sizeof(*h), h->hdr_size - sizeof(*h)))
		return failf(d, -EINVAL, -1, -1, "unknown header extension is not zero");
	if (!name_field_ok(h->name))
		return failf(d, -EINVAL, -1, -1, "bad system name");
	return 0;
}

/* Counts, entry sizes and the string table's size, in either version. */
static int check_tables(const struct layout *l, struct vanity_diag *d)
{
	u32 ns = l->count[VANITY_IMAGE_SEC_SHARDS];
	u32 nc = l->count[VANITY_IMAGE_SEC_CHANNELS];
	u32 ss = l->esize[VANITY_IMAGE_SEC_SHARDS];
	u32 cs = l->esize[VANITY_IMAGE_SEC_CHANNELS];
	u32 ts = l->count[VANITY_IMAGE_SEC_STRTAB];
	u32 nd = l->count[VANITY_IMAGE_SEC_DEVICES];
	u32 ds = l->esize[VANITY_IMAGE_SEC_DEVICES];

	if (ns == 0)
		return failf(d, -EINVAL, -1, -1, "no shards");
	if (ns > VANITY_MAX_SHARDS)
		return failf(d, -E2BIG, -1, -1, "%u shards exceed %u", ns,
		     VANITY_MAX_SHARDS);
	if (nc > VANITY_MAX_CHANNELS)
		return failf(d, -E2BIG, -1, -1, "%u channels exceed %u", nc,
		     VANITY_MAX_CHANNELS);
	if (ss < sizeof(struct vanity_image_shard) || ss > ENTRY_SIZE_MAX || ss % 8)
		return failf(d, -EINVAL, -1, -1, "bad shard entry size %u", ss);
	/* An empty channel table may say any size: nothing is read through it. */
	if (nc && (cs < sizeof(struct vanity_image_channel) ||
		   cs > ENTRY_SIZE_MAX || cs % 8))
		return failf(d, -EINVAL, -1, -1, "bad channel entry size %u", cs);
	if (ts > VANITY_STRTAB_MAX)
		return failf(d, -E2BIG, -1, -1, "string table of %u bytes exceeds %u",
		     ts, VANITY_STRTAB_MAX);
	if (nd > VANITY_MAX_DEVICES)
		return failf(d, -E2BIG, -1, -1, "%u devices exceed %u", nd,
			     VANITY_MAX_DEVICES);
	/* As for channels, an empty table's entry size is never used. */
	if (nd && (ds < sizeof(struct vanity_image_device) ||
		   ds > ENTRY_SIZE_MAX || ds % 8))
		return failf(d, -EINVAL, -1, -1, "bad device entry size %u", ds);
	return 0;
}

/* Version 1: three fixed tables whose places the header names. */
static int check_sections_v1(const struct vanity_image_hdr_v1 *h,
			     struct layout *l, struct vanity_diag *d)
{
	u32 s_end, c_end, t_end;
	int ret;

	l->off[VANITY_IMAGE_SEC_SHARDS] = h->shard_off;
	l->count[VANITY_IMAGE_SEC_SHARDS] = h->shard_count;
	l->esize[VANITY_IMAGE_SEC_SHARDS] = h->shard_entry_size;
	l->off[VANITY_IMAGE_SEC_CHANNELS] = h->channel_off;
	l->count[VANITY_IMAGE_SEC_CHANNELS] = h->channel_count;
	l->esize[VANITY_IMAGE_SEC_CHANNELS] = h->channel_entry_size;
	l->off[VANITY_IMAGE_SEC_STRTAB] = h->strtab_off;
	l->count[VANITY_IMAGE_SEC_STRTAB] = h->strtab_size;
	l->esize[VANITY_IMAGE_SEC_STRTAB] = 1;
	ret = check_tables(l, d);
	if (ret)
		return ret;
	/* v1 always checked the channel entry size, even with no channels. */
	if (h->channel_entry_size < sizeof(struct vanity_image_channel) ||
	    h->channel_entry_size > ENTRY_SIZE_MAX || h->channel_entry_size % 8)
		return failf(d, -EINVAL, -1, -1, "bad channel entry size %u",
		     h->channel_entry_size);

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

/* [off, off + bytes) inside [min, total), 8-byte aligned; 64-bit safe. */
static bool span_ok(u32 off, u64 bytes, u32 min, u32 total)
{
	return !(off % 8) && off >= min && off <= total &&
	       bytes <= (u64)total - off;
}

/*
 * Version 2: the directory; each entry's type; then, as in version 1, the
 * known sections' counts and sizes before where any section lies.
 */
static int check_sections_v2(const void *img, struct layout *l,
			     struct vanity_diag *d)
{
	const struct vanity_image_hdr *h = img;
	const struct vanity_image_section *sec;
	bool announced = h->features_compat & ~VANITY_IMAGE_COMPAT_KNOWN;
	bool devices = h->features_incompat & VANITY_IMAGE_INCOMPAT_DEVICES;
	int seen[SEC_KNOWN + 1];
	u32 dir_end, end, i, j;
	int ret;

	for (i = 0; i <= SEC_KNOWN; i++)
		seen[i] = -1;
	if (!h->section_count || h->section_count > VANITY_IMAGE_SECTIONS_MAX)
		return failf(d, -EINVAL, -1, -1, "%u sections, want 1 to %u",
			     h->section_count, VANITY_IMAGE_SECTIONS_MAX);
	if (!span_ok(h->section_off, (u64)h->section_count * sizeof(*sec),
		     h->hdr_size, h->total_size))
		return failf(d, -EINVAL, -1, -1,
			     "section directory at %u runs past the image or is misaligned",
			     h->section_off);
	dir_end = h->section_off + h->section_count * sizeof(*sec);
	sec = (const struct vanity_image_section *)((const u8 *)img +
						    h->section_off);

	for (i = 0; i < h->section_count; i++) {
		const struct vanity_image_section *s = &sec[i];

		if (!s->type)
			return failf(d, -EINVAL, -1, -1, "section %u has type 0", i);
		if (s->flags || !all_zero(s->resv, sizeof(s->resv)))
			return failf(d, -EINVAL, -1, -1,
				     "section %u (type %u): reserved fields are not zero",
				     i, s->type);
		if (s->type > SEC_KNOWN) {
			if (!announced)
				return failf(d, -EINVAL, -1, -1,
					     "section %u (type %u) is unknown and no feature announces it",
					     i, s->type);
			continue;
		}
		if (seen[s->type] >= 0)
			return failf(d, -EINVAL, -1, -1,
				     "sections %d and %u are both the %s",
				     seen[s->type], i, sec_names[s->type]);
		seen[s->type] = i;
		l->off[s->type] = s->offset;
		l->count[s->type] = s->count;
		l->esize[s->type] = s->entry_size;
	}
	/* The bit is what stops an older reader: one never comes without the other. */
	if (seen[VANITY_IMAGE_SEC_DEVICES] >= 0 && !devices)
		return failf(d, -EINVAL, -1, -1,
			     "section %d holds devices but the devices feature (incompatible bit %u) is not set",
			     seen[VANITY_IMAGE_SEC_DEVICES],
			     low_bit(VANITY_IMAGE_INCOMPAT_DEVICES));
	if (seen[VANITY_IMAGE_SEC_DEVICES] < 0 && devices)
		return failf(d, -EINVAL, -1, -1,
			     "the devices feature (incompatible bit %u) is set but no section holds devices",
			     low_bit(VANITY_IMAGE_INCOMPAT_DEVICES));
	if (seen[VANITY_IMAGE_SEC_STRTAB] >= 0 &&
	    l->esize[VANITY_IMAGE_SEC_STRTAB] != 1)
		return failf(d, -EINVAL, -1, -1,
			     "string table entry size %u (want 1)",
			     l->esize[VANITY_IMAGE_SEC_STRTAB]);
	ret = check_tables(l, d);
	if (ret)
		return ret;
	if (h->shard_count != l->count[VANITY_IMAGE_SEC_SHARDS] ||
	    h->channel_count != l->count[VANITY_IMAGE_SEC_CHANNELS])
		return failf(d, -EINVAL, -1, -1,
			     "header counts %u shards and %u channels, sections hold %u and %u",
			     h->shard_count, h->channel_count,
			     l->count[VANITY_IMAGE_SEC_SHARDS],
			     l->count[VANITY_IMAGE_SEC_CHANNELS]);

	for (i = 0; i < h->section_count; i++) {
		const struct vanity_image_section *s = &sec[i];
		u64 bytes = (u64)s->count * s->entry_size;

		if (!span_ok(s->offset, bytes, h->hdr_size, h->total_size))
			return failf(d, -EINVAL, -1, -1,
				     "section %u (type %u) at %u runs past the image or is misaligned",
				     i, s->type, s->offset);
		end = s->offset + (u32)bytes;
		if (overlap(s->offset, end, h->section_off, dir_end))
			return failf(d, -EINVAL, -1, -1,
				     "section %u overlaps the section directory", i);
		/* Earlier entries passed span_ok: their ends fit in 32 bits. */
		for (j = 0; j < i; j++)
			if (overlap(s->offset, end, sec[j].offset, sec[j].offset +
				    sec[j].count * sec[j].entry_size))
				return failf(d, -EINVAL, -1, -1,
					     "sections %u and %u overlap", j, i);
	}
	return 0;
}

static int check_strtab(const void *img, const struct layout *l,
			struct vanity_diag *d)
{
	const char *t = (const char *)img + l->off[VANITY_IMAGE_SEC_STRTAB];
	u32 size = l->count[VANITY_IMAGE_SEC_STRTAB];

	if (!size)
		return 0;
	if (t[0] != '\0' || t[size - 1] != '\0')
		return failf(d, -EINVAL, -1, -1, "string table is not NUL-delimited");
	return 0;
}

static int check_shard(const void *img, const struct layout *l,
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
	    !all_zero(s + 1, l->esize[VANITY_IMAGE_SEC_SHARDS] - sizeof(*s)))
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
		if (s->program >= l->count[VANITY_IMAGE_SEC_STRTAB])
			return failf(d, -EINVAL, i, -1,
			     "shard '%s': program offset %u outside string table",
			     s->name, s->program);
		prog = vanity_image_str(img, s->program);
		if (!prog[0] || ((const char *)img + l->off[VANITY_IMAGE_SEC_STRTAB])[s->program - 1])
			return failf(d, -EINVAL, i, -1,
			     "shard '%s': program offset %u is not a string start",
			     s->name, s->program);
		if (strnlen(prog, VANITY_PROGRAM_MAX) >= VANITY_PROGRAM_MAX)
			return failf(d, -E2BIG, i, -1, "shard '%s': program too long",
			     s->name);
	}
	return 0;
}

static int check_channel(const void *img, const struct layout *l,
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
	    !all_zero(c + 1, l->esize[VANITY_IMAGE_SEC_CHANNELS] - sizeof(*c)))
		return failf(d, -EINVAL, -1, i,
		     "channel '%s': reserved fields are not zero", c->name);
	if (c->from >= l->count[VANITY_IMAGE_SEC_SHARDS] ||
	    c->to >= l->count[VANITY_IMAGE_SEC_SHARDS])
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

static bool same_pci_addr(const struct vanity_image_device *a,
			  const struct vanity_image_device *b)
{
	return a->pci_domain == b->pci_domain && a->pci_bus == b->pci_bus &&
	       a->pci_devfn == b->pci_devfn;
}

/* Runs after every shard and channel passed: it reads their fields. */
static int check_device(const void *img, const struct layout *l,
			unsigned int i, struct vanity_diag *d)
{
	const struct vanity_image_device *v = vanity_image_device(img, i);
	const struct vanity_image_device *o;
	const struct vanity_image_channel *c;
	const struct vanity_image_shard *owner;
	u32 nc = l->count[VANITY_IMAGE_SEC_CHANNELS];
	unsigned int j, w;
	struct vanity_pci_addr pa;
	char addr[VANITY_PCI_ADDR_LEN];

	if (!name_field_ok(v->name))
		return dev_failf(d, -EINVAL, i, "device %u: bad name", i);
	for (j = 0; j < i; j++)
		if (!strncmp(vanity_image_device(img, j)->name, v->name,
			     VANITY_NAME_MAX))
			return dev_failf(d, -EINVAL, i,
					 "device '%s': duplicate name", v->name);
	if (v->flags & ~VANITY_DEVICE_F_KNOWN)
		return dev_failf(d, -EINVAL, i, "device '%s': unknown flags 0x%x",
				 v->name, v->flags & ~VANITY_DEVICE_F_KNOWN);
	if (!all_zero(v->resv, sizeof(v->resv)) ||
	    !all_zero(v + 1, l->esize[VANITY_IMAGE_SEC_DEVICES] - sizeof(*v)))
		return dev_failf(d, -EINVAL, i,
				 "device '%s': reserved fields are not zero",
				 v->name);
	for (j = 0; j < i; j++) {
		o = vanity_image_device(img, j);
		if (same_pci_addr(o, v)) {
			pa.domain = v->pci_domain;
			pa.bus = v->pci_bus;
			pa.devfn = v->pci_devfn;
			vanity_pci_addr_format(&pa, addr);
			return dev_failf(d, -EINVAL, i,
					 "device '%s': address %s is also device '%s'",
					 v->name, addr, o->name);
		}
	}
	if (v->shard >= l->count[VANITY_IMAGE_SEC_SHARDS])
		return dev_failf(d, -EINVAL, i,
				 "device '%s': owner shard %u out of range",
				 v->name, v->shard);
	owner = vanity_image_shard(img, v->shard);
	if (v->flags & VANITY_DEVICE_F_DMA_PRIVATE && !owner->memory_size)
		return dev_failf(d, -EINVAL, i,
				 "device '%s' may not DMA into the private region of shard '%s': it has no memory",
				 v->name, owner->name);
	for (w = 0; w < ARRAY_SIZE(v->dma_channels); w++) {
		u64 bits = v->dma_channels[w];

		for (j = w * 64; bits; j++, bits >>= 1) {
			if (!(bits & 1))
				continue;
			if (j >= nc)
				return dev_failf(d, -EINVAL, i,
						 "device '%s': DMA into channel %u, but there are %u channels",
						 v->name, j, nc);
			c = vanity_image_channel(img, j);
			if (vanity_channel_role(c, v->shard) == VANITY_ROLE_NONE)
				return dev_failf(d, -EINVAL, i,
						 "device '%s' may not DMA into channel '%s': shard '%s' is not an endpoint",
						 v->name, c->name, owner->name);
		}
	}
	return 0;
}

int vanity_image_check(const void *img, size_t len, struct vanity_diag *d)
{
	const struct vanity_image_hdr *h = img;
	struct layout l = { { 0 } };
	u64 total = 0;
	unsigned int i;
	int ret;

	if (d) {
		d->shard = -1;
		d->channel = -1;
		d->device = -1;
		d->msg[0] = '\0';
	}
	if (!img)
		return failf(d, -EINVAL, -1, -1, "no image");
	ret = check_hdr(img, len, d);
	if (ret)
		return ret;
	if (h->version == 1)
		ret = check_sections_v1(img, &l, d);
	else
		ret = check_sections_v2(img, &l, d);
	if (ret)
		return ret;
	ret = check_strtab(img, &l, d);
	if (ret)
		return ret;
	for (i = 0; i < h->shard_count; i++) {
		ret = check_shard(img, &l, i, d);
		if (ret)
			return ret;
		/* Each term <= 1 GiB and at most 64 of them: no overflow. */
		total += vanity_image_shard(img, i)->memory_size;
	}
	for (i = 0; i < h->channel_count; i++) {
		ret = check_channel(img, &l, i, d);
		if (ret)
			return ret;
		total += vanity_channel_region_size(vanity_image_channel(img, i));
	}
	for (i = 0; i < l.count[VANITY_IMAGE_SEC_DEVICES]; i++) {
		ret = check_device(img, &l, i, d);
		if (ret)
			return ret;
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

int vanity_image_find_device(const void *img, const char *name)
{
	unsigned int i, n = vanity_image_device_count(img);

	for (i = 0; i < n; i++)
		if (!strncmp(vanity_image_device(img, i)->name, name,
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
