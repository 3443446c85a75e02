/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI functions as Vanity names and judges them: the address syntax of
 * manifests and messages, and the one rule deciding whether a function
 * can be passed to a shard. The facts come from the platform: sysfs for
 * vanityctl, the kernel's own structures for the module.
 */
#ifndef VANITY_CORE_PCI_H
#define VANITY_CORE_PCI_H

#include "shim.h"

/* A function's address: domain, bus, device (5 bits) and function (3). */
struct vanity_pci_addr {
	u16 domain;
	u8 bus;
	u8 devfn;		/* device << 3 | function */
};

/* "DDDD:BB:DD.F" and its NUL. */
#define VANITY_PCI_ADDR_LEN	13

/*
 * Parse "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), hexadecimal, either case,
 * no blanks: device below 0x20, function below 8. Returns 0, or -EINVAL
 * with a short lower-case reason in @err (which may be NULL).
 */
int vanity_pci_addr_parse(const char *s, struct vanity_pci_addr *a,
			  char *err, size_t errlen);

/* Write @a as "dddd:bb:dd.f" (sysfs's form) into @buf of VANITY_PCI_ADDR_LEN. */
void vanity_pci_addr_format(const struct vanity_pci_addr *a,
			    char buf[VANITY_PCI_ADDR_LEN]);

/* What translates a function's DMA: its IOMMU group's default domain. */
enum vanity_pci_dma {
	VANITY_PCI_DMA_UNKNOWN,		/* not found out */
	VANITY_PCI_DMA_NONE,		/* no IOMMU group: no IOMMU */
	VANITY_PCI_DMA_IDENTITY,	/* passthrough: DMA reaches all memory */
	VANITY_PCI_DMA_TRANSLATED,	/* DMA, DMA-FQ (or unmanaged): paged */
	VANITY_PCI_DMA_BLOCKED,		/* no DMA at all */
};

/* A yes/no the platform may not be able to tell. */
enum vanity_tri {
	VANITY_TRI_UNKNOWN,
	VANITY_TRI_NO,
	VANITY_TRI_YES,
};

/* Everything the rule looks at, as the platform found it. */
struct vanity_pci_facts {
	struct vanity_pci_addr addr;
	u32 class;			/* class, subclass, prog-if (24 bits) */
	u8 header_type;			/* PCI_HEADER_TYPE's low 7 bits */
	int group;			/* IOMMU group number, -1 for none */
	/*
	 * The other functions in the group, and how many of them go to
	 * the same shard (always 0 outside a manifest's bring-up).
	 */
	unsigned int group_others;
	unsigned int group_others_same_owner;
	enum vanity_pci_dma dma;
	enum vanity_tri msi;		/* has an MSI or MSI-X capability */
	enum vanity_tri isolated_msi;	/* interrupt remapping, or the like */
};

/*
 * Whether a function with @f can be given to a shard: 0 when it can (then
 * @why, if given, names what stayed unknown, or is empty), else a negative
 * errno with the reason in @why. The first failing rule decides, in this
 * order: -EINVAL it is a bridge; -ENODEV no IOMMU translates its DMA;
 * -EPERM its DMA is not confined (identity); -EBUSY its IOMMU group holds
 * functions that would stay behind; -EOPNOTSUPP it has neither MSI nor
 * MSI-X (a shard never gets INTx); -EPERM its interrupts are not isolated
 * (no interrupt remapping). Facts the platform could not find out are not
 * held against the function; the module's bring-up finds every one.
 */
int vanity_pci_passable(const struct vanity_pci_facts *f, char *why,
			size_t whylen);

#endif
