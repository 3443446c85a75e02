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
	expect_msg(-EPROTONOSUPPORT, "version 2 unsupported");
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

Test(image, header_flags)
{
	H->flags = 1;
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
	expect_msg(-EINVAL, "no shards");
}

Test(image, too_many_shards)
{
	H->shard_count = VANITY_MAX_SHARDS + 1;
	expect(-E2BIG);
	H->shard_count = 0xffff;
	expect(-E2BIG);
}

Test(image, too_many_channels)
{
	H->channel_count = VANITY_MAX_CHANNELS + 1;
	expect(-E2BIG);
	H->channel_count = 0xffff;
	expect(-E2BIG);
}

Test(image, shard_count_past_the_end)
{
	H->shard_count = VANITY_MAX_SHARDS;
	expect_msg(-EINVAL, "shard table");
}

Test(image, channel_count_past_the_end)
{
	H->channel_count = VANITY_MAX_CHANNELS;
	expect_msg(-EINVAL, "channel table");
}

Test(image, largest_counts_times_largest_entries)
{
	/* 64 * 1024 and 256 * 1024 bytes: far past any image, no overflow. */
	H->shard_count = VANITY_MAX_SHARDS;
	H->shard_entry_size = 1024;
	expect(-EINVAL);
	H->shard_count = 2;
	H->shard_entry_size = 200;
	H->channel_count = VANITY_MAX_CHANNELS;
	H->channel_entry_size = 1024;
	expect(-EINVAL);
}

Test(image, shard_entry_size_too_small)
{
	H->shard_entry_size = 192;
	expect_msg(-EINVAL, "shard entry size");
}

Test(image, shard_entry_size_misaligned)
{
	H->shard_entry_size = 204;
	expect(-EINVAL);
}

Test(image, shard_entry_size_too_large)
{
	H->shard_entry_size = 1032;
	expect(-EINVAL);
	H->shard_entry_size = 0xfff8;
	expect(-EINVAL);
}

Test(image, channel_entry_size_too_small)
{
	H->channel_entry_size = 56;
	expect_msg(-EINVAL, "channel entry size");
}

Test(image, channel_entry_size_misaligned)
{
	H->channel_entry_size = 68;
	expect(-EINVAL);
}

Test(image, channel_entry_size_too_large)
{
	H->channel_entry_size = 1032;
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
	H->strtab_size = VANITY_STRTAB_MAX + 8;
	expect(-E2BIG);
	H->strtab_size = 0xfffffff8U;
	expect(-E2BIG);
}

Test(image, strtab_size_past_the_end)
{
	H->strtab_size += 8;
	expect_msg(-EINVAL, "string table");
}

/* ------------------------------------------------------------ offsets */

Test(image, shard_offset_past_the_end)
{
	H->shard_off = H->total_size;
	expect(-EINVAL);
	H->shard_off = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, channel_offset_past_the_end)
{
	H->channel_off = H->total_size + 8;
	expect(-EINVAL);
	H->channel_off = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, strtab_offset_past_the_end)
{
	H->strtab_off = H->total_size;
	expect(-EINVAL);
	/* off + size would wrap a 32-bit sum */
	H->strtab_off = 0xfffffff8U;
	expect(-EINVAL);
}

Test(image, section_inside_the_header)
{
	H->shard_off = 120;
	expect(-EINVAL);
	H->shard_off = 0;
	expect(-EINVAL);
}

Test(image, misaligned_shard_table)
{
	H->shard_off += 4;
	expect(-EINVAL);
}

Test(image, misaligned_channel_table)
{
	H->channel_off += 4;
	expect(-EINVAL);
}

Test(image, misaligned_strtab)
{
	H->strtab_off += 1;
	H->strtab_size -= 8;
	expect(-EINVAL);
}

Test(image, shard_and_channel_tables_overlap)
{
	H->channel_off = H->shard_off + 200;
	expect_msg(-EINVAL, "overlap");
}

Test(image, channel_table_and_strtab_overlap)
{
	H->strtab_off = H->channel_off;
	expect_msg(-EINVAL, "overlap");
}

Test(image, shard_table_and_strtab_overlap)
{
	H->strtab_off = H->shard_off + 8;
	expect_msg(-EINVAL, "overlap");
}

Test(image, same_offset_for_two_tables)
{
	H->channel_off = H->shard_off;
	expect_msg(-EINVAL, "overlap");
}

Test(image, empty_channel_table_may_sit_anywhere_in_range)
{
	H->channel_count = 0;
	H->channel_off = H->shard_off;
	expect(0);
	H->channel_off = H->total_size;
	expect(0);
}

Test(image, empty_strtab_without_programs)
{
	S(0)->program = 0;
	H->strtab_size = 0;
	H->strtab_off = H->total_size;
	expect(0);
}

/* ------------------------------------------------------------ strings */

Test(image, strtab_not_starting_with_nul)
{
	img[H->strtab_off] = 'x';
	expect_msg(-EINVAL, "NUL-delimited");
}

Test(image, strtab_not_ending_with_nul)
{
	img[H->strtab_off + H->strtab_size - 1] = 'x';
	expect_msg(-EINVAL, "NUL-delimited");
}

Test(image, program_offset_outside_strtab)
{
	struct vanity_diag d;

	S(0)->program = H->strtab_size;
	d = expect(-EINVAL);
	cr_assert_eq(d.shard, 0);
	cr_assert(strstr(d.msg, "outside"), "%s", d.msg);
	S(0)->program = 0xffffffffU;
	expect(-EINVAL);
}

Test(image, program_offset_with_empty_strtab)
{
	H->strtab_size = 0;
	H->strtab_off = H->total_size;
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
