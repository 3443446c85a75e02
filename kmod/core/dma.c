// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA window layout of a passed device, written against the shim and
 * the image accessors only: the module and the tests lay windows out alike.
 */
#include "dma.h"
#include "image.h"

/* A walk over one device's windows, in the order they are laid out. */
struct walk {
	const void *img;
	const struct vanity_image_device *dev;
	bool private_done;
	u32 next_channel;	/* first channel index not yet looked at */
	u64 iova;		/* where the next window starts */
};

static bool walk_start(struct walk *wk, const void *img, unsigned int dev)
{
	if (dev >= vanity_image_device_count(img))
		return false;
	wk->img = img;
	wk->dev = vanity_image_device(img, dev);
	wk->private_done = false;
	wk->next_channel = 0;
	wk->iova = VANITY_DMA_IOVA_BASE;
	return true;
}

static void emit(struct walk *wk, u32 kind, u32 index, u64 size,
		 struct vanity_dma_window *out)
{
	out->kind = kind;
	out->index = index;
	out->iova = wk->iova;
	out->size = size;
	wk->iova += size;
}

/* The next window into *@out, or false when there is none. */
static bool walk_next(struct walk *wk, struct vanity_dma_window *out)
{
	u32 nc = vanity_image_hdr(wk->img)->channel_count;
	const struct vanity_image_shard *owner;
	u32 i;

	if (!wk->private_done) {
		wk->private_done = true;
		if (wk->dev->flags & VANITY_DEVICE_F_DMA_PRIVATE) {
			owner = vanity_image_shard(wk->img, wk->dev->shard);
			emit(wk, VANITY_MMAP_K_PRIVATE, 0, owner->memory_size,
			     out);
			return true;
		}
	}
	while (wk->next_channel < nc) {
		i = wk->next_channel++;
		if (!(wk->dev->dma_channels[i / 64] & (1ULL << (i % 64))))
			continue;
		emit(wk, VANITY_MMAP_K_CHANNEL, i,
		     vanity_channel_region_size(vanity_image_channel(wk->img, i)),
		     out);
		return true;
	}
	return false;
}

unsigned int vanity_dma_windows(const void *img, unsigned int dev,
				struct vanity_dma_window *w, unsigned int max)
{
	struct vanity_dma_window cur;
	struct walk wk;
	unsigned int n = 0;

	if (!walk_start(&wk, img, dev))
		return 0;
	while (walk_next(&wk, &cur)) {
		if (n < max)
			w[n] = cur;
		n++;
	}
	return n;
}

int vanity_dma_window(const void *img, unsigned int dev, u32 kind, u32 index,
		      struct vanity_dma_window *out)
{
	struct vanity_dma_window cur;
	struct walk wk;

	if (!walk_start(&wk, img, dev))
		return -ENOENT;
	while (walk_next(&wk, &cur)) {
		if (cur.kind == kind && cur.index == index) {
			*out = cur;
			return 0;
		}
	}
	return -ENOENT;
}

/* Whether [@at, @at + @size - 1] meets @r. @size is not 0. */
static bool meets(u64 at, u64 size, const struct vanity_dma_resv *r)
{
	return at <= r->last && (r->start <= at || r->start - at < size);
}

int vanity_dma_place(struct vanity_dma_window *w, unsigned int n,
		     const struct vanity_dma_resv *resv, unsigned int nresv,
		     u64 last_iova)
{
	u64 at = VANITY_DMA_IOVA_BASE, end;
	unsigned int i, j;
	bool moved;

	for (i = 0; i < n; i++) {
		/*
		 * Past every range the window meets: each pass leaves one
		 * behind for good (at only grows), so at most nresv + 1.
		 */
		do {
			moved = false;
			for (j = 0; j < nresv; j++) {
				if (!meets(at, w[i].size, &resv[j]))
					continue;
				if (resv[j].last > ~(u64)0 - VANITY_PAGE_SIZE)
					return -ERANGE;
				at = (resv[j].last + VANITY_PAGE_SIZE) &
				     ~(u64)(VANITY_PAGE_SIZE - 1);
				moved = true;
			}
		} while (moved);
		if (check_add_overflow(at, w[i].size - 1, &end) ||
		    end > last_iova)
			return -ERANGE;
		w[i].iova = at;
		at = end + 1;
		if (!at && i + 1 < n)	/* the last byte of the space was used */
			return -ERANGE;
	}
	return 0;
}

const struct vanity_dma_window *
vanity_dma_find(const struct vanity_dma_window *w, unsigned int n, u32 kind,
		u32 index)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (w[i].kind == kind && w[i].index == index)
			return &w[i];
	return NULL;
}
