/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a passed device's DMA windows sit in its I/O address space: the
 * one layout the module maps into the IOMMU and tells the owner about.
 */
#ifndef VANITY_CORE_DMA_H
#define VANITY_CORE_DMA_H

#include "shim.h"

/* One region a device may DMA into, and where the device reaches it. */
struct vanity_dma_window {
	u32 kind;		/* VANITY_MMAP_K_PRIVATE or VANITY_MMAP_K_CHANNEL */
	u32 index;		/* channel index; 0 for the private region */
	u64 iova;		/* I/O virtual address of its first byte */
	u64 size;		/* bytes, the region's whole size */
};

/*
 * The windows of device @dev of a checked image, in I/O address order:
 * the owner's private region first (with VANITY_DEVICE_F_DMA_PRIVATE) at
 * VANITY_DMA_IOVA_BASE, then each granted channel by ascending index, each
 * window starting where the previous one ends. Fills at most @max of
 * them into @w (which may be NULL when @max is 0) and returns how many
 * the device has; 0 for a device index the image does not have.
 */
unsigned int vanity_dma_windows(const void *img, unsigned int dev,
				struct vanity_dma_window *w, unsigned int max);

/* A range of I/O addresses the device's IOMMU keeps for itself. */
struct vanity_dma_resv {
	u64 start, last;	/* inclusive */
};

/*
 * Place @n windows (vanity_dma_windows' order and sizes) in the I/O
 * address space of an IOMMU that reserves @resv (@nresv ranges, in any
 * order; MSI doorbells, firmware's direct maps): from VANITY_DMA_IOVA_BASE,
 * each window where the previous one ends or, when that would overlap a
 * reserved range, at the first page past it. 0, or -ERANGE when a window
 * would end past @last_iova (the IOMMU's aperture) or past 2^64.
 */
int vanity_dma_place(struct vanity_dma_window *w, unsigned int n,
		     const struct vanity_dma_resv *resv, unsigned int nresv,
		     u64 last_iova);

/* The window onto region @kind / @index among @n, or NULL. */
const struct vanity_dma_window *
vanity_dma_find(const struct vanity_dma_window *w, unsigned int n, u32 kind,
		u32 index);

/*
 * The window of device @dev onto region @kind / @index (the mmap offset
 * terms of the UAPI): 0 and *@out filled, or -ENOENT when the device is
 * not granted that region or the image has no such device.
 */
int vanity_dma_window(const void *img, unsigned int dev, u32 kind, u32 index,
		      struct vanity_dma_window *out);

#endif /* VANITY_CORE_DMA_H */
