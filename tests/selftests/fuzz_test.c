// SPDX-License-Identifier: GPL-2.0
/*
 * Randomly mutated images through UP: each is refused exactly as the
 * shared validator predicts, or comes up, answers GET and goes down.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"
#include "image.h"

#define FUZZ_ITERATIONS	10000
#define FUZZ_CAP	8192		/* buffer bytes: bases are < 2.5 KiB */
#define FUZZ_BUDGET	(16ULL << 20)	/* region bytes an accepted image may use */
#define FUZZ_REDRAWS	64		/* attempts to stay within the budget */
#define FREE_TOL_KB	(4 * 1024L)

/* ------------------------------------------------------------ PRNG */

/* splitmix64: tiny, seedable, good enough to pick mutations. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(rnd(s) % n) : 0;
}

/* ------------------------------------------------------------ shapes */

enum { F_INT, F_NAME };

struct field {
	uint32_t off;
	uint8_t size;		/* 2, 4, 8, or VANITY_NAME_MAX for names */
	uint8_t kind;
};

#define MAX_FIELDS 512

struct shape {
	const char *what;
	uint8_t *img;
	size_t len;
	struct field fields[MAX_FIELDS];
	unsigned int nfields;
	/* Where the entries are, for "valid value" mutations. */
	uint32_t shard_off, channel_off;
	unsigned int nshards, nchannels;
};

static void add_field(struct shape *sh, size_t off, size_t size, int kind)
{
	if (sh->nfields < MAX_FIELDS)
		sh->fields[sh->nfields++] = (struct field){
			.off = (uint32_t)off, .size = (uint8_t)size,
			.kind = (uint8_t)kind };
}

#define HF(m) add_field(sh, offsetof(struct vanity_image_hdr, m), \
			sizeof(((struct vanity_image_hdr *)0)->m), F_INT)
#define H1F(m) add_field(sh, offsetof(struct vanity_image_hdr_v1, m), \
			 sizeof(((struct vanity_image_hdr_v1 *)0)->m), F_INT)

/* Every integer and name field of the image, at its offset. */
static void index_fields(struct shape *sh)
{
	const struct vanity_image_hdr *h = (const void *)sh->img;
	unsigned int i, k;
	size_t b;

	sh->nfields = 0;
	HF(magic); HF(version); HF(hdr_size); HF(total_size); HF(crc32c);
	HF(shard_count); HF(channel_count);
	if (h->version == 1) {
		H1F(flags); H1F(strtab_size); H1F(shard_entry_size);
		H1F(channel_entry_size); H1F(shard_off); H1F(channel_off);
		H1F(strtab_off); H1F(resv0);
	} else {
		HF(features_compat); HF(features_incompat); HF(section_count);
		HF(resv0); HF(section_off); HF(resv1[0]);
	}
	add_field(sh, offsetof(struct vanity_image_hdr, name), VANITY_NAME_MAX,
		  F_NAME);
	for (k = 0; k < 12; k += 5)
		add_field(sh, offsetof(struct vanity_image_hdr, resv) + 4 * k, 4,
			  F_INT);
	/* Every field of each directory entry (version 1 has none). */
	for (i = 0; h->version != 1 && i < h->section_count; i++) {
		b = h->section_off + (size_t)i * sizeof(struct vanity_image_section);
		add_field(sh, b + offsetof(struct vanity_image_section, type), 2,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_section, flags), 2,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_section, offset), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_section, count), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_section, entry_size),
			  4, F_INT);
		add_field(sh, b + offsetof(struct vanity_image_section, resv), 4,
			  F_INT);
	}
	/* The shapes are valid images: the accessors say where entries are. */
	sh->shard_off = (uint32_t)((const uint8_t *)vanity_image_shard(sh->img, 0) -
				   sh->img);
	sh->channel_off = h->channel_count ?
		(uint32_t)((const uint8_t *)vanity_image_channel(sh->img, 0) -
			   sh->img) : 0;
	sh->nshards = h->shard_count;
	sh->nchannels = h->channel_count;
	for (i = 0; i < h->shard_count; i++) {
		b = (size_t)((const uint8_t *)vanity_image_shard(sh->img, i) -
			     sh->img);
		add_field(sh, b + offsetof(struct vanity_image_shard, name),
			  VANITY_NAME_MAX, F_NAME);
		add_field(sh, b + offsetof(struct vanity_image_shard, memory_size),
			  8, F_INT);
		for (k = 0; k < VANITY_CPU_WORDS; k += 3)
			add_field(sh, b + offsetof(struct vanity_image_shard, cpus) +
				  8 * k, 8, F_INT);
		add_field(sh, b + offsetof(struct vanity_image_shard, uid), 4, F_INT);
		add_field(sh, b + offsetof(struct vanity_image_shard, program), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_shard, flags), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_shard, resv) + 16, 4,
			  F_INT);
	}
	for (i = 0; i < h->channel_count; i++) {
		b = (size_t)((const uint8_t *)vanity_image_channel(sh->img, i) -
			     sh->img);
		add_field(sh, b + offsetof(struct vanity_image_channel, name),
			  VANITY_NAME_MAX, F_NAME);
		add_field(sh, b + offsetof(struct vanity_image_channel, from), 2,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_channel, to), 2,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_channel, slot_size),
			  4, F_INT);
		add_field(sh, b + offsetof(struct vanity_image_channel, slots), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_channel, flags), 4,
			  F_INT);
		add_field(sh, b + offsetof(struct vanity_image_channel, resv), 4,
			  F_INT);
	}
}

#define NSHAPES 4

/*
 * The version 1 twin of writer image @img (freed): the old header, then
 * the tables and strings as they are, so the fuzzer reaches the old reader.
 */
static uint8_t *to_v1(void *img, size_t *len)
{
	const struct vanity_image_hdr *h = img;
	const struct vanity_image_section *sec =
		(const void *)((uint8_t *)img + h->section_off);
	size_t dir = (size_t)h->section_count * sizeof(*sec);
	size_t rest = *len - h->section_off - dir;
	struct vanity_image_hdr_v1 *o;
	uint8_t *out;

	/* The writer: header, directory, then shards, channels, strings. */
	*len -= dir;
	out = calloc(1, *len);
	if (!out)
		abort();
	o = (void *)out;
	o->magic = VANITY_IMAGE_MAGIC;
	o->version = 1;
	o->hdr_size = sizeof(*o);
	o->total_size = (uint32_t)*len;
	memcpy(o->name, h->name, sizeof(o->name));
	o->shard_count = h->shard_count;
	o->channel_count = h->channel_count;
	o->shard_entry_size = (uint16_t)sec[0].entry_size;
	o->channel_entry_size = (uint16_t)sec[1].entry_size;
	o->shard_off = (uint32_t)(sec[0].offset - dir);
	o->channel_off = (uint32_t)(sec[1].offset - dir);
	o->strtab_off = (uint32_t)(sec[2].offset - dir);
	o->strtab_size = sec[2].count;
	memcpy(out + sizeof(*o), (uint8_t *)img + h->section_off + dir, rest);
	vanity_imgw_seal(out, *len);
	free(img);
	return out;
}

static void build_shape(struct shape *sh, unsigned int which)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[16];
	unsigned int i;
	void *img;

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	switch (which) {
	case 0:
		sh->what = "solo";
		vanity_imgw_init(&w, "fuzz-solo");
		vanity_imgw_shard(&w, "only", 8192, a, 0, "/bin/only --fast");
		break;
	case 1:
	case 3:
		sh->what = which == 1 ? "pair" : "pair-v1";
		vt_pair(&w, 8192, 64, 16);
		break;
	default:
		sh->what = "eight";
		vanity_imgw_init(&w, "fuzz_eight");
		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "s%u", i);
			vanity_imgw_shard(&w, name, i % 3 ? 4096 : 0,
					  i % 2 ? b : a, i, i == 3 ? "/bin/three" :
					  i == 6 ? "six" : NULL);
		}
		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "ring-%u", i);
			vanity_imgw_channel(&w, name, i, (i + 1) % 8, 8U << (i % 4),
					    2U << (i % 3));
		}
		break;
	}
	if (vanity_imgw_finish(&w, &img, &sh->len))
		abort();
	sh->img = which == 3 ? to_v1(img, &sh->len) : img;
	index_fields(sh);
}

/* ------------------------------------------------------------ mutations */

enum {
	M_BITFLIP, M_BYTE, M_FIELD, M_ANYINT, M_TRUNCATE, M_EXTEND,
	M_VALID, M_SPLICE, M_NR
};

static const char *const mut_names[M_NR] = {
	"bitflip", "byte", "field", "anyint", "truncate", "extend", "valid",
	"splice",
};

static uint64_t boundary(uint64_t *s, uint64_t cur, unsigned int size,
			 size_t len)
{
	const uint64_t max = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	uint64_t v;

	switch (below(s, 16)) {
	case 0: v = 0; break;
	case 1: v = 1; break;
	case 2: v = max; break;
	case 3: v = max >> 1; break;			/* 0x7f... */
	case 4: v = (max >> 1) + 1; break;		/* 0x80... */
	case 5: v = max - 1; break;
	case 6: v = cur + 1; break;
	case 7: v = cur - 1; break;
	case 8: v = cur + 8; break;
	case 9: v = cur - 8; break;
	case 10: v = cur << 1; break;
	case 11: v = 1ULL << below(s, 8 * size); break;
	case 12: v = len + 8 * (uint64_t)below(s, 3) - 8; break;
	case 13: v = 4096ULL * below(s, 1024); break;
	case 14: v = (1ULL << 30) + 4096 * (uint64_t)below(s, 3) - 4096; break;
	default: v = rnd(s); break;
	}
	return v & max;
}

static uint64_t get_int(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);	/* little-endian host, as the ABI */
	return v;
}

static void put_int(uint8_t *p, unsigned int size, uint64_t v)
{
	memcpy(p, &v, size);
}

static const uint8_t interesting8[] = { 0x00, 0xff, 0x7f, 0x80 };

/* Apply one mutation to buf[0, *len); returns its kind. */
static int mutate(uint64_t *s, const struct shape *sh, uint8_t *buf,
		  size_t *len)
{
	/* Length changes end at the first size check: make them rarer. */
	static const uint8_t weights[M_NR] = {
		[M_BITFLIP] = 3, [M_BYTE] = 2, [M_FIELD] = 5, [M_ANYINT] = 2,
		[M_TRUNCATE] = 1, [M_EXTEND] = 1, [M_VALID] = 3, [M_SPLICE] = 1,
	};
	unsigned int pick, total = 0;
	int kind = 0;
	const struct field *f;
	size_t n = *len, off, add, src, cnt;
	unsigned int size, i;

	for (i = 0; i < M_NR; i++)
		total += weights[i];
	pick = below(s, total);
	while (pick >= weights[kind])
		pick -= weights[kind++];
	if (n == 0 && kind != M_EXTEND)
		kind = M_EXTEND;
	switch (kind) {
	case M_BITFLIP:
		buf[below(s, (uint32_t)n)] ^= (uint8_t)(1u << below(s, 8));
		break;
	case M_BYTE:
		buf[below(s, (uint32_t)n)] = interesting8[below(s, 4)];
		break;
	case M_FIELD:
		f = &sh->fields[below(s, sh->nfields)];
		if (f->off + f->size > n)
			break;
		if (f->kind == F_NAME) {
			static const char bad[] = { 'A', ' ', '.', '\0', '\xff',
						    'z', '-', '_' };

			switch (below(s, 3)) {
			case 0:
				buf[f->off + below(s, VANITY_NAME_MAX)] =
					(uint8_t)bad[below(s, sizeof(bad))];
				break;
			case 1:	/* another name: often a duplicate */
				src = sh->fields[below(s, sh->nfields)].off;
				if (src + VANITY_NAME_MAX <= n)
					memmove(buf + f->off, buf + src,
						VANITY_NAME_MAX);
				break;
			default:
				memset(buf + f->off, 0, VANITY_NAME_MAX);
				break;
			}
			break;
		}
		put_int(buf + f->off, f->size,
			boundary(s, get_int(buf + f->off, f->size), f->size, n));
		break;
	case M_ANYINT:
		size = 2u << below(s, 3);
		if (n < size)
			break;
		off = below(s, (uint32_t)(n - size + 1)) & ~(size_t)(size - 1);
		put_int(buf + off, size,
			boundary(s, get_int(buf + off, size), size, n));
		break;
	case M_TRUNCATE:
		/* Half the time just a little off the end. */
		*len = below(s, 2) ? n - 1 - below(s, n < 16 ? (uint32_t)n : 16)
				   : below(s, (uint32_t)n);
		/* Half the time keep total_size in step, to get further. */
		if (*len >= sizeof(struct vanity_image_hdr) && below(s, 2))
			((struct vanity_image_hdr *)buf)->total_size =
				(uint32_t)*len;
		break;
	case M_EXTEND:
		add = 1 + below(s, 256);
		if (n + add > FUZZ_CAP)
			add = FUZZ_CAP - n;
		if (below(s, 2))
			memset(buf + n, 0, add);
		else
			for (i = 0; i < add; i++)
				buf[n + i] = (uint8_t)rnd(s);
		*len = n + add;
		/* Half the time keep total_size in step, to get further. */
		if (*len >= sizeof(struct vanity_image_hdr) && below(s, 2))
			((struct vanity_image_hdr *)buf)->total_size =
				(uint32_t)*len;
		break;
	case M_VALID: {
		/* A different but legal value, so more images come up. */
		unsigned int e = below(s, sh->nshards + sh->nchannels);
		uint8_t *p;

		if (e < sh->nshards) {
			p = buf + sh->shard_off +
			    e * sizeof(struct vanity_image_shard);
			if (p + sizeof(struct vanity_image_shard) > buf + n)
				break;
			switch (below(s, 4)) {
			case 0:
				put_int(p + offsetof(struct vanity_image_shard,
						     memory_size), 8,
					4096ULL * below(s, 5));
				break;
			case 3:	/* every shard at the limit: totals overflow */
				for (e = 0; e < sh->nshards; e++) {
					p = buf + sh->shard_off + e *
					    sizeof(struct vanity_image_shard) +
					    offsetof(struct vanity_image_shard,
						     memory_size);
					if (p + 8 <= buf + n)
						put_int(p, 8, VANITY_MEMORY_MAX);
				}
				break;
			case 1:
				put_int(p + offsetof(struct vanity_image_shard,
						     cpus), 8,
					(below(s, 3) + 1ULL) << VT_CPU_A);
				break;
			default:
				put_int(p + offsetof(struct vanity_image_shard,
						     uid), 4, below(s, 70000));
				break;
			}
		} else {
			e -= sh->nshards;
			p = buf + sh->channel_off +
			    e * sizeof(struct vanity_image_channel);
			if (p + sizeof(struct vanity_image_channel) > buf + n)
				break;
			put_int(p + (below(s, 2) ?
				     offsetof(struct vanity_image_channel,
					      slot_size) :
				     offsetof(struct vanity_image_channel, slots)),
				4, 8U << below(s, 8));
		}
		break;
	}
	default:	/* M_SPLICE: copy a run of bytes elsewhere */
		cnt = 1 + below(s, 32);
		if (cnt > n)
			cnt = n;
		src = below(s, (uint32_t)(n - cnt + 1));
		off = below(s, (uint32_t)(n - cnt + 1));
		memmove(buf + off, buf + src, cnt);
		break;
	}
	return kind;
}

/* ------------------------------------------------------------ oracle */

/* nr_cpu_ids: one past the last possible CPU ("0-3" -> 4), or -1. */
static int possible_cpus(void)
{
	char buf[64], *p;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, '-');
		p = p ? p + 1 : strrchr(buf, ',') ? strrchr(buf, ',') + 1 : buf;
		n = atoi(p) + 1;
	}
	fclose(f);
	return n;
}

/*
 * The module's CPU checks for one shard, in its order: every bit must be a
 * CPU that exists, then each CPU, lowest first, must be isolated. Fills
 * @msg with the start of the refusal; returns 0 or -EINVAL.
 */
static int shard_cpus_check(const struct vanity_image_shard *s, int nr_cpus,
			    char *msg, size_t len)
{
	unsigned int cpu;

	for (cpu = 0; cpu < VANITY_MAX_CPUS; cpu++)
		if (s->cpus[cpu / 64] >> (cpu % 64) & 1 && (int)cpu >= nr_cpus) {
			snprintf(msg, len, "shard '%s': cpu %u does not exist",
				 s->name, cpu);
			return -EINVAL;
		}
	for (cpu = 0; cpu < (unsigned int)nr_cpus; cpu++)
		if (s->cpus[cpu / 64] >> (cpu % 64) & 1 &&
		    cpu != VT_CPU_A && cpu != VT_CPU_B) {
			snprintf(msg, len, "shard '%s': cpu %u is not isolated",
				 s->name, cpu);
			return -EINVAL;
		}
	return 0;
}

static uint64_t regions_total(const void *img)
{
	const struct vanity_image_hdr *h = img;
	uint64_t t = 0;
	unsigned int i;

	for (i = 0; i < h->shard_count; i++)
		t += vanity_image_shard(img, i)->memory_size;
	for (i = 0; i < h->channel_count; i++)
		t += vanity_channel_region_size(vanity_image_channel(img, i));
	return t;
}

/*
 * What UP must answer, and with which message (@exact, or its start). The
 * module runs the very validator linked here, so a refused image gets the
 * same errno and message; an accepted one (within the memory budget) comes
 * up exactly when every CPU of it is isolated, and is otherwise refused by
 * the CPU checks with EINVAL naming the first offending shard and CPU.
 */
static int predict(const uint8_t *img, size_t len, int nr_cpus,
		   struct vanity_diag *d, bool *by_validator, bool *exact)
{
	const struct vanity_image_hdr *h = (const void *)img;
	unsigned int i;
	int v;

	*by_validator = true;
	*exact = true;
	if (len > VANITY_IMAGE_MAX_SIZE) {
		/* The client refuses it, in these words. */
		snprintf(d->msg, sizeof(d->msg), "image of %zu bytes exceeds %u",
			 len, VANITY_IMAGE_MAX_SIZE);
		return -E2BIG;
	}
	v = vanity_image_check(img, len, d);
	if (v)
		return v;
	*by_validator = false;
	*exact = false;
	for (i = 0; i < h->shard_count; i++) {
		v = shard_cpus_check(vanity_image_shard(img, i), nr_cpus, d->msg,
				     sizeof(d->msg));
		if (v)
			return v;
	}
	snprintf(d->msg, sizeof(d->msg), "%s", "");
	return 0;
}

static bool msg_matches(const char *want, const char *got, bool exact)
{
	return exact ? !strcmp(want, got) : !strncmp(want, got, strlen(want));
}

static bool allowed_errno(int ret)
{
	switch (ret) {
	case 0:
	case -EINVAL:		/* validator: malformed; module: bad CPU */
	case -EBADMSG:		/* validator: CRC */
	case -E2BIG:		/* validator: size bounds */
	case -EPROTONOSUPPORT:	/* validator: version */
	case -EOPNOTSUPP:	/* validator: unknown incompatible feature */
	case -EOVERFLOW:	/* validator: regions total */
	case -ENOMEM:		/* module: allocation */
		return true;
	default:
		return false;
	}
}

static void dump(struct __test_metadata *_metadata, const uint8_t *img,
		 size_t len)
{
	char line[3 * 32 + 1];
	size_t i, j;

	for (i = 0; i < len && i < 1024; i += 32) {
		for (j = 0; j < 32 && i + j < len; j++)
			snprintf(line + 3 * j, 4, "%02x ", img[i + j]);
		TH_LOG("%04zx: %s", i, line);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ tests */

FIXTURE(fuzz) {
	struct shape shapes[NSHAPES];
	int nr_cpus;
	uint8_t *buf;
	char msg[256];
};

FIXTURE_SETUP(fuzz)
{
	unsigned int i;

	vt_reset();
	self->nr_cpus = possible_cpus();
	ASSERT_GT(self->nr_cpus, VT_CPU_B);
	for (i = 0; i < NSHAPES; i++)
		build_shape(&self->shapes[i], i);
	self->buf = calloc(1, FUZZ_CAP);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(fuzz)
{
	unsigned int i;

	vt_reset();
	for (i = 0; i < NSHAPES; i++)
		free(self->shapes[i].img);
	free(self->buf);
}

TEST_F(fuzz, base_shapes_come_up)
{
	struct vanity_status *st;
	struct vanity_diag d;
	unsigned int i;

	for (i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &self->shapes[i];
		const struct vanity_image_hdr *h = (const void *)sh->img;

		ASSERT_EQ(0, vanity_image_check(sh->img, sh->len, &d))
			TH_LOG("%s: %s", sh->what, d.msg);
		ASSERT_LE(regions_total(sh->img), FUZZ_BUDGET);
		ASSERT_EQ(0, vt_up_raw(sh->img, sh->len, self->msg,
				       sizeof(self->msg)))
			TH_LOG("%s: %s", sh->what, self->msg);
		ASSERT_EQ(0, vt_get(&st));
		EXPECT_STREQ(h->name, st->name);
		EXPECT_EQ(h->shard_count, st->nshards);
		EXPECT_EQ(h->channel_count, st->nchannels);
		free(st);
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	}
}

TEST_F_TIMEOUT(fuzz, mutated_images_are_refused_or_come_up_cleanly, 300)
{
	const char *env = getenv("VANITY_FUZZ_SEED");
	unsigned long accepted = 0, refused = 0, redrawn = 0, resealed = 0;
	unsigned long by_errno[7] = { 0 }, by_kind[M_NR] = { 0 };
	unsigned long by_shape[NSHAPES] = { 0 };
	struct vanity_status *st;
	long free0, free1;
	uint64_t seed;
	double t0;
	unsigned int it;

	seed = env && *env ? strtoull(env, NULL, 0) :
	       (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	TH_LOG("seed %llu (replay with VANITY_FUZZ_SEED=%llu)",
	       (unsigned long long)seed, (unsigned long long)seed);

	vt_settle(200);
	free0 = vt_free_kb();
	ASSERT_LT(0, free0);
	t0 = now_s();

	for (it = 0; it < FUZZ_ITERATIONS; it++) {
		uint64_t s = seed ^ (0x5851f42d4c957f2dULL * (it + 1));
		int kinds[8], nmut = 0, want = 0, ret, r, m;
		unsigned int sidx = 0;
		bool by_validator = false, exact = true, seal = false;
		struct vanity_diag d;
		size_t len = 0;

		/* Draw until the image is refused or small enough to bring up. */
		for (r = 0; r < FUZZ_REDRAWS; r++) {
			const struct shape *sh;

			sidx = below(&s, NSHAPES);
			sh = &self->shapes[sidx];
			memcpy(self->buf, sh->img, sh->len);
			len = sh->len;
			nmut = 1 + (int)below(&s, 8);
			for (m = 0; m < nmut; m++)
				kinds[m] = mutate(&s, sh, self->buf, &len);
			/* Mostly reseal, so mutations reach the deep checks. */
			seal = below(&s, 10) != 0;
			if (seal)
				vanity_imgw_seal(self->buf, len);
			want = predict(self->buf, len, self->nr_cpus, &d,
				       &by_validator, &exact);
			/*
			 * The module allocates shard by shard before a later
			 * shard's CPU may fail it: budget every image the
			 * validator passes, whatever its CPUs.
			 */
			if (by_validator ||
			    regions_total(self->buf) <= FUZZ_BUDGET)
				break;
			redrawn++;
		}
		ASSERT_LT(r, FUZZ_REDRAWS) TH_LOG("iteration %u: no cheap image", it);
		by_shape[sidx]++;
		resealed += seal;
		for (m = 0; m < nmut; m++)
			by_kind[kinds[m]]++;

		ret = vt_up_raw(self->buf, len, self->msg, sizeof(self->msg));
		if (!allowed_errno(ret) || ret != want ||
		    !msg_matches(d.msg, self->msg, exact)) {
			TH_LOG("seed %llu iteration %u shape %s len %zu%s: UP %d '%s', predicted %d '%s'",
			       (unsigned long long)seed, it,
			       self->shapes[sidx].what, len,
			       seal ? " resealed" : "", ret, self->msg, want,
			       d.msg);
			for (m = 0; m < nmut; m++)
				TH_LOG("mutation %d: %s", m, mut_names[kinds[m]]);
			dump(_metadata, self->buf, len);
		}
		ASSERT_TRUE(allowed_errno(ret)) TH_LOG("errno %d", ret);
		ASSERT_EQ(want, ret);
		ASSERT_TRUE(msg_matches(d.msg, self->msg, exact))
			TH_LOG("message '%s', predicted %s'%s'", self->msg,
			       exact ? "" : "a start of ", d.msg);

		if (ret == 0) {
			const struct vanity_image_hdr *h = (const void *)self->buf;

			accepted++;
			ASSERT_EQ(0, vt_get(&st)) TH_LOG("iteration %u", it);
			EXPECT_STREQ(h->name, st->name);
			EXPECT_EQ(h->shard_count, st->nshards);
			EXPECT_EQ(h->channel_count, st->nchannels);
			free(st);
			ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
				TH_LOG("iteration %u: %s", it, self->msg);
			continue;
		}
		refused++;
		switch (-ret) {
		case EINVAL: by_errno[0]++; break;
		case EBADMSG: by_errno[1]++; break;
		case E2BIG: by_errno[2]++; break;
		case EPROTONOSUPPORT: by_errno[3]++; break;
		case EOVERFLOW: by_errno[4]++; break;
		case EOPNOTSUPP: by_errno[6]++; break;
		default: by_errno[5]++; break;
		}
	}

	TH_LOG("%u images in %.1f s: %lu accepted, %lu refused (EINVAL %lu, EBADMSG %lu, E2BIG %lu, EPROTONOSUPPORT %lu, EOPNOTSUPP %lu, EOVERFLOW %lu, ENOMEM %lu); %lu resealed, %lu redrawn over the memory budget",
	       FUZZ_ITERATIONS, now_s() - t0, accepted, refused, by_errno[0],
	       by_errno[1], by_errno[2], by_errno[3], by_errno[6], by_errno[4],
	       by_errno[5], resealed, redrawn);
	TH_LOG("shapes solo/pair/eight/pair-v1: %lu/%lu/%lu/%lu", by_shape[0],
	       by_shape[1], by_shape[2], by_shape[3]);
	for (it = 0; it < M_NR; it++)
		TH_LOG("mutation %-8s x %lu", mut_names[it], by_kind[it]);

	EXPECT_EQ(FUZZ_ITERATIONS, accepted + refused);
	/* Both outcomes were exercised, and the deep checks were reached. */
	EXPECT_LT(0, accepted);
	EXPECT_LT(0, by_errno[0]);
	EXPECT_LT(0, by_errno[1]);

	ASSERT_EQ(-ENOENT, vt_get(&st));
	free(st);
	vt_settle(200);
	free1 = vt_free_kb();
	TH_LOG("free (MemFree + per-CPU lists) %ld -> %ld kB (%+ld)", free0, free1, free1 - free0);
	EXPECT_LE(free0 - free1, FREE_TOL_KB);
}

TEST_HARNESS_MAIN
