/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A passed device's DMA confinement: its IOMMU group claimed, an
 * unmanaged domain of ours attached, and only the windows of the core's
 * layout (kmod/core/dma.h) mapped in it, onto the regions' own pages.
 */
#ifndef VANITY_IOMMU_H
#define VANITY_IOMMU_H

struct vanity_system;
struct vanity_pdev;

/*
 * Claim @d's group, attach a fresh domain and map its windows: 0, or
 * -errno with @msg naming the reason; what was done is undone.
 */
int vanity_iommu_confine(struct vanity_system *sys, struct vanity_pdev *d,
			 char *msg);
/*
 * Unmap every window (the IOTLB is flushed when iommu_unmap() returns),
 * detach the domain, give the group back to its default domain, free
 * the domain. The device must be quiet first. Idempotent.
 */
void vanity_iommu_release(struct vanity_pdev *d);

#endif
