// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA window layout (kmod/core/dma.c): where each region a passed
 * device may reach sits in its I/O address space, one window after another.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "dma.h"

static uint8_t *img;
static size_t len;

static void setup(void)
{
	good_image_devices(&img, &len);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
}

static void teardown(void)
{
	free(img);
	img = NULL;
}

TestSuite(dma, .init = setup, .fini = teardown);

#define MIB	(1ULL << 20)

static uint64_t region(unsigned int channel)
{
	return vanity_channel_region_size(vanity_image_channel(img, channel));
}

static void expect_window(const struct vanity_dma_window *w, uint32_t kind,
			  uint32_t index, uint64_t iova, uint64_t size)
{
	cr_assert_eq(w->kind, kind, "kind %u, want %u", w->kind, kind);
	cr_assert_eq(w->index, index, "index %u, want %u", w->index, index);
	cr_assert_eq(w->iova, iova, "iova 0x%llx, want 0x%llx",
		     (unsigned long long)w->iova, (unsigned long long)iova);
	cr_assert_eq(w->size, size, "size %llu, want %llu",
		     (unsigned long long)w->size, (unsigned long long)size);
}

Test(dma, private_region_first_then_channels_by_index)
{
	struct vanity_dma_window w[4];
	uint64_t at = VANITY_DMA_IOVA_BASE;

	/* edu: a's 1 MiB, then "ab" (0) and "ba" (1). */
	cr_assert_eq(vanity_dma_windows(img, 0, w, 4), 3);
	expect_window(&w[0], VANITY_MMAP_K_PRIVATE, 0, at, MIB);
	at += MIB;
	expect_window(&w[1], VANITY_MMAP_K_CHANNEL, 0, at, region(0));
	at += region(0);
	expect_window(&w[2], VANITY_MMAP_K_CHANNEL, 1, at, region(1));
}

Test(dma, without_the_private_region_the_first_channel_is_at_the_base)
{
	struct vanity_dma_window w[4];

	/* nic: "ab" (0) and "bc" (2), not "ba". */
	cr_assert_eq(vanity_dma_windows(img, 1, w, 4), 2);
	expect_window(&w[0], VANITY_MMAP_K_CHANNEL, 0, VANITY_DMA_IOVA_BASE,
		      region(0));
	expect_window(&w[1], VANITY_MMAP_K_CHANNEL, 2,
		      VANITY_DMA_IOVA_BASE + region(0), region(2));
}

Test(dma, fills_at_most_max_and_counts_them_all)
{
	struct vanity_dma_window w[3];

	memset(w, 0xa5, sizeof(w));
	cr_assert_eq(vanity_dma_windows(img, 0, w, 1), 3);
	expect_window(&w[0], VANITY_MMAP_K_PRIVATE, 0, VANITY_DMA_IOVA_BASE, MIB);
	cr_assert_eq(w[1].kind, 0xa5a5a5a5U, "wrote past max");
	cr_assert_eq(vanity_dma_windows(img, 0, NULL, 0), 3);
}

Test(dma, a_device_with_no_dma_has_no_window)
{
	struct vanity_dma_window w;

	dev_of(img, 0)->flags = 0;
	dev_of(img, 0)->dma_channels[0] = 0;
	vanity_imgw_seal(img, len);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_assert_eq(vanity_dma_windows(img, 0, &w, 1), 0);
	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_PRIVATE, 0, &w),
		     -ENOENT);
}

Test(dma, no_such_device_has_no_window)
{
	struct vanity_dma_window w;
	uint8_t *plain;
	size_t n;

	cr_assert_eq(vanity_dma_windows(img, 2, &w, 1), 0);
	cr_assert_eq(vanity_dma_window(img, 2, VANITY_MMAP_K_CHANNEL, 0, &w),
		     -ENOENT);
	good_image(&plain, &n);
	cr_assert_eq(vanity_dma_windows(plain, 0, &w, 1), 0);
	cr_assert_eq(vanity_dma_window(plain, 0, VANITY_MMAP_K_PRIVATE, 0, &w),
		     -ENOENT);
	free(plain);
}

Test(dma, one_window_is_where_the_layout_puts_it)
{
	struct vanity_dma_window all[4], one;
	unsigned int dev, i, n;

	for (dev = 0; dev < 2; dev++) {
		n = vanity_dma_windows(img, dev, all, 4);
		for (i = 0; i < n; i++) {
			memset(&one, 0, sizeof(one));
			cr_assert_eq(vanity_dma_window(img, dev, all[i].kind,
						       all[i].index, &one), 0);
			cr_assert_eq(memcmp(&one, &all[i], sizeof(one)), 0,
				     "device %u window %u", dev, i);
		}
	}
}

Test(dma, a_region_not_granted_has_no_window)
{
	struct vanity_dma_window w = { .kind = 99 };

	/* edu is not granted "bc"; nic not the private region nor "ba". */
	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_CHANNEL, 2, &w),
		     -ENOENT);
	cr_assert_eq(vanity_dma_window(img, 1, VANITY_MMAP_K_PRIVATE, 0, &w),
		     -ENOENT);
	cr_assert_eq(vanity_dma_window(img, 1, VANITY_MMAP_K_CHANNEL, 1, &w),
		     -ENOENT);
	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_CHANNEL, 3, &w),
		     -ENOENT);
	cr_assert_eq(w.kind, 99, "a refusal leaves *out alone");
}

Test(dma, only_private_and_channel_windows_exist)
{
	struct vanity_dma_window w;

	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_PRIVATE, 1, &w),
		     -ENOENT, "the private region is index 0");
	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_RING, 0, &w),
		     -ENOENT);
	cr_assert_eq(vanity_dma_window(img, 0, VANITY_MMAP_K_BAR, 0, &w),
		     -ENOENT);
}

/* Channels past the first bitmap word, granted out of order in the words. */
Test(dma, channels_are_laid_out_by_index_across_bitmap_words)
{
	static const unsigned int grant[] = { 200, 3, 64, 63 };
	static const unsigned int order[] = { 3, 63, 64, 200 };
	uint64_t a[VANITY_CPU_WORDS] = { 1 }, b[VANITY_CPU_WORDS] = { 2 };
	struct vanity_pci_addr addr = { 0, 1, 0 };
	struct vanity_dma_window w[8];
	struct vanity_imgw *iw = calloc(1, sizeof(*iw));
	char name[8];
	uint64_t at = VANITY_DMA_IOVA_BASE;
	void *many;
	size_t n;
	unsigned int i;

	cr_assert_not_null(iw);
	vanity_imgw_init(iw, "s");
	vanity_imgw_shard(iw, "a", 0, a, 0, NULL);
	vanity_imgw_shard(iw, "b", 0, b, 0, NULL);
	for (i = 0; i < 201; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		/* Sizes differ by index, so a misplaced window shows. */
		vanity_imgw_channel(iw, name, i % 2, 1 - i % 2, 8U << (i % 8), 2);
	}
	cr_assert_eq(vanity_imgw_device(iw, "d", &addr, 0, 0), 0);
	for (i = 0; i < 4; i++)
		iw->devices[0].dma_channels[grant[i] / 64] |= 1ULL << (grant[i] % 64);
	cr_assert_eq(vanity_imgw_finish(iw, &many, &n), 0);
	free(iw);
	cr_assert_eq(vanity_image_check(many, n, NULL), 0);
	cr_assert_eq(vanity_dma_windows(many, 0, w, 8), 4);
	for (i = 0; i < 4; i++) {
		uint64_t size = vanity_channel_region_size(
			vanity_image_channel(many, order[i]));

		expect_window(&w[i], VANITY_MMAP_K_CHANNEL, order[i], at, size);
		at += size;
	}
	free(many);
}

Test(dma, the_private_window_is_as_large_as_the_owners_memory)
{
	struct vanity_dma_window w[2];

	shard_of(img, 0)->memory_size = VANITY_MEMORY_MAX;
	vanity_imgw_seal(img, len);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_assert_eq(vanity_dma_windows(img, 0, w, 2), 3);
	expect_window(&w[1], VANITY_MMAP_K_CHANNEL, 0,
		      VANITY_DMA_IOVA_BASE + VANITY_MEMORY_MAX, region(0));
}

/* ------------------------------------------------------------ placement */

#define PAGE	VANITY_PAGE_SIZE
#define BASE	VANITY_DMA_IOVA_BASE

/* Three windows of @a, @b, @c bytes, laid out plainly. */
static void three(struct vanity_dma_window *w, uint64_t a, uint64_t b,
		  uint64_t c)
{
	memset(w, 0, 3 * sizeof(*w));
	w[0].kind = VANITY_MMAP_K_PRIVATE;
	w[0].size = a;
	w[1].kind = VANITY_MMAP_K_CHANNEL;
	w[1].index = 0;
	w[1].size = b;
	w[2].kind = VANITY_MMAP_K_CHANNEL;
	w[2].index = 3;
	w[2].size = c;
}

Test(dma, with_nothing_reserved_placement_is_the_plain_layout)
{
	struct vanity_dma_window plain[4], placed[4];
	unsigned int n = vanity_dma_windows(img, 0, plain, 4), i;

	memcpy(placed, plain, sizeof(plain));
	for (i = 0; i < n; i++)
		placed[i].iova = 0xdead;
	cr_assert_eq(vanity_dma_place(placed, n, NULL, 0, ~0ULL), 0);
	for (i = 0; i < n; i++)
		cr_assert_eq(placed[i].iova, plain[i].iova, "window %u", i);
}

Test(dma, a_window_that_would_meet_a_reserved_range_goes_past_it)
{
	struct vanity_dma_window w[3];
	/* arm64's SMMU software MSI window, as the kernel reports it. */
	struct vanity_dma_resv msi = { 0x8000000, 0x80fffff };

	three(w, 128 * MIB, 64 * 1024, 8192);
	cr_assert_eq(vanity_dma_place(w, 3, &msi, 1, ~0ULL), 0);
	cr_assert_eq(w[0].iova, 0x8100000, "private at %#llx",
		     (unsigned long long)w[0].iova);
	cr_assert_eq(w[1].iova, 0x8100000 + 128 * MIB);
	cr_assert_eq(w[2].iova, w[1].iova + 64 * 1024);
	/* Windows that fit below the range stay below it; the next goes past. */
	three(w, 64 * 1024, 126 * MIB, MIB);
	cr_assert_eq(vanity_dma_place(w, 3, &msi, 1, ~0ULL), 0);
	cr_assert_eq(w[0].iova, BASE);
	cr_assert_eq(w[1].iova, BASE + 64 * 1024, "fits below: %#llx",
		     (unsigned long long)w[1].iova);
	cr_assert_eq(w[2].iova, 0x8100000, "channel 3 at %#llx",
		     (unsigned long long)w[2].iova);
	three(w, 64 * 1024, 126 * MIB, 8192);
	cr_assert_eq(vanity_dma_place(w, 3, &msi, 1, ~0ULL), 0);
	cr_assert_eq(w[2].iova, BASE + 64 * 1024 + 126 * MIB, "%#llx",
		     (unsigned long long)w[2].iova);
}

Test(dma, windows_touching_a_reserved_range_are_left_where_they_are)
{
	struct vanity_dma_window w[3];
	struct vanity_dma_resv r[2] = {
		{ BASE + 2 * PAGE, BASE + 3 * PAGE - 1 },	/* right after w[0] */
		{ 0, BASE - 1 },				/* right before it */
	};

	three(w, 2 * PAGE, PAGE, PAGE);
	cr_assert_eq(vanity_dma_place(w, 3, r, 2, ~0ULL), 0);
	cr_assert_eq(w[0].iova, BASE);
	cr_assert_eq(w[1].iova, BASE + 3 * PAGE);
	cr_assert_eq(w[2].iova, BASE + 4 * PAGE);
}

Test(dma, ranges_in_any_order_and_back_to_back_are_all_skipped)
{
	struct vanity_dma_window w[3];
	/*
	 * Unsorted, back to back, one ending mid-page (its page is skipped
	 * whole): the first window meets all three in turn.
	 */
	struct vanity_dma_resv r[3] = {
		{ BASE + 10 * PAGE, BASE + 12 * PAGE - 1 },
		{ BASE, BASE + 4 * PAGE - 1 },
		{ BASE + 4 * PAGE, BASE + 10 * PAGE - 1 - 100 },
	};

	three(w, PAGE, PAGE, 64 * PAGE);
	cr_assert_eq(vanity_dma_place(w, 3, r, 3, ~0ULL), 0);
	cr_assert_eq(w[0].iova, BASE + 12 * PAGE, "w0 %#llx",
		     (unsigned long long)w[0].iova);
	cr_assert_eq(w[1].iova, BASE + 13 * PAGE);
	cr_assert_eq(w[2].iova, BASE + 14 * PAGE);
}

Test(dma, windows_past_the_aperture_or_the_space_are_erange)
{
	struct vanity_dma_window w[3];
	struct vanity_dma_resv top = { 0xfffffffffffff000ULL, ~0ULL };
	struct vanity_dma_resv all = { BASE, ~0ULL };

	three(w, PAGE, PAGE, PAGE);
	cr_assert_eq(vanity_dma_place(w, 3, NULL, 0, BASE + 3 * PAGE - 1), 0);
	cr_assert_eq(vanity_dma_place(w, 3, NULL, 0, BASE + 3 * PAGE - 2),
		     -ERANGE);
	cr_assert_eq(vanity_dma_place(w, 3, &all, 1, ~0ULL), -ERANGE);
	/* Up to the page below a range at the very top, not into it. */
	three(w, PAGE, 1ULL << 63, (1ULL << 63) - BASE - 2 * PAGE);
	cr_assert_eq(vanity_dma_place(w, 3, &top, 1, ~0ULL), 0);
	w[2].size += 1;
	cr_assert_eq(vanity_dma_place(w, 3, &top, 1, ~0ULL), -ERANGE);
	three(w, PAGE, 1ULL << 63, (1ULL << 63) - PAGE - BASE);
	cr_assert_eq(vanity_dma_place(w, 3, NULL, 0, ~0ULL), 0);
	cr_assert_eq(w[2].iova + w[2].size - 1, ~0ULL);
	w[2].size += 1;
	cr_assert_eq(vanity_dma_place(w, 3, NULL, 0, ~0ULL), -ERANGE);
}

Test(dma, find_names_the_window_onto_a_region)
{
	struct vanity_dma_window w[3];

	three(w, PAGE, PAGE, PAGE);
	cr_assert_eq(vanity_dma_find(w, 3, VANITY_MMAP_K_CHANNEL, 3), &w[2]);
	cr_assert_eq(vanity_dma_find(w, 3, VANITY_MMAP_K_PRIVATE, 0), &w[0]);
	cr_assert_null(vanity_dma_find(w, 3, VANITY_MMAP_K_CHANNEL, 1));
	cr_assert_null(vanity_dma_find(w, 2, VANITY_MMAP_K_CHANNEL, 3));
	cr_assert_null(vanity_dma_find(NULL, 0, VANITY_MMAP_K_PRIVATE, 0));
}

Test(dma, a_range_that_holds_the_base_or_overlaps_another_is_skipped_whole)
{
	struct vanity_dma_window w[3];
	/* A firmware direct map over the first 16 MiB, base included. */
	struct vanity_dma_resv low = { 0, 16 * MIB - 1 };
	/* Two of different types that overlap (the kernel merges only alike). */
	struct vanity_dma_resv two[2] = {
		{ BASE, 2 * MIB - 1 },
		{ BASE + MIB / 2, 3 * MIB - 1 },
	};

	three(w, PAGE, PAGE, PAGE);
	cr_assert_eq(vanity_dma_place(w, 3, &low, 1, ~0ULL), 0);
	cr_assert_eq(w[0].iova, 16 * MIB, "w0 at %#llx, inside the range",
		     (unsigned long long)w[0].iova);
	cr_assert_eq(vanity_dma_place(w, 3, two, 2, ~0ULL), 0);
	cr_assert_eq(w[0].iova, 3 * MIB, "w0 at %#llx, inside the second range",
		     (unsigned long long)w[0].iova);
	cr_assert_eq(w[2].iova, 3 * MIB + 2 * PAGE);
}
