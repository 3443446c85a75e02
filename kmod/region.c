// SPDX-License-Identifier: GPL-2.0
/*
 * Region memory and its mappings. Pages are inserted at fault time under
 * the region's read lock, so a revoke (write lock) followed by a zap leaves
 * no PTE behind and no window in which a fault could map a freed page.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/pfn_t.h>
#include <linux/sched.h>

#include "compat.h"
#include "region.h"

static void region_free_pages(struct vanity_region *r)
{
	unsigned long i;

	if (!r->pages)
		return;
	for (i = 0; i < r->npages; i++)
		if (r->pages[i])
			put_page(r->pages[i]);
	kvfree(r->pages);
	r->pages = NULL;
}

static void region_release(struct kref *ref)
{
	struct vanity_region *r = container_of(ref, struct vanity_region, ref);

	region_free_pages(r);
	kfree(r);
}

struct vanity_region *vanity_region_alloc(u64 size, u64 offset)
{
	/* No OOM killer and no allocation splat for an oversized image. */
	const gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN |
			  __GFP_RETRY_MAYFAIL;
	struct vanity_region *r;
	unsigned long i;

	if (!size || size & ~PAGE_MASK)
		return ERR_PTR(-EINVAL);
	if (size >> PAGE_SHIFT > totalram_pages())
		return ERR_PTR(-ENOMEM);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	kref_init(&r->ref);
	init_rwsem(&r->lock);
	r->size = size;
	r->offset = offset;
	r->npages = size >> PAGE_SHIFT;
	r->pages = kvcalloc(r->npages, sizeof(*r->pages), GFP_KERNEL);
	if (!r->pages)
		goto err;
	for (i = 0; i < r->npages; i++) {
		r->pages[i] = alloc_page(gfp);
		if (!r->pages[i])
			goto err;
		if (fatal_signal_pending(current))
			goto err;
		cond_resched();
	}
	return r;
err:
	region_release(&r->ref);
	return ERR_PTR(-ENOMEM);
}

void vanity_region_revoke(struct vanity_region *r)
{
	down_write(&r->lock);
	r->revoked = true;
	up_write(&r->lock);
}

void vanity_region_retire(struct vanity_region *r)
{
	down_write(&r->lock);
	r->revoked = true;
	region_free_pages(r);
	up_write(&r->lock);
	vanity_region_put(r);
}

int vanity_region_peek(struct vanity_region *r, unsigned int off, void *buf,
		       size_t len)
{
	int ret = -ENODEV;

	if (off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	down_read(&r->lock);
	if (!r->revoked && r->pages) {
		memcpy(buf, (u8 *)page_address(r->pages[0]) + off, len);
		ret = 0;
	}
	up_read(&r->lock);
	return ret;
}

void vanity_region_put(struct vanity_region *r)
{
	if (r)
		kref_put(&r->ref, region_release);
}

static void region_vm_open(struct vm_area_struct *vma)
{
	struct vanity_region *r = vma->vm_private_data;

	kref_get(&r->ref);
}

static void region_vm_close(struct vm_area_struct *vma)
{
	vanity_region_put(vma->vm_private_data);
}

static vm_fault_t region_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vanity_region *r = vma->vm_private_data;
	unsigned long idx = vmf->pgoff - (r->offset >> PAGE_SHIFT);
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&r->lock);
	if (!r->revoked && r->pages && idx < r->npages)
		ret = vmf_insert_mixed(vma, vmf->address,
				       page_to_pfn_t(r->pages[idx]));
	up_read(&r->lock);
	return ret;
}

static const struct vm_operations_struct region_vm_ops = {
	.open = region_vm_open,
	.close = region_vm_close,
	.fault = region_vm_fault,
};

void vanity_region_mmap(struct vanity_region *r, struct vm_area_struct *vma)
{
	/* Not inherited across fork, never grown, not in core dumps. */
	vm_flags_set(vma, VM_MIXEDMAP | VM_DONTCOPY | VM_DONTEXPAND |
			  VM_DONTDUMP);
	vma->vm_ops = &region_vm_ops;
	vma->vm_private_data = r;
	kref_get(&r->ref);
}
