/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences between the kernels vanity.ko builds for:
 * Debian 12's 6.1 and Debian 13's 6.12 (tests/build/kernels_test.sh).
 *
 * The module is written against the newest API; each entry here supplies
 * one call on the kernels that lack it, and names the release that brought
 * it, so that it can go when the oldest kernel supported has it. An entry
 * is keyed on what the headers define when the change left something to
 * test (a macro, a header file); otherwise on LINUX_VERSION_CODE, which is
 * only ever tested here. Only what the module uses: the IOMMU calls (6.3's
 * gfp argument to iommu_map(), 6.11's iommu_paging_domain_alloc()) come
 * with the code that calls them, and pfn_t (vmf_insert_mixed(), kept
 * through 6.12) with the first kernel that drops it.
 */
#ifndef VANITY_COMPAT_H
#define VANITY_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

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

#endif /* VANITY_COMPAT_H */
