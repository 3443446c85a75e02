// SPDX-License-Identifier: GPL-2.0
/*
 * The validator, one malformation per test: each edit is resealed so the
 * check it aims at is the one that fires, and the errno is exact.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

static uint8_t *img;
static size_t len;

static void setup(void)
{
	good_image(&img, &len);
}

static void teardown(void)
{
	free(img);
	img = NULL;
}

TestSuite(image, .init = setup, .fini = teardown);

#define H	hdr_of(img)
#define S(i)	shard_of(img, i)
#define C(i)	chan_of(img, i)
/* The writer's directory: shards, channels, strings. */
#define SS	sec_of(img, 0)
#define SC	sec_of(img, 1)
#define ST	sec_of(img, 2)

/* Reseal, validate, and expect @err (0 or a negative errno). */
static struct vanity_diag expect_at(uint8_t *buf, size_t n, int err)
{
	struct vanity_diag d;
	int ret;

	vanity_imgw_seal(buf, n);
	ret = vanity_image_check(buf, n, &d);
	cr_assert_eq(ret, err, "got %d (%s), want %d", ret, d.msg, err);
	if (err)
		cr_assert_str_not_empty(d.msg);
	return d;
}

static struct vanity_diag expect(int err)
{
	return expect_at(img, len, err);
}

static void expect_msg(int err, const char *needle)
{
	struct vanity_diag d = expect(err);

	cr_assert(strstr(d.msg, needle), "'%s' lacks '%s'", d.msg, needle);
}

/* ------------------------------------------------------------ accepted */

Test(image, reference_image_round_trips)
{
	struct vanity_diag d;
	const struct vanity_image_shard *a, *b;
	const struct vanity_image_channel *ab, *ba;

	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);
	cr_assert_eq(d.shard, -1);
	cr_assert_eq(d.channel, -1);
	cr_assert_eq(d.device, -1);
	cr_assert_str_eq(vanity_image_hdr(img)->name, "sys");
	cr_assert_eq(vanity_image_hdr(img)->shard_count, 2);
	cr_assert_eq(vanity_image_hdr(img)->channel_count, 2);
	a = vanity_image_shard(img, 0);
	b = vanity_image_shard(img, 1);
	cr_assert_str_eq(a->name, "a");
	cr_assert_eq(a->memory_size, 1 << 20);
	cr_assert_eq(a->cpus[0], 1ULL << 2);
	cr_assert_eq(a->uid, 0);
	cr_assert_str_eq(vanity_image_str(img, a->program), "./a");
	cr_assert_str_eq(b->name, "b");
	cr_assert_eq(b->memory_size, 0);
	cr_assert_eq(b->cpus[0], 3ULL << 3);
	cr_assert_eq(b->uid, 1000);
	cr_assert_null(vanity_image_str(img, b->program));
	ab = vanity_image_channel(img, 0);
	ba = vanity_image_channel(img, 1);
	cr_assert_str_eq(ab->name, "ab");
	cr_assert_eq(ab->from, 0);
	cr_assert_eq(ab->to, 1);
	cr_assert_eq(ab->slot_size, 64);
	cr_assert_eq(ab->slots, 1024);
	cr_assert_str_eq(ba->name, "ba");
	cr_assert_eq(ba->from, 1);
	cr_assert_eq(ba->to, 0);
}

Test(image, accessors)
{
	uint64_t cpus[VANITY_CPU_WORDS];

	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_assert_eq(vanity_image_find_shard(img, "b"), 1);
	cr_assert_eq(vanity_image_find_shard(img, "zz"), -ENOENT);
	cr_assert_eq(vanity_image_find_channel(img, "ba"), 1);
	cr_assert_eq(vanity_image_find_channel(img, "a"), -ENOENT);
	cr_assert_eq(vanity_image_device_count(img), 0);
	cr_assert_eq(vanity_image_find_device(img, "a"), -ENOENT);
	vanity_image_cpus(img, cpus);
	cr_assert_eq(cpus[0], 0x1cULL);
	cr_assert_eq(vanity_channel_role(vanity_image_channel(img, 0), 0),
		     VANITY_ROLE_FROM);
	cr_assert_eq(vanity_channel_role(vanity_image_channel(img, 0), 1),
		     VANITY_ROLE_TO);
	cr_assert_eq(vanity_channel_role(vanity_image_channel(img, 0), 2),
		     VANITY_ROLE_NONE);
}

Test(image, channel_region_is_header_plus_slots_page_rounded)
{
	struct vanity_image_channel c = { .slot_size = 64, .slots = 1024 };

	/* Each slot carries an 8-byte sequence word before its payload. */
	cr_assert_eq(vanity_channel_region_size(&c), 4096 + 72 * 1024);
	c.slot_size = 8;
	c.slots = 2;
	cr_assert_eq(vanity_channel_region_size(&c), 8192);
	c.slot_size = 65536;
	c.slots = 4096;
	cr_assert_eq(vanity_channel_region_size(&c),
		     4096 + (256ULL << 20) + 8 * 4096);
}

Test(image, diag_may_be_null)
{
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	H->magic = 0;
	cr_assert_eq(vanity_image_check(img, len, NULL), -EINVAL);
}

/* ---------------------------------------------------------- truncation */

Test(image, null_image)
{
	struct vanity_diag d;

	cr_assert_eq(vanity_image_check(NULL, 0, &d), -EINVAL);
	cr_assert_str_eq(d.msg, "no image");
}

Test(image, truncated_below_magic_and_version)
{
	size_t n;

	for (n = 0; n < 8; n++)
		cr_assert_eq(vanity_image_check(img, n, NULL), -EINVAL,
			     "%zu bytes", n);
}

Test(image, truncated_inside_header)
{
	struct vanity_diag d;
	size_t n;

	for (n = 8; n < sizeof(struct vanity_image_hdr); n++) {
		cr_assert_eq(vanity_image_check(img, n, &d), -EINVAL,
			     "%zu bytes", n);
		cr_assert(strstr(d.msg, "truncated"), "%zu: %s", n, d.msg);
	}
}

Test(image, truncated_after_header)
{
	size_t n;

	for (n = sizeof(struct vanity_image_hdr); n < len; n += 7)
		cr_assert_eq(vanity_image_check(img, n, NULL), -EINVAL,
			     "%zu bytes", n);
	cr_assert_eq(vanity_image_check(img, len - 1, NULL), -EINVAL);
}

Test(image, longer_buffer_than_total_size)
{
	uint8_t *big = calloc(1, len + 8);

	memcpy(big, img, len);
	cr_assert_eq(vanity_image_check(big, len + 8, NULL), -EINVAL);
	free(big);
}

Test(image, over_the_size_limit)
{
	uint8_t *big = calloc(1, VANITY_IMAGE_MAX_SIZE + 8);

	memcpy(big, img, len);
	cr_assert_eq(vanity_image_check(big, VANITY_IMAGE_MAX_SIZE + 1, NULL),
		     -E2BIG);
	hdr_of(big)->total_size = VANITY_IMAGE_MAX_SIZE + 8;
	expect_at(big, VANITY_IMAGE_MAX_SIZE + 8, -E2BIG);
	free(big);
}

/* ---------------------------------------------- magic, version, CRC */

Test(image, wrong_magic)
{
	H->magic = 0x594e4157;
	expect_msg(-EINVAL, "bad magic");
}

Test(image, byte_swapped_magic)
{
	H->magic = __builtin_bswap32(VANITY_IMAGE_MAGIC);
	expect(-EINVAL);
}

Test(image, wrong_version)
{
	H->version = VANITY_IMAGE_VERSION + 1;
	expect_msg(-EPROTONOSUPPORT, "version 3 unsupported (want 1 or 2)");
	H->version = 0;
	expect(-EPROTONOSUPPORT);
}

Test(image, crc_mismatch_in_body)
{
	S(1)->name[0] ^= 1;
	cr_assert_eq(vanity_image_check(img, len, NULL), -EBADMSG);
}

Test(image, crc_mismatch_in_crc_field)
{
	H->crc32c ^= 0x80000000U;
	cr_assert_eq(vanity_image_check(img, len, NULL), -EBADMSG);
}

Test(image, crc_mismatch_in_last_byte)
{
	img[len - 1] ^= 0xff;
	cr_assert_eq(vanity_image_check(img, len, NULL), -EBADMSG);
}

Test(image, crc_covers_the_header)
{
	H->resv[11] = 1;	/* would be EINVAL, but only once the CRC matches */
	cr_assert_eq(vanity_image_check(img, len, NULL), -EBADMSG);
}

/* -------------------------------------------------------- header sizes */

Test(image, total_size_mismatch)
{
	H->total_size = (uint32_t)len + 8;
	expect_msg(-EINVAL, "total_size");
	H->total_size = (uint32_t)len - 8;
	expect(-EINVAL);
}

Test(image, hdr_size_too_small)
{
	H->hdr_size = sizeof(struct vanity_image_hdr) - 8;
	expect_msg(-EINVAL, "header size");
}

Test(image, hdr_size_misaligned)
{
	H->hdr_size = sizeof(struct vanity_image_hdr) + 4;
	expect(-EINVAL);
}

Test(image, hdr_size_too_large)
{
	H->hdr_size = 1032;
	expect(-EINVAL);
}

Test(image, hdr_size_past_the_end)
{
	uint8_t *big;
	size_t n;

	/* A legal 1024-byte header in an image too short to hold it. */
	big = relayout(img, 128, 200, 64, &n);
	hdr_of(big)->hdr_size = 1024;
	cr_assert_lt(n, 1024);
	expect_at(big, n, -EINVAL);
	free(big);
}

Test(image, larger_header_with_zero_tail_is_accepted)
{
	uint8_t *big;
	size_t n;

	big = relayout(img, 256, 200, 64, &n);
	expect_at(big, n, 0);
	free(big);
}

Test(image, larger_header_with_nonzero_tail_is_refused)
{
	uint8_t *big;
	size_t n;

	big = relayout(img, 256, 200, 64, &n);
	big[255] = 1;
	expect_at(big, n, -EINVAL);
	free(big);
}

/* ------------------------------------------------- reserved in header */

Test(image, header_resv1)
{
	H->resv1[0] = 1;
	expect_msg(-EINVAL, "reserved header");
}

Test(image, header_resv0)
{
	H->resv0 = 1;
	expect(-EINVAL);
}

Test(image, header_resv_each_word)
{
	unsigned int i;

	for (i = 0; i < 12; i++) {
		H->resv[i] = 0x100;
		expect(-EINVAL);
		H->resv[i] = 0;
		expect(0);
	}
}

/* ------------------------------------------------------ system name */

Test(image, system_name_empty)
{
	memset(H->name, 0, sizeof(H->name));
	expect_msg(-EINVAL, "bad system name");
}

Test(image, system_name_uppercase)
{
	H->name[0] = 'S';
	expect(-EINVAL);
}

Test(image, system_name_without_nul)
{
	memset(H->name, 'a', sizeof(H->name));
	expect(-EINVAL);
}

Test(image, system_name_longest)
{
	memset(H->name, 'a', sizeof(H->name) - 1);
	expect(0);
}

Test(image, system_name_garbage_after_nul)
{
	H->name[5] = 'x';
	expect(-EINVAL);
}

/* ---------------------------------------------------- counts and sizes */

Test(image, no_shards)
{
	H->shard_count = 0;
	SS->count = 0;
	expect_msg(-EINVAL, "no shards");
}

Test(image, too_many_shards)
{
	SS->count = VANITY_MAX_SHARDS + 1;
	expect(-E2BIG);
	SS->count = 0xffffffffU;
	expect(-E2BIG);
}

Test(image, too_many_channels)
{
	SC->count = VANITY_MAX_CHANNELS + 1;
	expect(-E2BIG);
	SC->count = 0xffffffffU;
	expect(-E2BIG);
}

Test(image, header_counts_disagree_with_the_sections)
{
	H->shard_count = 1;
	expect_msg(-EINVAL, "header counts 1 shards and 2 channels, sections hold 2 and 2");
	H->shard_count = 2;
	H->channel_count = 3;
	expect_msg(-EINVAL, "header counts");
}

Test(image, shard_count_past_the_end)
{
	H->shard_count = VANITY_MAX_SHARDS;
	SS->count = VANITY_MAX_SHARDS;
	expect_msg(-EINVAL, "section 0 (type 1) at 200 runs past the image");
}

Test(image, channel_count_past_the_end)
{
	H->channel_count = VANITY_MAX_CHANNELS;
	SC->count = VANITY_MAX_CHANNELS;
	expect_msg(-EINVAL, "section 1 (type 2)");
}

Test(image, largest_counts_times_largest_entries)
{
	/* 64 * 1024 and 256 * 1024 bytes: far past any image, no overflow. */
	H->shard_count = VANITY_MAX_SHARDS;
	SS->count = VANITY_MAX_SHARDS;
	SS->entry_size = 1024;
	expect(-EINVAL);
	H->shard_count = 2;
	SS->count = 2;
	SS->entry_size = 200;
	H->channel_count = VANITY_MAX_CHANNELS;
	SC->count = VANITY_MAX_CHANNELS;
	SC->entry_size = 1024;
	expect(-EINVAL);
}

Test(image, shard_entry_size_too_small)
{
	SS->entry_size = 192;
	expect_msg(-EINVAL, "shard entry size");
}

Test(image, shard_entry_size_misaligned)
{
	SS->entry_size = 204;
	expect(-EINVAL);
}

Test(image, shard_entry_size_too_large)
{
	SS->entry_size = 1032;
	expect(-EINVAL);
	SS->entry_size = 0xfff8;
	expect(-EINVAL);
}

Test(image, channel_entry_size_too_small)
{
	SC->entry_size = 56;
	expect_msg(-EINVAL, "channel entry size");
}

Test(image, channel_entry_size_misaligned)
{
	SC->entry_size = 68;
	expect(-EINVAL);
}

Test(image, channel_entry_size_too_large)
{
	SC->entry_size = 1032;
	expect(-EINVAL);
}

Test(image, larger_entries_with_zero_tail_are_accepted)
{
	uint8_t *big;
	size_t n;

	big = relayout(img, 128, 1024, 1024, &n);
	expect_at(big, n, 0);
	cr_assert_str_eq(vanity_image_shard(big, 1)->name, "b");
	cr_assert_str_eq(vanity_image_channel(big, 1)->name, "ba");
	cr_assert_eq(vanity_image_find_channel(big, "ba"), 1);
	free(big);
}

Test(image, larger_shard_entry_with_nonzero_tail_is_refused)
{
	struct vanity_diag d;
	uint8_t *big;
	size_t n;

	big = relayout(img, 128, 208, 64, &n);
	expect_at(big, n, 0);
	((uint8_t *)shard_of(big, 1))[207] = 1;
	d = expect_at(big, n, -EINVAL);
	cr_assert_eq(d.shard, 1);
	cr_assert(strstr(d.msg, "reserved"), "%s", d.msg);
	free(big);
}

Test(image, larger_channel_entry_with_nonzero_tail_is_refused)
{
	struct vanity_diag d;
	uint8_t *big;
	size_t n;

	big = relayout(img, 128, 200, 72, &n);
	expect_at(big, n, 0);
	((uint8_t *)chan_of(big, 0))[64] = 1;
	d = expect_at(big, n, -EINVAL);
	cr_assert_eq(d.channel, 0);
	free(big);
}

Test(image, strtab_too_large)
{
	ST->count = VANITY_STRTAB_MAX + 8;
	expect(-E2BIG);
	ST->count = 0xfffffff8U;
	expect(-E2BIG);
}

Test(image, strtab_size_past_the_end)
{
	ST->count += 8;
	expect_msg(-EINVAL, "section 2 (type 3) at 728 runs past the image");
}

/* ------------------------------------------------------------ offsets */

Test(image, shard_offset_past_the_end)
{
	SS->offset = H->total_size;
	expect(-EINVAL);
	SS->offset = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, channel_offset_past_the_end)
{
	SC->offset = H->total_size + 8;
	expect(-EINVAL);
	SC->offset = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, strtab_offset_past_the_end)
{
	ST->offset = H->total_size;
	expect(-EINVAL);
	/* off + size would wrap a 32-bit sum */
	ST->offset = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, section_inside_the_header)
{
	SS->offset = 120;
	expect(-EINVAL);
	SS->offset = 0;
	expect(-EINVAL);
}

Test(image, misaligned_shard_table)
{
	SS->offset += 4;
	expect(-EINVAL);
}

Test(image, misaligned_channel_table)
{
	SC->offset += 4;
	expect(-EINVAL);
}

Test(image, misaligned_strtab)
{
	ST->offset += 1;
	ST->count -= 8;
	expect(-EINVAL);
}

Test(image, shard_and_channel_tables_overlap)
{
	SC->offset = SS->offset + 200;
	expect_msg(-EINVAL, "overlap");
}

Test(image, channel_table_and_strtab_overlap)
{
	ST->offset = SC->offset;
	expect_msg(-EINVAL, "overlap");
}

Test(image, shard_table_and_strtab_overlap)
{
	ST->offset = SS->offset + 8;
	expect_msg(-EINVAL, "overlap");
}

Test(image, same_offset_for_two_tables)
{
	SC->offset = SS->offset;
	expect_msg(-EINVAL, "overlap");
}

Test(image, empty_channel_table_may_sit_anywhere_in_range)
{
	H->channel_count = 0;
	SC->count = 0;
	SC->offset = SS->offset;
	expect(0);
	SC->offset = H->total_size;
	expect(0);
}

Test(image, empty_strtab_without_programs)
{
	S(0)->program = 0;
	ST->count = 0;
	ST->offset = H->total_size;
	expect(0);
}

/* ------------------------------------------------------------ strings */

Test(image, strtab_not_starting_with_nul)
{
	img[ST->offset] = 'x';
	expect_msg(-EINVAL, "NUL-delimited");
}

Test(image, strtab_not_ending_with_nul)
{
	img[ST->offset + ST->count - 1] = 'x';
	expect_msg(-EINVAL, "NUL-delimited");
}

Test(image, program_offset_outside_strtab)
{
	struct vanity_diag d;

	S(0)->program = ST->count;
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 0);
	cr_assert(strstr(d.msg, "outside"), "%s", d.msg);
	S(0)->program = 0xffffffffU;
	expect(-EINVAL);
}

Test(image, program_offset_with_empty_strtab)
{
	ST->count = 0;
	ST->offset = H->total_size;
	expect(-EINVAL);
}

Test(image, program_offset_in_mid_string)
{
	S(0)->program = 2;	/* "/a" of "./a" */
	expect_msg(-EINVAL, "not a string start");
}

Test(image, program_offset_at_a_nul)
{
	S(0)->program = 4;	/* the NUL after "./a" */
	expect_msg(-EINVAL, "not a string start");
}

Test(image, program_offset_in_padding)
{
	S(0)->program = 6;
	expect(-EINVAL);
}

Test(image, longest_program_is_accepted_one_more_is_not)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 1 };
	char prog[VANITY_PROGRAM_MAX + 1];
	struct vanity_imgw *w = malloc(sizeof(*w));
	struct vanity_diag d;
	void *out;
	size_t n;

	memset(prog, 'p', sizeof(prog));
	prog[VANITY_PROGRAM_MAX - 1] = '\0';
	vanity_imgw_init(w, "s");
	vanity_imgw_shard(w, "x", 0, cpus, 0, prog);
	cr_assert_eq(vanity_imgw_finish(w, &out, &n), 0);
	cr_assert_eq(vanity_image_check(out, n, &d), 0, "%s", d.msg);
	free(out);

	prog[VANITY_PROGRAM_MAX - 1] = 'p';
	prog[VANITY_PROGRAM_MAX] = '\0';
	vanity_imgw_init(w, "s");
	vanity_imgw_shard(w, "x", 0, cpus, 0, prog);
	cr_assert_eq(vanity_imgw_finish(w, &out, &n), 0);
	cr_assert_eq(vanity_image_check(out, n, &d), -E2BIG);
	cr_assert(strstr(d.msg, "program too long"), "%s", d.msg);
	free(out);
	free(w);
}

/* ------------------------------------------------------------- shards */

Test(image, shard_name_empty)
{
	struct vanity_diag d;

	memset(S(1)->name, 0, VANITY_NAME_MAX);
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 1);
	cr_assert(strstr(d.msg, "bad name"), "%s", d.msg);
}

Test(image, shard_name_bad_character)
{
	S(1)->name[0] = '.';
	expect(-EINVAL);
	S(1)->name[0] = 'B';
	expect(-EINVAL);
	S(1)->name[0] = ' ';
	expect(-EINVAL);
}

Test(image, shard_name_without_nul)
{
	memset(S(1)->name, 'b', VANITY_NAME_MAX);
	expect(-EINVAL);
}

Test(image, shard_name_garbage_after_nul)
{
	S(1)->name[VANITY_NAME_MAX - 1] = 'z';
	expect(-EINVAL);
}

Test(image, duplicate_shard_names)
{
	struct vanity_diag d;

	S(1)->name[0] = 'a';
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 1);
	cr_assert(strstr(d.msg, "duplicate"), "%s", d.msg);
}

Test(image, shard_flags)
{
	S(0)->flags = VANITY_SHARD_F_RESTART;
	expect(0);
	S(0)->flags = VANITY_SHARD_F_SYSTEM_OWNER;
	expect(0);
	S(0)->flags = VANITY_SHARD_F_RESTART | VANITY_SHARD_F_SYSTEM_OWNER;
	expect(0);
	S(0)->flags = 1U << 2;
	expect_msg(-EINVAL, "reserved");
	S(0)->flags = VANITY_SHARD_F_SYSTEM_OWNER | 1U << 31;
	expect_msg(-EINVAL, "reserved");
}

/* The flag's uid is 0, so a reader that treats it as root is right. */
Test(image, system_owner_flag_with_a_uid_is_refused)
{
	struct vanity_diag d;

	S(1)->flags = VANITY_SHARD_F_SYSTEM_OWNER;	/* "b" has uid 1000 */
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 1);
	cr_assert_str_eq(d.msg, "shard 'b': uid 1000 with the system-owner flag (want 0)");
	S(1)->uid = 1;
	expect_msg(-EINVAL, "uid 1 with the system-owner flag");
	S(1)->uid = 0;
	expect(0);
}

Test(image, shard_resv_each_word)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		S(1)->resv[i] = 1U << 31;
		expect(-EINVAL);
		S(1)->resv[i] = 0;
		expect(0);
	}
}

Test(image, shard_without_cpus)
{
	memset(S(0)->cpus, 0, sizeof(S(0)->cpus));
	expect_msg(-EINVAL, "no cpus");
}

Test(image, shard_with_only_the_last_cpu)
{
	memset(S(0)->cpus, 0, sizeof(S(0)->cpus));
	S(0)->cpus[VANITY_CPU_WORDS - 1] = 1ULL << 63;
	expect(0);
}

Test(image, invalid_uid)
{
	S(1)->uid = 0xffffffffU;
	expect_msg(-EINVAL, "invalid uid");
	S(1)->uid = 0xfffffffeU;
	expect(0);
}

Test(image, memory_not_a_page_multiple)
{
	S(0)->memory_size = 4097;
	expect_msg(-EINVAL, "not a multiple");
}

Test(image, memory_over_the_shard_limit)
{
	S(0)->memory_size = VANITY_MEMORY_MAX + VANITY_PAGE_SIZE;
	expect(-E2BIG);
	S(0)->memory_size = VANITY_MEMORY_MAX;
	expect(0);
}

Test(image, memory_near_2_64)
{
	S(0)->memory_size = 0ULL - VANITY_PAGE_SIZE;
	expect(-E2BIG);
	S(0)->memory_size = ~0ULL;
	expect(-EINVAL);
	S(0)->memory_size = 1ULL << 63;
	expect(-E2BIG);
}

/* ----------------------------------------------------------- channels */

Test(image, channel_name_bad)
{
	struct vanity_diag d;

	C(1)->name[1] = '/';
	d = expect(-EINVAL);
	cr_assert_eq(d.channel, 1);
	cr_assert(strstr(d.msg, "bad name"), "%s", d.msg);
}

Test(image, channel_name_empty)
{
	memset(C(0)->name, 0, VANITY_NAME_MAX);
	expect(-EINVAL);
}

Test(image, duplicate_channel_names)
{
	C(1)->name[0] = 'a';
	C(1)->name[1] = 'b';
	expect_msg(-EINVAL, "duplicate");
}

Test(image, channel_and_shard_may_share_a_name)
{
	C(0)->name[1] = '\0';	/* "a", as shard 0 */
	expect(0);
}

Test(image, channel_flags)
{
	C(0)->flags = 2;
	expect_msg(-EINVAL, "reserved");
}

Test(image, channel_resv_each_word)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		C(1)->resv[i] = 1;
		expect(-EINVAL);
		C(1)->resv[i] = 0;
		expect(0);
	}
}

Test(image, endpoint_from_out_of_range)
{
	C(0)->from = 2;
	expect_msg(-EINVAL, "out of range");
	C(0)->from = 0xffff;
	expect(-EINVAL);
}

Test(image, endpoint_to_out_of_range)
{
	C(1)->to = 2;
	expect_msg(-EINVAL, "out of range");
}

Test(image, endpoints_equal)
{
	C(0)->to = 0;
	expect_msg(-EINVAL, "both ends");
}

Test(image, slot_size_not_power_of_two)
{
	C(0)->slot_size = 100;
	expect_msg(-EINVAL, "slot_size");
	C(0)->slot_size = 0;
	expect(-EINVAL);
}

Test(image, slot_size_out_of_bounds)
{
	C(0)->slot_size = 4;
	expect(-EINVAL);
	C(0)->slot_size = 131072;
	expect(-EINVAL);
	C(0)->slot_size = 1U << 31;
	expect(-EINVAL);
	C(0)->slot_size = 8;
	expect(0);
	C(0)->slot_size = 65536;
	expect(0);
}

Test(image, slots_not_power_of_two)
{
	C(0)->slots = 1000;
	expect_msg(-EINVAL, "slots");
	C(0)->slots = 0;
	expect(-EINVAL);
}

Test(image, slots_out_of_bounds)
{
	C(0)->slots = 1;
	expect(-EINVAL);
	C(0)->slots = 1U << 21;
	expect(-EINVAL);
	C(0)->slots = 2;
	expect(0);
}

Test(image, channel_data_over_the_limit)
{
	C(0)->slot_size = 65536;
	C(0)->slots = 1U << 20;		/* 64 GiB in a 32-bit product */
	expect_msg(-E2BIG, "exceed");
	C(0)->slots = 8192;
	expect(-E2BIG);
	C(0)->slots = 4096;		/* exactly 256 MiB */
	expect(0);
}

/* ------------------------------------------------------------- totals */

static uint8_t *totals_image(unsigned int shards, uint64_t memory,
			     unsigned int channels, size_t *n)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 1 };
	struct vanity_imgw *w = malloc(sizeof(*w));
	char name[8];
	unsigned int i;
	void *out;

	vanity_imgw_init(w, "t");
	for (i = 0; i < shards; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(w, name, memory, cpus, 0, NULL);
	}
	for (i = 0; i < channels; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		vanity_imgw_channel(w, name, 0, 1, 65536, 4096);
	}
	cr_assert_eq(vanity_imgw_finish(w, &out, n), 0);
	free(w);
	return out;
}

Test(image, totals_at_the_limit)
{
	uint8_t *t;
	size_t n;

	t = totals_image(4, VANITY_MEMORY_MAX, 0, &n);
	expect_at(t, n, 0);
	free(t);
}

Test(image, totals_over_the_limit_by_memory)
{
	uint8_t *t;
	size_t n;

	t = totals_image(5, VANITY_MEMORY_MAX, 0, &n);
	expect_at(t, n, -EOVERFLOW);
	free(t);
}

Test(image, totals_over_the_limit_by_a_channel)
{
	uint8_t *t;
	size_t n;

	t = totals_image(4, VANITY_MEMORY_MAX, 1, &n);
	expect_at(t, n, -EOVERFLOW);
	free(t);
}

Test(image, largest_possible_totals_do_not_wrap)
{
	struct vanity_diag d;
	uint8_t *t;
	size_t n;

	/*
	 * 64 GiB of memory, 256 channels of 256 MiB of payload plus 4 KiB of
	 * header and the slots' sequence words: no u64 wrap.
	 */
	t = totals_image(VANITY_MAX_SHARDS, VANITY_MEMORY_MAX,
			 VANITY_MAX_CHANNELS, &n);
	d = expect_at(t, n, -EOVERFLOW);
	cr_assert(strstr(d.msg, "137448390656"), "%s", d.msg);
	free(t);
}

Test(image, shard_ring_entries_zero_or_bounded_power_of_two)
{
	S(0)->ring_entries = 256;
	expect(0);
	S(0)->ring_entries = 4096;
	expect(0);
	S(0)->ring_entries = 100;
	expect_msg(-EINVAL, "ring_entries 100");
	S(0)->ring_entries = 1;
	expect_msg(-EINVAL, "ring_entries 1");
	S(0)->ring_entries = 8192;
	expect_msg(-EINVAL, "ring_entries 8192");
	S(0)->ring_entries = 0;
	expect(0);
}

/* ------------------------------------- versions, features, directory */

/*
 * @img with a fourth directory entry: @type, @count entries of @esize
 * bytes (zero) appended at the end. The 24 bytes of the new entry shift
 * every section, which stays 8-byte aligned.
 */
static uint8_t *with_section(uint16_t type, uint32_t count, uint32_t esize,
			     size_t *n)
{
	const size_t ent = sizeof(struct vanity_image_section);
	size_t dir_end = H->section_off + 3 * ent;
	size_t data = ((size_t)count * esize + 7) & ~(size_t)7;
	uint8_t *out;
	unsigned int k;

	*n = len + ent + data;
	out = calloc(1, *n);
	cr_assert_not_null(out);
	memcpy(out, img, dir_end);
	memcpy(out + dir_end + ent, img + dir_end, len - dir_end);
	hdr_of(out)->section_count = 4;
	hdr_of(out)->total_size = (uint32_t)*n;
	for (k = 0; k < 3; k++)
		sec_of(out, k)->offset += ent;
	sec_of(out, 3)->type = type;
	sec_of(out, 3)->offset = (uint32_t)(len + ent);
	sec_of(out, 3)->count = count;
	sec_of(out, 3)->entry_size = esize;
	vanity_imgw_seal(out, *n);
	return out;
}

Test(image, version_1_twin_reads_the_same_entries)
{
	const struct vanity_image_hdr *h1;
	uint8_t *v1;
	size_t n;
	unsigned int i;

	v1 = to_v1(img, &n);
	cr_assert_eq(n, len - 3 * sizeof(struct vanity_image_section));
	expect_at(v1, n, 0);
	h1 = vanity_image_hdr(v1);
	cr_assert_eq(h1->version, 1);
	cr_assert_str_eq(h1->name, "sys");
	cr_assert_eq(h1->shard_count, 2);
	cr_assert_eq(h1->channel_count, 2);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(memcmp(vanity_image_shard(v1, i),
				    vanity_image_shard(img, i),
				    sizeof(struct vanity_image_shard)), 0, "shard %u", i);
		cr_assert_eq(memcmp(vanity_image_channel(v1, i),
				    vanity_image_channel(img, i),
				    sizeof(struct vanity_image_channel)), 0,
			     "channel %u", i);
	}
	cr_assert_str_eq(vanity_image_str(v1, vanity_image_shard(v1, 0)->program),
			 "./a");
	cr_assert_eq(vanity_image_find_channel(v1, "ba"), 1);
	free(v1);
}

Test(image, version_1_keeps_its_own_rules)
{
	struct vanity_image_hdr_v1 *h1;
	struct vanity_diag d;
	uint8_t *v1;
	size_t n;

	v1 = to_v1(img, &n);
	h1 = (struct vanity_image_hdr_v1 *)v1;
	h1->flags = 1;
	d = expect_at(v1, n, -EINVAL);
	cr_assert(strstr(d.msg, "reserved header"), "%s", d.msg);
	h1->flags = 0;
	h1->shard_off += 4;
	d = expect_at(v1, n, -EINVAL);
	cr_assert(strstr(d.msg, "shard table"), "%s", d.msg);
	h1->shard_off -= 4;
	h1->channel_off = h1->shard_off + 200;
	d = expect_at(v1, n, -EINVAL);
	cr_assert(strstr(d.msg, "image sections overlap"), "%s", d.msg);
	h1->channel_off = h1->shard_off + 400;
	h1->shard_count = 65;
	d = expect_at(v1, n, -E2BIG);
	cr_assert(strstr(d.msg, "65 shards exceed 64"), "%s", d.msg);
	h1->shard_count = 2;
	expect_at(v1, n, 0);
	free(v1);
}

Test(image, unknown_incompatible_feature_bit_is_refused)
{
	static const unsigned int bits[] = { 1, 3, 31 };
	char want[64];
	unsigned int i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		H->features_incompat = 1U << bits[i];
		snprintf(want, sizeof(want), "unknown incompatible feature bit %u",
			 bits[i]);
		expect_msg(-EOPNOTSUPP, want);
	}
	/* Named lowest first, a known bit beside them or not. */
	H->features_incompat = (1U << 9) | (1U << 4) |
			       VANITY_IMAGE_INCOMPAT_DEVICES;
	expect_msg(-EOPNOTSUPP, "feature bit 4");
}

Test(image, unknown_compatible_feature_bits_are_ignored)
{
	H->features_compat = 1U << 5;
	expect(0);
	H->features_compat = 0xffffffffU;
	expect(0);
}

Test(image, unknown_section_announced_compatible_loads)
{
	uint8_t *x;
	size_t n;

	x = with_section(7, 3, 16, &n);
	hdr_of(x)->features_compat = 1U << 2;
	expect_at(x, n, 0);
	cr_assert_str_eq(vanity_image_shard(x, 1)->name, "b");
	cr_assert_str_eq(vanity_image_channel(x, 1)->name, "ba");
	cr_assert_str_eq(vanity_image_str(x, vanity_image_shard(x, 0)->program),
			 "./a");
	free(x);
}

Test(image, unknown_section_nothing_announces_is_refused)
{
	struct vanity_diag d;
	uint8_t *x;
	size_t n;

	x = with_section(7, 3, 16, &n);
	d = expect_at(x, n, -EINVAL);
	cr_assert_str_eq(d.msg, "section 3 (type 7) is unknown and no feature announces it");
	free(x);
}

Test(image, devices_bit_without_a_devices_section_is_refused)
{
	struct vanity_diag d;

	H->features_incompat = VANITY_IMAGE_INCOMPAT_DEVICES;
	d = expect(-EINVAL);
	cr_assert_str_eq(d.msg, "the devices feature (incompatible bit 0) is set but no section holds devices");
}

Test(image, devices_section_without_its_bit_is_refused)
{
	struct vanity_diag d;
	uint8_t *x;
	size_t n;

	/* What an older writer that broke the rule, or corruption, leaves. */
	x = with_section(VANITY_IMAGE_SEC_DEVICES, 0, 88, &n);
	d = expect_at(x, n, -EINVAL);
	cr_assert_str_eq(d.msg, "section 3 holds devices but the devices feature (incompatible bit 0) is not set");
	free(x);
}

Test(image, empty_devices_section_with_its_bit_is_no_devices)
{
	uint8_t *x;
	size_t n;

	/* As an empty channel table, its entry size is never read. */
	x = with_section(VANITY_IMAGE_SEC_DEVICES, 0, 8, &n);
	hdr_of(x)->features_incompat = VANITY_IMAGE_INCOMPAT_DEVICES;
	expect_at(x, n, 0);
	cr_assert_eq(vanity_image_device_count(x), 0);
	cr_assert_eq(vanity_image_find_device(x, "edu"), -ENOENT);
	free(x);
}

Test(image, unknown_section_still_needs_a_place_of_its_own)
{
	uint8_t *x;
	size_t n;

	x = with_section(9, 1, 8, &n);
	hdr_of(x)->features_compat = 1U << 30;
	sec_of(x, 3)->offset = sec_of(x, 0)->offset;
	cr_assert(strstr(expect_at(x, n, -EINVAL).msg, "sections 0 and 3 overlap"));
	sec_of(x, 3)->offset = (uint32_t)n;
	sec_of(x, 3)->count = 2;
	cr_assert(strstr(expect_at(x, n, -EINVAL).msg, "section 3 (type 9)"));
	free(x);
}

Test(image, absent_channel_and_string_sections_are_empty)
{
	S(0)->program = 0;
	H->channel_count = 0;
	H->section_count = 1;
	/* Sections 1 and 2 are now bytes nothing points at: zero them. */
	memset(img + H->section_off + sizeof(struct vanity_image_section), 0,
	       2 * sizeof(struct vanity_image_section));
	expect(0);
	cr_assert_null(vanity_image_str(img, 1));
	cr_assert_eq(vanity_image_find_channel(img, "ab"), -ENOENT);
}

/* One directory malformation per row: where to poke, what, and the refusal. */
struct dir_case {
	const char *what;
	int k;			/* directory entry, or -1: the header */
	size_t off, size;	/* of the field poked */
	uint32_t val;
	int err;
	const char *msg;
};

#define HDR(f)	-1, offsetof(struct vanity_image_hdr, f), \
		sizeof(((struct vanity_image_hdr *)0)->f)
#define SEC(k, f) k, offsetof(struct vanity_image_section, f), \
		sizeof(((struct vanity_image_section *)0)->f)

static const struct dir_case dir_cases[] = {
	{ "no sections", HDR(section_count), 0, -EINVAL, "0 sections, want 1 to 16" },
	{ "too many sections", HDR(section_count), 17, -EINVAL, "17 sections" },
	{ "directory misaligned", HDR(section_off), 132, -EINVAL,
	  "section directory at 132" },
	{ "directory in the header", HDR(section_off), 120, -EINVAL,
	  "section directory at 120" },
	{ "directory past the end", HDR(section_off), 0xfffffff8U, -EINVAL,
	  "section directory" },
	{ "header resv0", HDR(resv0), 1, -EINVAL, "reserved header fields" },
	{ "type 0", SEC(1, type), 0, -EINVAL, "section 1 has type 0" },
	{ "section flags", SEC(0, flags), 1, -EINVAL,
	  "section 0 (type 1): reserved fields are not zero" },
	{ "section resv", SEC(2, resv), 1, -EINVAL,
	  "section 2 (type 3): reserved fields are not zero" },
	{ "two shard sections", SEC(1, type), VANITY_IMAGE_SEC_SHARDS, -EINVAL,
	  "sections 0 and 1 are both the shards" },
	{ "two string tables", SEC(0, type), VANITY_IMAGE_SEC_STRTAB, -EINVAL,
	  "sections 0 and 2 are both the string table" },
	{ "unknown type for the shards", SEC(0, type), 5, -EINVAL,
	  "section 0 (type 5) is unknown and no feature announces it" },
	{ "string entry size", SEC(2, entry_size), 2, -EINVAL,
	  "string table entry size 2 (want 1)" },
	{ "section misaligned", SEC(1, offset), 604, -EINVAL,
	  "section 1 (type 2) at 604 runs past the image or is misaligned" },
	{ "section in the header", SEC(0, offset), 64, -EINVAL,
	  "section 0 (type 1) at 64" },
	{ "section on the directory", SEC(2, offset), 128, -EINVAL,
	  "section 2 overlaps the section directory" },
	{ "sections overlap", SEC(1, offset), 400, -EINVAL,
	  "sections 0 and 1 overlap" },
	{ "section count wraps", SEC(0, count), 0x80000001U, -E2BIG,
	  "2147483649 shards exceed 64" },
};

Test(image, directory_malformations_are_refused)
{
	const struct dir_case *c;
	uint8_t *p, save[4];
	struct vanity_diag d;
	unsigned int i;

	for (i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
		c = &dir_cases[i];
		p = (c->k < 0 ? img : (uint8_t *)sec_of(img, c->k)) + c->off;
		memcpy(save, p, c->size);
		memcpy(p, &c->val, c->size);	/* little-endian: the low bytes */
		vanity_imgw_seal(img, len);
		cr_assert_eq(vanity_image_check(img, len, &d), c->err,
			     "%s: got '%s'", c->what, d.msg);
		cr_assert(strstr(d.msg, c->msg), "%s: '%s' lacks '%s'", c->what,
			  d.msg, c->msg);
		memcpy(p, save, c->size);
	}
	expect(0);
}

/* ------------------------------------------------------------- devices */

static void setup_devices(void)
{
	good_image_devices(&img, &len);
}

TestSuite(image_device, .init = setup_devices, .fini = teardown);

#define D(i)	dev_of(img, i)

/* expect(@err) with @needle in the message and device @dev the one named. */
static void expect_dev(int err, int dev, const char *needle)
{
	struct vanity_diag d = expect(err);

	cr_assert(strstr(d.msg, needle), "'%s' lacks '%s'", d.msg, needle);
	cr_assert_eq(d.device, dev, "%s: device %d, want %d", d.msg, d.device,
		     dev);
	cr_assert_eq(d.shard, -1);
	cr_assert_eq(d.channel, -1);
}

/* The image with device entries of @esize bytes (the extra bytes zero). */
static uint8_t *with_device_size(uint32_t esize, size_t *n)
{
	const struct vanity_image_section *sd = sec_of(img, 3);
	uint8_t *out;
	unsigned int i;

	*n = sd->offset + (size_t)sd->count * esize;
	out = calloc(1, *n);
	cr_assert_not_null(out);
	memcpy(out, img, sd->offset);
	hdr_of(out)->total_size = (uint32_t)*n;
	sec_of(out, 3)->entry_size = esize;
	for (i = 0; i < sd->count; i++)
		memcpy(out + sd->offset + (size_t)i * esize,
		       img + sd->offset + (size_t)i * sd->entry_size,
		       sizeof(struct vanity_image_device));
	vanity_imgw_seal(out, *n);
	return out;
}

Test(image_device, reference_devices_round_trip)
{
	const struct vanity_image_device *edu, *nic;
	struct vanity_diag d;

	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);
	cr_assert_eq(d.device, -1);
	cr_assert_eq(H->features_incompat, VANITY_IMAGE_INCOMPAT_DEVICES);
	cr_assert_eq(vanity_image_device_count(img), 2);
	edu = vanity_image_device(img, 0);
	nic = vanity_image_device(img, 1);
	cr_assert_str_eq(edu->name, "edu");
	cr_assert_eq(edu->pci_domain, 0);
	cr_assert_eq(edu->pci_bus, 0);
	cr_assert_eq(edu->pci_devfn, 3 << 3);
	cr_assert_eq(edu->shard, 0);
	cr_assert_eq(edu->flags, VANITY_DEVICE_F_DMA_PRIVATE);
	cr_assert_eq(edu->dma_channels[0], 3);
	cr_assert_str_eq(nic->name, "nic");
	cr_assert_eq(nic->pci_domain, 1);
	cr_assert_eq(nic->pci_bus, 2);
	cr_assert_eq(nic->pci_devfn, 0x1f << 3 | 7);
	cr_assert_eq(nic->shard, 1);
	cr_assert_eq(nic->flags, 0);
	cr_assert_eq(nic->dma_channels[0], 5);
}

Test(image_device, find_device_by_name)
{
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_assert_eq(vanity_image_find_device(img, "edu"), 0);
	cr_assert_eq(vanity_image_find_device(img, "nic"), 1);
	cr_assert_eq(vanity_image_find_device(img, "a"), -ENOENT,
		     "devices have a namespace of their own");
	cr_assert_eq(vanity_image_find_device(img, ""), -ENOENT);
}

Test(image_device, a_device_may_share_a_shard_or_channel_name)
{
	memset(D(0)->name, 0, VANITY_NAME_MAX);
	memset(D(1)->name, 0, VANITY_NAME_MAX);
	strcpy(D(0)->name, "ab");
	strcpy(D(1)->name, "a");
	expect(0);
}

Test(image_device, version_1_has_no_devices)
{
	uint8_t *v1;
	size_t n;

	/* The v1 twin keeps shards, channels and strings: all v1 can say. */
	v1 = to_v1(img, &n);
	expect_at(v1, n, 0);
	cr_assert_eq(vanity_image_device_count(v1), 0);
	cr_assert_eq(vanity_image_find_device(v1, "edu"), -ENOENT);
	free(v1);
}

Test(image_device, too_many_devices)
{
	/* Refused on the count, before where the entries would lie. */
	sec_of(img, 3)->count = VANITY_MAX_DEVICES + 1;
	expect_msg(-E2BIG, "33 devices exceed 32");
}

Test(image_device, entry_size_below_the_struct)
{
	sec_of(img, 3)->entry_size = 80;
	expect_msg(-EINVAL, "bad device entry size 80");
}

Test(image_device, entry_size_unaligned_or_huge)
{
	sec_of(img, 3)->entry_size = 92;
	expect_msg(-EINVAL, "bad device entry size 92");
	sec_of(img, 3)->entry_size = 1032;
	expect_msg(-EINVAL, "bad device entry size 1032");
}

Test(image_device, larger_entries_with_zero_tail_are_accepted)
{
	uint8_t *big;
	size_t n;

	big = with_device_size(96, &n);
	expect_at(big, n, 0);
	cr_assert_str_eq(vanity_image_device(big, 1)->name, "nic");
	cr_assert_eq(vanity_image_find_device(big, "nic"), 1);
	free(big);
}

Test(image_device, larger_entries_with_nonzero_tail_are_refused)
{
	struct vanity_diag d;
	uint8_t *big;
	size_t n;

	big = with_device_size(96, &n);
	big[sec_of(big, 3)->offset + 96 + 95] = 1;
	d = expect_at(big, n, -EINVAL);
	cr_assert_str_eq(d.msg, "device 'nic': reserved fields are not zero");
	cr_assert_eq(d.device, 1);
	free(big);
}

Test(image_device, name_empty)
{
	memset(D(1)->name, 0, VANITY_NAME_MAX);
	expect_dev(-EINVAL, 1, "device 1: bad name");
}

Test(image_device, name_unterminated)
{
	memset(D(1)->name, 'n', VANITY_NAME_MAX);
	expect_dev(-EINVAL, 1, "device 1: bad name");
}

Test(image_device, name_with_a_character_names_may_not_have)
{
	static const char *const bad[] = { "Nic", "n ic", "nic.0", "n/c" };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(D(0)->name, 0, VANITY_NAME_MAX);
		strcpy(D(0)->name, bad[i]);
		expect_dev(-EINVAL, 0, "device 0: bad name");
	}
}

Test(image_device, name_with_bytes_after_its_nul)
{
	D(0)->name[10] = 'x';
	expect_dev(-EINVAL, 0, "device 0: bad name");
}

Test(image_device, duplicate_name)
{
	strcpy(D(1)->name, "edu");
	expect_dev(-EINVAL, 1, "device 'edu': duplicate name");
}

Test(image_device, duplicate_address_names_both_devices)
{
	struct vanity_pci_addr a = { 1, 2, 0x1f << 3 | 7 };
	char want[VANITY_PCI_ADDR_LEN], msg[128];

	D(0)->pci_domain = 1;
	D(0)->pci_bus = 2;
	D(0)->pci_devfn = 0x1f << 3 | 7;
	/* The address as vanityctl devices and sysfs write it. */
	vanity_pci_addr_format(&a, want);
	cr_assert_str_eq(want, "0001:02:1f.7");
	snprintf(msg, sizeof(msg), "device 'nic': address %s is also device 'edu'",
		 want);
	expect_dev(-EINVAL, 1, msg);
}

Test(image_device, addresses_differing_only_in_domain_or_function_are_two)
{
	D(1)->pci_domain = 0;
	D(1)->pci_bus = 0;
	D(1)->pci_devfn = 3 << 3 | 1;
	expect(0);
	D(1)->pci_devfn = 3 << 3;
	D(1)->pci_domain = 0x10;
	expect(0);
}

Test(image_device, owner_out_of_range)
{
	D(1)->shard = 3;
	expect_dev(-EINVAL, 1, "device 'nic': owner shard 3 out of range");
	D(1)->shard = 0xffff;
	expect_dev(-EINVAL, 1, "device 'nic': owner shard 65535 out of range");
}

Test(image_device, unknown_flags)
{
	D(0)->flags |= 1U << 1;
	expect_dev(-EINVAL, 0, "device 'edu': unknown flags 0x2");
	D(0)->flags = 0x8000;
	expect_dev(-EINVAL, 0, "device 'edu': unknown flags 0x8000");
}

Test(image_device, resv_each_word)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		D(0)->resv[i] = 1U << 31;
		expect_dev(-EINVAL, 0, "device 'edu': reserved fields are not zero");
		D(0)->resv[i] = 0;
	}
	expect(0);
}

Test(image_device, dma_into_a_channel_past_the_last)
{
	D(0)->dma_channels[0] |= 1ULL << 3;
	expect_dev(-EINVAL, 0,
		   "device 'edu': DMA into channel 3, but there are 3 channels");
	D(0)->dma_channels[0] &= ~(1ULL << 3);
	D(0)->dma_channels[3] = 1ULL << 63;
	expect_dev(-EINVAL, 0,
		   "device 'edu': DMA into channel 255, but there are 3 channels");
}

Test(image_device, dma_into_a_channel_its_owner_is_not_an_end_of)
{
	struct vanity_diag d;

	/* "bc" is b's and c's; edu is a's. */
	D(0)->dma_channels[0] |= 1ULL << 2;
	d = expect(-EINVAL);
	cr_assert_str_eq(d.msg, "device 'edu' may not DMA into channel 'bc': shard 'a' is not an endpoint");
	cr_assert_eq(d.device, 0);
}

Test(image_device, dma_into_its_owners_channels_at_either_end)
{
	/* nic is b's: "ab" has b as consumer, "ba" and "bc" as producer. */
	D(1)->dma_channels[0] = 7;
	expect(0);
}

Test(image_device, dma_private_when_the_owner_has_no_memory)
{
	struct vanity_diag d;

	D(1)->flags = VANITY_DEVICE_F_DMA_PRIVATE;
	d = expect(-EINVAL);
	cr_assert_str_eq(d.msg, "device 'nic' may not DMA into the private region of shard 'b': it has no memory");
	cr_assert_eq(d.device, 1);
}

Test(image_device, no_dma_at_all_is_a_device_too)
{
	D(0)->flags = 0;
	D(0)->dma_channels[0] = 0;
	expect(0);
}

Test(image_device, a_refused_shard_is_named_before_any_device)
{
	struct vanity_diag d;

	S(2)->memory_size = 1;
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 2);
	cr_assert_eq(d.device, -1);
}
