// SPDX-License-Identifier: GPL-2.0
/*
 * Passed PCI functions. UP takes each one from its host driver (the
 * driver override names ours first, so nothing else can bind meanwhile),
 * judges it by the core's rule (core/pci.h) with the facts the kernel
 * has, and confines its DMA (kmod/iommu.c). Bus mastering is on only
 * while the owner is attached. The owner maps its memory BARs through
 * its attach fd, faulted in under a lock that revocation takes for
 * writing; the MSI-X table and PBA pages are never mapped. DOWN revokes,
 * quiets and resets, unmaps, then gives the device back to its driver.
 */
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/iommu.h>
#include <linux/slab.h>

#include "compat.h"
#include "device.h"
#include "iommu.h"
#include "system.h"
#include "pci.h"
#include "image.h"

#define DRV_NAME "vanity"

/* The device UP is binding right now (under vanity_lock), or NULL. */
static struct vanity_pdev *binding;

static void revoke_one(struct vanity_pdev *d);

static int vanity_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vanity_pdev *d = READ_ONCE(binding);

	/* Only what UP binds: an override set by hand binds nothing. */
	if (!d || d->pdev != pdev)
		return -ENODEV;
	pci_set_drvdata(pdev, d);
	return 0;
}

/*
 * Called with the device lock held, never with vanity_lock: by DOWN's
 * unbind (drvdata already cleared), or when the device goes away under
 * a system (hot removal, its VF deleted). Then the owner loses the BARs
 * at once and the device its bus mastering; DOWN finishes the rest.
 */
static void vanity_pci_remove(struct pci_dev *pdev)
{
	struct vanity_pdev *d = pci_get_drvdata(pdev);

	if (!d)
		return;
	revoke_one(d);
	pci_clear_master(pdev);
	vanity_irqs_release(d);
	WRITE_ONCE(d->gone, true);
	/* Its owner's armed IRQ_WAITs end with -ENODEV. */
	wake_up_all(&d->irqs.wq);
	pci_set_drvdata(pdev, NULL);
	pci_warn(pdev, "vanity: device '%s' removed while passed; its owner lost it\n",
		 d->desc->name);
}

static const struct pci_device_id vanity_pci_ids[] = {
	/* Matches only a device whose driver override names this driver. */
	{ PCI_DEVICE_DRIVER_OVERRIDE(PCI_ANY_ID, PCI_ANY_ID, 1) },
	{ }
};

static struct pci_driver vanity_pci_driver = {
	.name = DRV_NAME,
	.id_table = vanity_pci_ids,
	.probe = vanity_pci_probe,
	.remove = vanity_pci_remove,
	/* No DMA API here: the group's DMA is ours to claim. */
	.driver_managed_dma = true,
	/* Only UP and DOWN bind and unbind it, never sysfs. */
	.driver.suppress_bind_attrs = true,
};

int vanity_device_init(void)
{
	return pci_register_driver(&vanity_pci_driver);
}

void vanity_device_exit(void)
{
	pci_unregister_driver(&vanity_pci_driver);
}

struct peers {
	struct device *self;
	unsigned int n;
};

static int count_peer(struct device *dev, void *data)
{
	struct peers *p = data;

	p->n += dev != p->self;
	return 0;
}

/* The core's facts, from the kernel's own view of the function. */
static void facts_of(struct vanity_pdev *d, struct vanity_pci_facts *f)
{
	struct pci_dev *pdev = d->pdev;
	struct peers peers = { .self = &pdev->dev };
	struct iommu_domain *dom;

	memset(f, 0, sizeof(*f));
	f->addr.domain = d->desc->pci_domain;
	f->addr.bus = d->desc->pci_bus;
	f->addr.devfn = d->desc->pci_devfn;
	f->class = pdev->class;
	f->header_type = pdev->hdr_type & 0x7f;
	f->msi = pdev->msi_cap || pdev->msix_cap ? VANITY_TRI_YES : VANITY_TRI_NO;
	f->group = -1;
	f->dma = VANITY_PCI_DMA_NONE;
	f->isolated_msi = VANITY_TRI_UNKNOWN;
	if (!d->group)
		return;
	f->group = iommu_group_id(d->group);
	iommu_group_for_each_dev(d->group, &peers, count_peer);
	f->group_others = peers.n;
	dom = iommu_get_domain_for_dev(&pdev->dev);
	if (!dom)
		f->dma = VANITY_PCI_DMA_UNKNOWN;
	else if (dom->type == IOMMU_DOMAIN_IDENTITY)
		f->dma = VANITY_PCI_DMA_IDENTITY;
	else if (dom->type == IOMMU_DOMAIN_BLOCKED)
		f->dma = VANITY_PCI_DMA_BLOCKED;
	else
		f->dma = VANITY_PCI_DMA_TRANSLATED;
	f->isolated_msi = vanity_msi_isolated(d->group) ? VANITY_TRI_YES :
			  VANITY_TRI_NO;
}

/*
 * Where the MSI-X table and PBA sit: whole pages of their BAR, merged.
 * -EINVAL when the capability names a BAR that cannot exist.
 */
static int msix_holes(struct vanity_pdev *d)
{
	struct pci_dev *pdev = d->pdev;
	u32 table, pba, tsize, psize, lo, hi;
	struct vanity_bar *b;
	u16 flags;
	int i;

	if (!pdev->msix_cap)
		return 0;
	pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, &flags);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE, &table);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba);
	tsize = ((flags & PCI_MSIX_FLAGS_QSIZE) + 1) * PCI_MSIX_ENTRY_SIZE;
	psize = DIV_ROUND_UP((flags & PCI_MSIX_FLAGS_QSIZE) + 1, 64) * 8;
	if ((table & PCI_MSIX_TABLE_BIR) >= VANITY_DEVICE_BARS ||
	    (pba & PCI_MSIX_PBA_BIR) >= VANITY_DEVICE_BARS)
		return -EINVAL;
	for (i = 0; i < 2; i++) {
		u32 reg = i ? pba : table, size = i ? psize : tsize;

		b = &d->bars[reg & PCI_MSIX_TABLE_BIR];
		lo = round_down(reg & PCI_MSIX_TABLE_OFFSET, PAGE_SIZE);
		hi = round_up((reg & PCI_MSIX_TABLE_OFFSET) + size, PAGE_SIZE);
		if (b->hole_size) {
			/* One hole per BAR: the span of both when they share. */
			lo = min_t(u64, lo, b->hole_off);
			hi = max_t(u64, hi, b->hole_off + b->hole_size);
		}
		b->hole_off = lo;
		b->hole_size = hi - lo;
	}
	return 0;
}

/* Each BAR as the owner sees it; only whole-page memory BARs map. */
static int read_bars(struct vanity_pdev *d)
{
	struct pci_dev *pdev = d->pdev;
	unsigned long fl;
	int i;

	for (i = 0; i < VANITY_DEVICE_BARS; i++) {
		struct vanity_bar *b = &d->bars[i];

		b->dev = d;
		b->index = i;
		b->size = pci_resource_len(pdev, i);
		fl = pci_resource_flags(pdev, i);
		if (!b->size)
			continue;
		if (fl & IORESOURCE_MEM)
			b->flags |= VANITY_BAR_F_MEM;
		if (fl & IORESOURCE_MEM_64)
			b->flags |= VANITY_BAR_F_64;
		if (fl & IORESOURCE_PREFETCH)
			b->flags |= VANITY_BAR_F_PREFETCH;
		if ((fl & IORESOURCE_MEM) && b->size >= PAGE_SIZE &&
		    PAGE_ALIGNED(pci_resource_start(pdev, i)) &&
		    PAGE_ALIGNED(b->size)) {
			b->flags |= VANITY_BAR_F_MAPPABLE;
			b->start = pci_resource_start(pdev, i);
		}
	}
	return msix_holes(d);
}

/* No CPU access: every later fault SIGBUS, and what is mapped goes. */
static void revoke_one(struct vanity_pdev *d)
{
	down_write(&d->bar_lock);
	d->bar_revoked = true;
	if (d->mapping)
		unmap_mapping_range(d->mapping,
				    VANITY_MMAP_BAR((u64)d->index, 0),
				    (u64)8 << VANITY_MMAP_INDEX_SHIFT, 1);
	up_write(&d->bar_lock);
}

void vanity_devices_revoke(struct vanity_system *sys)
{
	unsigned int i;

	for (i = 0; sys->devices && i < sys->ndevices; i++)
		revoke_one(&sys->devices[i]);
}

/* Give @d back: quiet, reset, unmapped, then to its host driver. */
static void release_one(struct vanity_pdev *d)
{
	struct pci_dev *pdev = d->pdev;
	int ret;

	if (!pdev)
		return;
	revoke_one(d);
	if (d->enabled && !d->gone) {
		/* Quiet: no new DMA or MSI, then the reset it offers. */
		pci_clear_master(pdev);
		d->master = false;
		vanity_irqs_release(d);
		ret = pci_reset_function(pdev);
		if (ret && ret != -ENOTTY)
			pci_warn(pdev, "vanity: reset failed (%d); bus mastering is off\n",
				 ret);
	}
	/* Unmapped and flushed before the caller frees the regions. */
	vanity_iommu_release(d);
	if (d->enabled) {
		pci_release_regions(pdev);
		pci_disable_device(pdev);
		d->enabled = false;
	}
	if (d->bound) {
		vanity_set_override(pdev, "");
		pci_set_drvdata(pdev, NULL);
		device_release_driver(&pdev->dev);
		d->bound = false;
		/* Its host driver (or none) binds as at boot. */
		ret = device_attach(&pdev->dev);
		if (ret < 0)
			pci_warn(pdev, "vanity: %s did not take it back (%d)\n",
				 d->host_driver[0] ? d->host_driver : "no driver",
				 ret);
	}
	if (d->group)
		iommu_group_put(d->group);
	d->group = NULL;
	pci_dev_put(pdev);
	d->pdev = NULL;
}

/* Whether the group is on a domain of the kernel's own (not claimed). */
static bool default_domain(struct vanity_pdev *d)
{
	struct iommu_domain *dom = iommu_get_domain_for_dev(&d->pdev->dev);

	return dom && (dom->type == IOMMU_DOMAIN_DMA ||
		       dom->type == IOMMU_DOMAIN_DMA_FQ ||
		       dom->type == IOMMU_DOMAIN_IDENTITY);
}

/*
 * Whether a user other than the kernel's DMA API holds the group: its
 * domain is not the kernel's, or its DMA ownership is claimed while no
 * DMA-API driver of ours to unbind accounts for it (a host driver's own
 * count goes with it when UP unbinds it; one that manages DMA itself,
 * vfio-pci, or none at all, means someone has claimed the group).
 */
static bool owned_elsewhere(struct vanity_pdev *d)
{
	struct device_driver *drv = d->pdev->dev.driver;

	if (!default_domain(d))
		return true;
	if (!iommu_group_dma_owner_claimed(d->group))
		return false;
	return !drv || to_pci_driver(drv)->driver_managed_dma;
}

static int take_one(struct vanity_system *sys, struct vanity_pdev *d, char *msg)
{
	const struct vanity_image_device *desc = d->desc;
	struct vanity_pci_facts f;
	char why[160];
	int ret;

	d->pdev = pci_get_domain_bus_and_slot(desc->pci_domain, desc->pci_bus,
					      desc->pci_devfn);
	if (!d->pdev) {
		snprintf(msg, VANITY_MSG_LEN, "device '%s': no PCI function at %s",
			 desc->name, d->addr);
		return -ENODEV;
	}
	d->group = iommu_group_get(&d->pdev->dev);
	facts_of(d, &f);
	/*
	 * A group that only a driver's binding would form (an SMMU set up
	 * from the device tree) is judged once ours is bound, below.
	 */
	if (f.dma == VANITY_PCI_DMA_NONE && !d->pdev->dev.driver &&
	    iommu_present(&pci_bus_type))
		f.dma = VANITY_PCI_DMA_UNKNOWN;
	ret = vanity_pci_passable(&f, why, sizeof(why));
	if (ret)
		goto refuse;
	/* Someone else's already (vfio, another domain): not even unbound. */
	if (d->group && owned_elsewhere(d)) {
		ret = -EBUSY;
		snprintf(why, sizeof(why), "its IOMMU group's DMA is already owned by another user");
		goto refuse;
	}
	if (d->pdev->dev.driver)
		strscpy(d->host_driver, d->pdev->dev.driver->name,
			sizeof(d->host_driver));
	ret = vanity_set_override(d->pdev, DRV_NAME);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): cannot set its driver override",
			 desc->name, d->addr);
		return ret;
	}
	device_release_driver(&d->pdev->dev);
	WRITE_ONCE(binding, d);
	ret = device_driver_attach(&vanity_pci_driver.driver, &d->pdev->dev);
	WRITE_ONCE(binding, NULL);
	/* Whatever its host driver left on: no DMA until confined. */
	if (!ret)
		pci_clear_master(d->pdev);
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): cannot bind it (%d)", desc->name,
			 d->addr, ret);
		vanity_set_override(d->pdev, "");
		if (device_attach(&d->pdev->dev) < 0)
			pci_warn(d->pdev, "vanity: not given back\n");
		return ret;
	}
	d->bound = true;
	if (!d->group) {
		d->group = iommu_group_get(&d->pdev->dev);
		facts_of(d, &f);
		ret = vanity_pci_passable(&f, why, sizeof(why));
		if (ret)
			goto refuse;
	}
	if (f.isolated_msi != VANITY_TRI_YES) {
		ret = -EPERM;
		snprintf(why, sizeof(why), "its interrupts are not isolated (no interrupt remapping)");
		goto refuse;
	}
	ret = pci_enable_device_mem(d->pdev);
	if (!ret) {
		ret = pci_request_regions(d->pdev, DRV_NAME);
		if (ret)
			pci_disable_device(d->pdev);
	}
	if (ret) {
		snprintf(msg, VANITY_MSG_LEN, "device '%s' (%s): cannot enable it (%d)",
			 desc->name, d->addr, ret);
		return ret;
	}
	d->enabled = true;
	pci_clear_master(d->pdev);
	if (read_bars(d)) {
		ret = -EINVAL;
		snprintf(why, sizeof(why), "its MSI-X capability names a BAR it cannot have");
		goto refuse;
	}
	ret = vanity_iommu_confine(sys, d, msg);
	if (ret)
		return ret;
	/* Its MSIs go through our domain: vectors only once it is attached. */
	return vanity_irqs_setup(d, msg);

refuse:
	/* Names are 31 bytes, the address 12: the reason keeps 120. */
	snprintf(msg, VANITY_MSG_LEN, "device '%s' (%s): %.120s", desc->name,
		 d->addr, why);
	return ret;
}

int vanity_devices_take(struct vanity_system *sys, char *msg)
{
	unsigned int i, n = vanity_image_device_count(sys->image);
	struct vanity_pdev *d;
	int ret;

	if (!n)
		return 0;
	sys->devices = kcalloc(n, sizeof(*sys->devices), GFP_KERNEL);
	if (!sys->devices)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		d = &sys->devices[i];
		sys->ndevices = i + 1;
		d->index = i;
		d->desc = vanity_image_device(sys->image, i);
		d->owner = &sys->shards[d->desc->shard];
		init_rwsem(&d->bar_lock);
		vanity_irqs_init(d);
		snprintf(d->addr, sizeof(d->addr), "%04x:%02x:%02x.%x",
			 d->desc->pci_domain, d->desc->pci_bus,
			 PCI_SLOT(d->desc->pci_devfn), PCI_FUNC(d->desc->pci_devfn));
		d->nwin = vanity_dma_windows(sys->image, i, NULL, 0);
		if (d->nwin) {
			d->win = kcalloc(d->nwin, sizeof(*d->win), GFP_KERNEL);
			if (!d->win)
				return -ENOMEM;
			vanity_dma_windows(sys->image, i, d->win, d->nwin);
		}
		ret = take_one(sys, d, msg);
		if (ret)
			return ret;
		pci_info(d->pdev, "vanity: device '%s' passed to shard '%s'%s%s\n",
			 d->desc->name, d->owner->desc->name,
			 d->host_driver[0] ? ", taken from " : "", d->host_driver);
	}
	return 0;
}

void vanity_devices_release(struct vanity_system *sys)
{
	unsigned int i;

	for (i = 0; sys->devices && i < sys->ndevices; i++)
		release_one(&sys->devices[i]);
}

void vanity_devices_attach(struct vanity_system *sys, struct vanity_shard *s)
{
	unsigned int i;

	for (i = 0; sys->devices && i < sys->ndevices; i++) {
		struct vanity_pdev *d = &sys->devices[i];

		if (d->owner == s && d->enabled && !d->master) {
			vanity_irqs_clear(d);
			pci_set_master(d->pdev);
			d->master = true;
		}
	}
}

void vanity_devices_detach(struct vanity_system *sys, struct vanity_shard *s)
{
	unsigned int i;
	int ret;

	for (i = 0; sys->devices && i < sys->ndevices; i++) {
		struct vanity_pdev *d = &sys->devices[i];

		if (d->owner != s || !d->master)
			continue;
		/* The next attach finds a quiet device, reset if it can be. */
		pci_clear_master(d->pdev);
		d->master = false;
		ret = pci_reset_function(d->pdev);
		if (ret && ret != -ENOTTY)
			pci_warn(d->pdev, "vanity: reset failed (%d)\n", ret);
	}
}

static struct vanity_pdev *find(struct vanity_system *sys, u32 flags,
				const char *name, u32 index)
{
	unsigned int i;

	if (flags & VANITY_DEVICE_F_INDEX)
		return index < sys->ndevices ? &sys->devices[index] : NULL;
	for (i = 0; i < sys->ndevices; i++)
		if (!strncmp(sys->devices[i].desc->name, name, VANITY_NAME_MAX))
			return &sys->devices[i];
	return NULL;
}

int vanity_device_info_fill(struct vanity_system *sys, struct vanity_shard *s,
			    struct vanity_device_info *info)
{
	const struct vanity_dma_window *w;
	struct vanity_pdev *d;
	struct pci_dev *pdev;
	int i;

	if (info->flags & ~(VANITY_DEVICE_F_INDEX | VANITY_DEVICE_F_WINDOW))
		return -EINVAL;
	if (!(info->flags & VANITY_DEVICE_F_INDEX) &&
	    !memchr(info->name, '\0', sizeof(info->name)))
		return -EINVAL;
	d = find(sys, info->flags, info->name, info->index);
	if (!d || !d->pdev)
		return -ENOENT;
	if (d->owner != s)
		return -EACCES;
	pdev = d->pdev;
	if (info->flags & VANITY_DEVICE_F_WINDOW) {
		/* Where UP placed it, past the IOMMU's reserved ranges. */
		w = vanity_dma_find(d->win, d->nmapped, info->win_kind,
				    info->win_index);
		if (!w)
			return -ENOENT;
		info->win_iova = w->iova;
		info->win_size = w->size;
	}
	memcpy(info->name, d->desc->name, sizeof(info->name));
	info->index = d->index;
	info->vendor = pdev->vendor;
	info->device = pdev->device;
	info->subsystem_vendor = pdev->subsystem_vendor;
	info->subsystem_device = pdev->subsystem_device;
	info->class = pdev->class;
	info->revision = pdev->revision;
	info->pci_domain = d->desc->pci_domain;
	info->pci_bus = d->desc->pci_bus;
	info->pci_devfn = d->desc->pci_devfn;
	info->msi_vectors = pdev->msi_cap ? pci_msi_vec_count(pdev) : 0;
	info->msix_vectors = pdev->msix_cap ? pci_msix_vec_count(pdev) : 0;
	info->irq_vectors = READ_ONCE(d->irqs.nvec);
	for (i = 0; i < VANITY_DEVICE_BARS; i++) {
		struct vanity_device_bar *ub = &info->bars[i];
		const struct vanity_bar *b = &d->bars[i];

		memset(ub, 0, sizeof(*ub));
		ub->size = b->size;
		ub->flags = b->flags;
		ub->hole_offset = b->hole_off;
		ub->hole_size = b->hole_size;
		if (b->flags & VANITY_BAR_F_MAPPABLE)
			ub->mmap_offset = VANITY_MMAP_BAR((u64)d->index, i);
	}
	return 0;
}

static vm_fault_t bar_fault(struct vm_fault *vmf)
{
	struct vanity_bar *b = vmf->vma->vm_private_data;
	struct vanity_pdev *d = b->dev;
	/* From the BAR's own offset: a vma cannot be split (below). */
	u64 base = VANITY_MMAP_BAR((u64)d->index, b->index) >> PAGE_SHIFT;
	u64 off = (u64)(vmf->pgoff - base) << PAGE_SHIFT;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&d->bar_lock);
	if (!d->bar_revoked && (b->flags & VANITY_BAR_F_MAPPABLE) &&
	    vmf->pgoff >= base && off < b->size &&
	    !(b->hole_size && off >= b->hole_off &&
	      off < b->hole_off + b->hole_size))
		ret = vmf_insert_pfn(vmf->vma, vmf->address,
				     (b->start + off) >> PAGE_SHIFT);
	up_read(&d->bar_lock);
	return ret;
}

/* Whole BARs only: no munmap, mprotect or mremap of a part. */
static int bar_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct bar_vm_ops = {
	.fault = bar_fault,
	.may_split = bar_may_split,
};

int vanity_device_mmap(struct vanity_system *sys, struct vanity_shard *s,
		       u32 idx, struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;
	unsigned int dev = idx >> 3, bar = idx & 7;
	struct vanity_pdev *d;

	if (dev >= sys->ndevices || !sys->devices[dev].pdev)
		return -ENOENT;
	d = &sys->devices[dev];
	if (d->owner != s)
		return -EACCES;
	if (d->gone)
		return -ENODEV;
	if (bar >= VANITY_DEVICE_BARS ||
	    !(d->bars[bar].flags & VANITY_BAR_F_MAPPABLE))
		return -ENXIO;
	if (len != d->bars[bar].size)
		return -EINVAL;
	vma->vm_page_prot = pgprot_decrypted(pgprot_noncached(vma->vm_page_prot));
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTCOPY | VM_DONTEXPAND |
		     VM_DONTDUMP);
	vma->vm_private_data = &d->bars[bar];
	vma->vm_ops = &bar_vm_ops;
	/* One address_space for every open of /dev/vanity, for revoke_one. */
	down_write(&d->bar_lock);
	d->mapping = vma->vm_file->f_mapping;
	up_write(&d->bar_lock);
	return 0;
}
