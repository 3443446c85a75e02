// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU confinement of passed devices. The group is claimed for DMA
 * ownership (no DMA-API user may share it), our unmanaged domain
 * replaces the kernel's, and each window maps its region's pages one by
 * one: nothing else is reachable. Unmapping returns with the IOTLB
 * flushed, so pages may be freed right after.
 */
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "compat.h"
#include "device.h"
#include "iommu.h"
#include "system.h"

static struct vanity_region *window_region(struct vanity_system *sys,
					   struct vanity_pdev *d,
					   const struct vanity_dma_window *w)
{
	if (w->kind == VANITY_MMAP_K_PRIVATE)
		return d->owner->mem;
	return sys->channels[w->index].region;
}

/* What the window is called in a message. */
static const char *window_name(struct vanity_system *sys,
			       const struct vanity_dma_window *w)
{
	if (w->kind == VANITY_MMAP_K_PRIVATE)
		return "the private region";
	return sys->channels[w->index].desc->name;
}

/*
 * Place the windows past the group's reserved ranges (MSI doorbells,
 * firmware's direct maps) and inside the domain's aperture: the layout is
 * the core's (vanity_dma_place). *@sw_msi: where the IOMMU wants MSI
 * doorbells mapped by software (an SMMU's), or ~0 when it maps them
 * itself (interrupt remapping).
 */
static int place_windows(struct vanity_system *sys, struct vanity_pdev *d,
			 dma_addr_t *sw_msi, char *msg)
{
	struct iommu_resv_region *r, *next;
	struct vanity_dma_resv *resv = NULL;
	const struct iommu_domain_geometry *g = &d->domain->geometry;
	unsigned int n = 0, i = 0;
	LIST_HEAD(list);
	int ret;

	ret = iommu_get_group_resv_regions(d->group, &list);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): cannot read its IOMMU group's reserved ranges",
			 d->desc->name, d->addr);
		goto out;
	}
	list_for_each_entry(r, &list, list)
		n++;
	resv = kmalloc_array(n + 1, sizeof(*resv), GFP_KERNEL);
	if (!resv) {
		ret = -ENOMEM;
		goto out;
	}
	/* Below an aperture that does not start at 0: as good as reserved. */
	if (g->force_aperture && g->aperture_start) {
		resv[i].start = 0;
		resv[i].last = g->aperture_start - 1;
		i++;
	}
	list_for_each_entry(r, &list, list) {
		if (r->type == IOMMU_RESV_SW_MSI)
			*sw_msi = r->start;
		if (!r->length)
			continue;
		resv[i].start = r->start;
		resv[i].last = r->start + r->length - 1;
		i++;
	}
	ret = vanity_dma_place(d->win, d->nwin, resv, i,
			       g->force_aperture ? g->aperture_end : ~0ULL);
	if (ret)
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): its windows do not fit below its IOMMU's %#llx, past its reserved ranges",
			 d->desc->name, d->addr,
			 g->force_aperture ? (u64)g->aperture_end : ~0ULL);
out:
	kfree(resv);
	list_for_each_entry_safe(r, next, &list, list) {
		list_del(&r->list);
		kfree(r);
	}
	return ret;
}

/* Map window @w page by page; on failure, what it mapped goes again. */
static int map_window(struct vanity_system *sys, struct vanity_pdev *d,
		      const struct vanity_dma_window *w, int prot)
{
	struct vanity_region *r = window_region(sys, d, w);
	unsigned long i;
	int ret;

	if (!r || r->size != w->size)
		return -EINVAL;
	for (i = 0; i < r->npages; i++) {
		ret = vanity_iommu_map(d->domain, w->iova + i * PAGE_SIZE,
				       page_to_phys(r->pages[i]), PAGE_SIZE,
				       prot);
		if (ret) {
			if (i)
				iommu_unmap(d->domain, w->iova, i * PAGE_SIZE);
			return ret;
		}
	}
	return 0;
}

int vanity_iommu_confine(struct vanity_system *sys, struct vanity_pdev *d,
			 char *msg)
{
	struct device *dev = &d->pdev->dev;
	/* Coherent: the device sees what the CPU wrote (the zeroing too). */
	int prot = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
	dma_addr_t sw_msi = ~(dma_addr_t)0;
	int ret;

	/*
	 * A device whose DMA bypasses the CPU caches could read a region
	 * page's earlier contents from memory: refused, as iommufd does.
	 */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY)) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): its IOMMU does not keep its DMA coherent with the CPU caches",
			 d->desc->name, d->addr);
		return -EOPNOTSUPP;
	}
	ret = iommu_group_claim_dma_owner(d->group, sys);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): another driver in its IOMMU group uses DMA",
			 d->desc->name, d->addr);
		return ret == -EPERM ? -EBUSY : ret;
	}
	d->claimed = true;
	d->domain = vanity_domain_alloc(dev);
	if (IS_ERR(d->domain)) {
		ret = PTR_ERR(d->domain);
		d->domain = NULL;
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): its IOMMU gives no domain to confine it",
			 d->desc->name, d->addr);
		goto err;
	}
	ret = place_windows(sys, d, &sw_msi, msg);
	if (ret)
		goto err;
	/*
	 * An SMMU's MSIs are DMA writes to the interrupt controller's
	 * doorbell: our domain must map it (at the range the IOMMU reserves
	 * for it) when vectors are set up, as vfio's type1 does.
	 */
	if (sw_msi != ~(dma_addr_t)0) {
		ret = iommu_get_msi_cookie(d->domain, sw_msi);
		if (ret) {
			snprintf(msg, VANITY_MSG_LEN,
				 "device '%s' (%s): cannot route its MSIs through its IOMMU (%d)",
				 d->desc->name, d->addr, ret);
			goto err;
		}
	}
	ret = iommu_attach_group(d->domain, d->group);
	if (ret || iommu_get_domain_for_dev(dev) != d->domain) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): its IOMMU would not take our domain",
			 d->desc->name, d->addr);
		if (!ret) {
			iommu_detach_group(d->domain, d->group);
			ret = -EIO;
		}
		goto err;
	}
	d->attached = true;
	for (d->nmapped = 0; d->nmapped < d->nwin; d->nmapped++) {
		ret = map_window(sys, d, &d->win[d->nmapped], prot);
		if (ret) {
			snprintf(msg, VANITY_MSG_LEN,
				 "device '%s' (%s): cannot map %s in its IOMMU",
				 d->desc->name, d->addr,
				 window_name(sys, &d->win[d->nmapped]));
			goto err;
		}
	}
	return 0;
err:
	vanity_iommu_release(d);
	return ret;
}

void vanity_iommu_release(struct vanity_pdev *d)
{
	const struct vanity_dma_window *w;
	size_t n;

	/* Synchronous: the IOTLB is flushed when each call returns. */
	while (d->nmapped) {
		w = &d->win[--d->nmapped];
		n = iommu_unmap(d->domain, w->iova, w->size);
		WARN_ON_ONCE(n != w->size);
	}
	if (d->attached) {
		iommu_detach_group(d->domain, d->group);
		d->attached = false;
	}
	if (d->claimed) {
		iommu_group_release_dma_owner(d->group);
		d->claimed = false;
	}
	if (d->domain) {
		iommu_domain_free(d->domain);
		d->domain = NULL;
	}
}
