/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences between the kernels vanity.ko builds for:
 * Debian 12's 6.1 and Debian 13's 6.12 (tests/build/kernels_test.sh).
 *
 * The module is written against the newest API; each entry here supplies
 * one call on the kernels that lack it, and names the release that brought
 * it, so that it can go when the oldest kernel supported has it. An entry
 * is keyed on what the headers define when the change left something to
 * test: a macro, or a declaration that Kbuild greps the headers for, as
 * DKMS modules do (VANITY_HAVE_* from kmod/Kbuild); otherwise on
 * LINUX_VERSION_CODE, which is only ever tested here. Only what the
 * module uses: pfn_t (vmf_insert_mixed(), kept through 6.12) goes with
 * the first kernel that drops it.
 */
#ifndef VANITY_COMPAT_H
#define VANITY_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/pci.h>

/*
 * 6.3: vma->vm_flags is const, written only through vm_flags_set() and
 * friends (under the mmap write lock, which mmap handlers hold); no macro
 * marks the change.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * 6.11: an unmanaged domain is allocated for a device, and failure is an
 * ERR_PTR; before, for a bus, and NULL. Both return an ERR_PTR here.
 */
static inline struct iommu_domain *vanity_domain_alloc(struct device *dev)
{
#ifdef VANITY_HAVE_IOMMU_PAGING_DOMAIN_ALLOC
	return iommu_paging_domain_alloc(dev);
#else
	struct iommu_domain *d = iommu_domain_alloc(dev->bus);

	return d ?: ERR_PTR(-ENODEV);
#endif
}

/* 6.3: iommu_map() takes the allocation flags of its page tables. */
static inline int vanity_iommu_map(struct iommu_domain *d, unsigned long iova,
				   phys_addr_t pa, size_t size, int prot)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_map(d, iova, pa, size, prot, GFP_KERNEL);
#else
	return iommu_map(d, iova, pa, size, prot);
#endif
}

/*
 * 6.3: whether a group's MSIs are isolated (interrupt remapping, or an
 * ITS) is one call; before, vfio's test: every MSI domain remaps, or the
 * IOMMU of each member says it remaps interrupts.
 */
#ifndef VANITY_HAVE_IOMMU_GROUP_HAS_ISOLATED_MSI
static inline int vanity_dev_intr_remap(struct device *dev, void *unused)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ? 0 : -EPERM;
}
#endif

static inline bool vanity_msi_isolated(struct iommu_group *group)
{
#ifdef VANITY_HAVE_IOMMU_GROUP_HAS_ISOLATED_MSI
	return iommu_group_has_isolated_msi(group);
#else
	return irq_domain_check_msi_remap() ||
	       !iommu_group_for_each_dev(group, NULL, vanity_dev_intr_remap);
#endif
}

/*
 * 6.12.91 (and Debian 13's 6.12): a device's driver override is the
 * driver core's; before, PCI kept its own string. "" clears it.
 */
static inline int vanity_set_override(struct pci_dev *pdev, const char *name)
{
#ifdef VANITY_HAVE_DEVICE_SET_DRIVER_OVERRIDE
	return device_set_driver_override(&pdev->dev, name);
#else
	return driver_set_override(&pdev->dev, &pdev->driver_override, name,
				   strlen(name));
#endif
}

#endif /* VANITY_COMPAT_H */
