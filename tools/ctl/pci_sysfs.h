/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The machine's PCI functions as sysfs shows them: the facts the core's
 * passability rule (core/pci.h) takes, plus what an operator wants to see
 * next to them (IDs, driver, the group's other members).
 */
#ifndef VANITY_CTL_PCI_SYSFS_H
#define VANITY_CTL_PCI_SYSFS_H

#include <stddef.h>

#include "pci.h"

#define CTL_PCI_DRIVER_MAX	64
/* The group's other members named in a listing; more are only counted. */
#define CTL_PCI_OTHERS_SHOWN	4

struct ctl_pci_fn {
	struct vanity_pci_facts facts;
	char addr[VANITY_PCI_ADDR_LEN];
	unsigned int vendor, device;
	char driver[CTL_PCI_DRIVER_MAX];	/* "" when none is bound */
	char others[CTL_PCI_OTHERS_SHOWN][VANITY_PCI_ADDR_LEN];
};

/*
 * Every function under SYSFS/bus/pci/devices (SYSFS: "/sys", or a copy of
 * its layout for tests), sorted by address, in *@fns (free() it) and *@n.
 * A function whose own files cannot be read is listed with what could be;
 * facts not found out stay unknown. Returns 0, or -errno when the folder
 * cannot be read (-ENOENT: no PCI bus here, *@n is then 0 and *@fns NULL)
 * or memory runs out.
 */
int ctl_pci_scan(const char *sysfs, struct ctl_pci_fn **fns, size_t *n);

#endif
