/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Passed PCI functions: taken from their host driver at UP and given back
 * at DOWN, bus mastering only while the owner is attached, BARs mapped
 * into the owner through its attach fd, DMA confined by kmod/iommu.c.
 */
#ifndef VANITY_DEVICE_H
#define VANITY_DEVICE_H

#include <linux/rwsem.h>
#include <linux/vanity.h>

#include "dma.h"
#include "irq.h"

struct pci_dev;
struct iommu_group;
struct iommu_domain;
struct vm_area_struct;
struct vanity_system;
struct vanity_shard;

struct vanity_pdev;

struct vanity_bar {
	struct vanity_pdev *dev;	/* the device, for the fault handler */
	unsigned int index;
	phys_addr_t start;		/* 0: not mappable */
	u64 size;
	u64 hole_off, hole_size;	/* MSI-X table and PBA pages */
	u32 flags;			/* VANITY_BAR_F_* */
};

struct vanity_pdev {
	unsigned int index;
	const struct vanity_image_device *desc;	/* in sys->image */
	struct vanity_shard *owner;
	struct pci_dev *pdev;		/* reference, until given back */
	struct iommu_group *group;	/* reference, until given back */
	struct iommu_domain *domain;	/* ours, attached to the group */
	char addr[16];			/* dddd:bb:dd.f, for messages */
	char host_driver[32];		/* "" when it had none */
	unsigned int nwin, nmapped;	/* windows, and how many are mapped */
	struct vanity_dma_window *win;
	bool bound, claimed, attached, enabled, master;
	bool gone;			/* removed under us (hot removal) */
	struct rw_semaphore bar_lock;	/* faults read, revoke writes */
	bool bar_revoked;
	struct address_space *mapping;	/* where its BARs are mapped, once */
	struct vanity_bar bars[VANITY_DEVICE_BARS];
	struct vanity_irqs irqs;
};

int vanity_device_init(void);
void vanity_device_exit(void);

/*
 * Take every device of @sys's image, all or nothing: 0, or -errno with
 * @msg naming the device and the reason (what was taken is given back).
 */
int vanity_devices_take(struct vanity_system *sys, char *msg);
/* Revoke the BARs: later faults SIGBUS. Before zapping the mappings. */
void vanity_devices_revoke(struct vanity_system *sys);
/*
 * Give every device back, each quiet and reset, then its IOMMU mappings
 * removed and flushed, before anything it could DMA into is freed.
 * Idempotent; BAR mappings must have been zapped (or never made).
 */
void vanity_devices_release(struct vanity_system *sys);
/* The owner attached (bus mastering on) or detached (off, and reset). */
void vanity_devices_attach(struct vanity_system *sys, struct vanity_shard *s);
void vanity_devices_detach(struct vanity_system *sys, struct vanity_shard *s);

/* VANITY_IOC_DEVICE for @s; @info is the caller's, size-checked. */
int vanity_device_info_fill(struct vanity_system *sys, struct vanity_shard *s,
			    struct vanity_device_info *info);
/* mmap of BAR @idx & 7 of device @idx >> 3, for @s; checked here. */
int vanity_device_mmap(struct vanity_system *sys, struct vanity_shard *s,
		       u32 idx, struct vm_area_struct *vma);

#endif
