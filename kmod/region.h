/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Regions: zeroed page arrays mapped into shards on demand, revocable so
 * that a forced DOWN turns every later access into SIGBUS.
 */
#ifndef VANITY_REGION_H
#define VANITY_REGION_H

#include <linux/kref.h>
#include <linux/rwsem.h>
#include <linux/mm_types.h>

struct vanity_region {
	struct kref ref;		/* system + one per vma */
	struct rw_semaphore lock;	/* faults read, revoke writes */
	bool revoked;
	u64 size;			/* bytes, page multiple */
	u64 offset;			/* mmap offset (UAPI) of page 0 */
	unsigned long npages;
	struct page **pages;
};

struct vanity_region *vanity_region_alloc(u64 size, u64 offset);
/* Revoke: later faults SIGBUS. The caller then zaps existing PTEs. */
void vanity_region_revoke(struct vanity_region *r);
/* Free the pages now (after revoke + zap) and drop the system's ref. */
void vanity_region_retire(struct vanity_region *r);
void vanity_region_put(struct vanity_region *r);
/* Copy @len bytes at @off of page 0 unless revoked: 0 or -ENODEV. */
int vanity_region_peek(struct vanity_region *r, unsigned int off, void *buf,
		       size_t len);
/* Install @r in @vma (already checked for size, offset and flags). */
void vanity_region_mmap(struct vanity_region *r, struct vm_area_struct *vma);

#endif
