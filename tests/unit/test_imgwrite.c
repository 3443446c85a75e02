// SPDX-License-Identifier: GPL-2.0
/*
 * The image writer: its limits, the layout it produces and that what it
 * writes is what the validator and accessors read back.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

static struct vanity_imgw *new_writer(const char *name)
{
	struct vanity_imgw *w = malloc(sizeof(*w));

	cr_assert_not_null(w);
	vanity_imgw_init(w, name);
	return w;
}

static const uint64_t cpu0[VANITY_CPU_WORDS] = { 1 };

Test(imgwrite, layout_is_header_directory_shards_channels_strings)
{
	struct vanity_image_section *s, *c, *t;
	struct vanity_image_hdr *h;
	uint8_t *img;
	size_t len;

	good_image(&img, &len);
	h = hdr_of(img);
	cr_assert_eq(h->magic, VANITY_IMAGE_MAGIC);
	cr_assert_eq(h->version, 2);
	cr_assert_eq(h->hdr_size, sizeof(struct vanity_image_hdr));
	cr_assert_eq(h->features_compat, 0);
	cr_assert_eq(h->features_incompat, 0);
	cr_assert_eq(h->section_count, 3);
	cr_assert_eq(h->section_off, 128);
	cr_assert_eq(h->shard_count, 2);
	cr_assert_eq(h->channel_count, 2);
	s = sec_of(img, 0);
	c = sec_of(img, 1);
	t = sec_of(img, 2);
	cr_assert_eq(s->type, VANITY_IMAGE_SEC_SHARDS);
	cr_assert_eq(c->type, VANITY_IMAGE_SEC_CHANNELS);
	cr_assert_eq(t->type, VANITY_IMAGE_SEC_STRTAB);
	cr_assert_eq(s->entry_size, sizeof(struct vanity_image_shard));
	cr_assert_eq(c->entry_size, sizeof(struct vanity_image_channel));
	cr_assert_eq(t->entry_size, 1);
	cr_assert_eq(s->count, 2);
	cr_assert_eq(c->count, 2);
	cr_assert_eq(s->offset, 128 + 72);
	cr_assert_eq(c->offset, 128 + 72 + 2 * 200);
	cr_assert_eq(t->offset, 128 + 72 + 2 * 200 + 2 * 64);
	/* "\0./a\0" padded to 8 */
	cr_assert_eq(t->count, 8);
	cr_assert_eq(h->total_size, len);
	cr_assert_eq(len, 128 + 72 + 400 + 128 + 8);
	cr_assert_eq(len % 8, 0);
	free(img);
}

Test(imgwrite, output_is_accepted_by_the_validator)
{
	struct vanity_diag d;
	uint8_t *img;
	size_t len;

	good_image(&img, &len);
	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);
	free(img);
}

Test(imgwrite, seal_makes_an_edited_image_checksum_again)
{
	uint8_t *img;
	size_t len;

	good_image(&img, &len);
	shard_of(img, 1)->uid = 7;
	cr_assert_eq(vanity_image_check(img, len, NULL), -EBADMSG);
	vanity_imgw_seal(img, len);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	free(img);
}

Test(imgwrite, seal_ignores_a_buffer_shorter_than_a_header)
{
	uint8_t buf[16];

	memset(buf, 0xa5, sizeof(buf));
	vanity_imgw_seal(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5);
}

Test(imgwrite, init_truncates_long_system_name)
{
	struct vanity_imgw *w = new_writer("abcdefghijklmnopqrstuvwxyz0123456789");

	cr_assert_eq(strlen(w->name), VANITY_NAME_MAX - 1);
	cr_assert_eq(strncmp(w->name, "abcdefghijklmnopqrstuvwxyz01234",
			     VANITY_NAME_MAX), 0);
	free(w);
}

Test(imgwrite, indices_are_returned_in_order)
{
	struct vanity_imgw *w = new_writer("s");

	cr_assert_eq(vanity_imgw_shard(w, "x", 0, cpu0, 0, NULL), 0);
	cr_assert_eq(vanity_imgw_shard(w, "y", 0, cpu0, 0, NULL), 1);
	cr_assert_eq(vanity_imgw_channel(w, "c", 0, 1, 8, 2), 0);
	cr_assert_eq(vanity_imgw_channel(w, "d", 1, 0, 8, 2), 1);
	cr_assert_eq(w->nshards, 2);
	cr_assert_eq(w->nchannels, 2);
	free(w);
}

Test(imgwrite, too_many_shards)
{
	struct vanity_imgw *w = new_writer("s");
	char name[8];
	int i;

	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		cr_assert_eq(vanity_imgw_shard(w, name, 0, cpu0, 0, NULL), i);
	}
	cr_assert_eq(vanity_imgw_shard(w, "more", 0, cpu0, 0, NULL), -E2BIG);
	cr_assert_eq(w->nshards, VANITY_MAX_SHARDS);
	free(w);
}

Test(imgwrite, too_many_channels)
{
	struct vanity_imgw *w = new_writer("s");
	char name[8];
	int i;

	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		cr_assert_eq(vanity_imgw_channel(w, name, 0, 1, 8, 2), i);
	}
	cr_assert_eq(vanity_imgw_channel(w, "more", 0, 1, 8, 2), -E2BIG);
	cr_assert_eq(w->nchannels, VANITY_MAX_CHANNELS);
	free(w);
}

Test(imgwrite, too_many_devices)
{
	struct vanity_imgw *w = new_writer("s");
	struct vanity_pci_addr a = { 0 };
	char name[8];
	int i;

	for (i = 0; i < VANITY_MAX_DEVICES; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		a.bus = (uint8_t)i;
		cr_assert_eq(vanity_imgw_device(w, name, &a, 0, 0), i);
	}
	cr_assert_eq(vanity_imgw_device(w, "more", &a, 0, 0), -E2BIG);
	cr_assert_eq(w->ndevices, VANITY_MAX_DEVICES);
	free(w);
}

Test(imgwrite, no_device_means_no_section_and_no_bit)
{
	struct vanity_image_hdr *h;
	uint8_t *img;
	size_t len;

	good_image(&img, &len);
	h = hdr_of(img);
	cr_assert_eq(h->section_count, 3);
	cr_assert_eq(h->features_incompat, 0);
	/*
	 * Byte for byte what the writer wrote before devices existed (its
	 * CRC covers every byte): the riscv64 check compares image bytes
	 * across architectures, and older readers take these images.
	 */
	cr_assert_eq(len, 736);
	cr_assert_eq(h->crc32c, 0x26c1de38U, "crc 0x%08x", h->crc32c);
	free(img);
}

Test(imgwrite, devices_follow_the_strings_with_their_bit)
{
	struct vanity_image_section *t, *dv;
	struct vanity_image_hdr *h;
	uint8_t *img;
	size_t len;

	good_image_devices(&img, &len);
	h = hdr_of(img);
	cr_assert_eq(h->features_incompat, VANITY_IMAGE_INCOMPAT_DEVICES);
	cr_assert_eq(h->features_compat, 0);
	cr_assert_eq(h->section_count, 4);
	t = sec_of(img, 2);
	dv = sec_of(img, 3);
	cr_assert_eq(t->type, VANITY_IMAGE_SEC_STRTAB);
	cr_assert_eq(dv->type, VANITY_IMAGE_SEC_DEVICES);
	cr_assert_eq(dv->entry_size, sizeof(struct vanity_image_device));
	cr_assert_eq(dv->count, 2);
	cr_assert_eq(sec_of(img, 0)->offset, 128 + 4 * 24);
	cr_assert_eq(dv->offset, t->offset + t->count);
	cr_assert_eq(dv->offset % 8, 0);
	cr_assert_eq(len, dv->offset + 2 * 88);
	cr_assert_eq(h->total_size, len);
	free(img);
}

Test(imgwrite, a_device_round_trips)
{
	struct vanity_imgw *w = new_writer("s");
	struct vanity_pci_addr a = { 0xabcd, 0xef, 0x1f << 3 | 5 };
	const struct vanity_image_device *d;
	struct vanity_diag diag;
	void *img;
	size_t len;

	vanity_imgw_shard(w, "x", 4096, cpu0, 0, NULL);
	vanity_imgw_shard(w, "y", 0, cpu0, 0, NULL);
	vanity_imgw_channel(w, "c", 0, 1, 8, 2);
	vanity_imgw_channel(w, "d", 1, 0, 8, 2);
	cr_assert_eq(vanity_imgw_device(w, "a-long_device-name-of-31-bytes0",
					&a, 0, VANITY_DEVICE_F_DMA_PRIVATE), 0);
	w->devices[0].dma_channels[0] = 2;
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_eq(vanity_image_check(img, len, &diag), 0, "%s", diag.msg);
	cr_assert_eq(vanity_image_device_count(img), 1);
	d = vanity_image_device(img, 0);
	cr_assert_str_eq(d->name, "a-long_device-name-of-31-bytes0");
	cr_assert_eq(d->pci_domain, 0xabcd);
	cr_assert_eq(d->pci_bus, 0xef);
	cr_assert_eq(d->pci_devfn, 0x1f << 3 | 5);
	cr_assert_eq(d->shard, 0);
	cr_assert_eq(d->flags, VANITY_DEVICE_F_DMA_PRIVATE);
	cr_assert_eq(d->dma_channels[0], 2);
	cr_assert_eq(d->dma_channels[1] | d->dma_channels[2] | d->dma_channels[3], 0);
	cr_assert_eq(d->resv[0] | d->resv[1] | d->resv[2] | d->resv[3], 0);
	free(img);
	free(w);
}

Test(imgwrite, string_table_overflow)
{
	struct vanity_imgw *w = new_writer("s");
	char prog[1000];
	char name[8];
	int i, ret = 0;

	memset(prog, 'p', sizeof(prog) - 1);
	prog[sizeof(prog) - 1] = '\0';
	/* 16 programs of 1000 bytes fit in 16384 with the leading NUL... */
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		cr_assert_eq(vanity_imgw_shard(w, name, 0, cpu0, 0, prog), i);
	}
	/* ...the seventeenth does not, and is not added. */
	ret = vanity_imgw_shard(w, "s16", 0, cpu0, 0, prog);
	cr_assert_eq(ret, -E2BIG);
	cr_assert_eq(w->nshards, 16);
	free(w);
}

Test(imgwrite, empty_or_null_program_means_none)
{
	struct vanity_imgw *w = new_writer("s");

	vanity_imgw_shard(w, "x", 0, cpu0, 0, NULL);
	vanity_imgw_shard(w, "y", 0, cpu0, 0, "");
	cr_assert_eq(w->shards[0].program, 0);
	cr_assert_eq(w->shards[1].program, 0);
	cr_assert_eq(w->strtab_len, 1);
	free(w);
}

Test(imgwrite, programs_are_stored_once_each_after_the_leading_nul)
{
	struct vanity_imgw *w = new_writer("s");
	struct vanity_image_section *t;
	void *img;
	size_t len;

	vanity_imgw_shard(w, "x", 0, cpu0, 0, "./one");
	vanity_imgw_shard(w, "y", 0, cpu0, 0, "/bin/two");
	cr_assert_eq(w->shards[0].program, 1);
	cr_assert_eq(w->shards[1].program, 1 + sizeof("./one"));
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	t = sec_of(img, 2);
	cr_assert_eq(t->count, 16, "1 + 6 + 9 = 16, a multiple of 8: %u",
		     t->count);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_assert_str_eq(vanity_image_str(img, 1), "./one");
	cr_assert_str_eq(vanity_image_str(img, 7), "/bin/two");
	free(img);
	free(w);
}

Test(imgwrite, a_writer_can_produce_invalid_images)
{
	struct vanity_imgw *w = new_writer("s");
	struct vanity_diag d;
	void *img;
	size_t len;

	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_eq(vanity_image_check(img, len, &d), -EINVAL);
	cr_assert_str_eq(d.msg, "no shards");
	free(img);
	free(w);
}

Test(imgwrite, largest_possible_image_fits_the_size_limit)
{
	struct vanity_imgw *w = new_writer("s");
	char name[8], prog[VANITY_PROGRAM_MAX];
	void *img;
	size_t len;
	int i;

	memset(prog, 'p', 1000);
	prog[1000] = '\0';
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		vanity_imgw_shard(w, name, 0, cpu0, 0, i < 16 ? prog : NULL);
	}
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		vanity_imgw_channel(w, name, 0, 1, 8, 2);
	}
	/* Every device granted every channel: the validator's longest walk. */
	for (i = 0; i < VANITY_MAX_DEVICES; i++) {
		struct vanity_pci_addr a = { 0, (uint8_t)i, 0 };

		snprintf(name, sizeof(name), "d%d", i);
		vanity_imgw_device(w, name, &a, 0, 0);
		memset(w->devices[i].dma_channels, 0xff,
		       sizeof(w->devices[i].dma_channels));
	}
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_leq(len, VANITY_IMAGE_MAX_SIZE);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	free(img);
	free(w);
}
