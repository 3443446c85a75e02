// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl's PCI scan over a made-up sysfs: IDs, class, driver, IOMMU
 * group with its members and domain type, the config space's header type
 * and MSI/MSI-X capabilities (and what stays unknown on a short read),
 * and the order of the listing; then the verdicts the devices command
 * prints from those facts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "pci_sysfs.h"

static char *root;

static void mkdirs(const char *fmt, const char *a)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), fmt, root, a);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void put(const char *addr, const char *name, const void *data,
		size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", root, addr, name);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/*
 * A config space of @len bytes: header type @ht, and a capability list
 * 0x40 (power management) -> 0x50 (@cap) when @cap is not 0.
 */
static void config(const char *addr, unsigned char ht, unsigned char cap,
		   size_t len)
{
	unsigned char cfg[256] = { 0 };

	cfg[0x0e] = ht;
	if (cap) {
		cfg[0x06] = 0x10;
		cfg[0x34] = 0x41;	/* low bits are reserved: ignored */
		cfg[0x40] = 0x01;
		cfg[0x41] = 0x50;
		cfg[0x50] = cap;
		cfg[0x51] = 0x00;
	}
	put(addr, "config", cfg, len);
}

/* A function: its files, its driver (or none) and its group (or none). */
static void fn(const char *addr, const char *ids, const char *class,
	       const char *driver, int group)
{
	char path[PATH_MAX], target[PATH_MAX];
	char v[8], d[8];

	mkdirs("%s/bus/pci/devices/%s", addr);
	snprintf(v, sizeof(v), "0x%.4s\n", ids);
	snprintf(d, sizeof(d), "0x%.4s\n", ids + 5);
	put(addr, "vendor", v, strlen(v));
	put(addr, "device", d, strlen(d));
	put(addr, "class", class, strlen(class));
	if (driver) {
		mkdirs("%s/bus/pci/drivers/%s", driver);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", root, addr);
		snprintf(target, sizeof(target), "../../drivers/%s", driver);
		cr_assert_eq(symlink(target, path), 0);
	}
	if (group >= 0) {
		char g[16];

		snprintf(g, sizeof(g), "%d", group);
		mkdirs("%s/kernel/iommu_groups/%s/devices", g);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", root, addr);
		snprintf(target, sizeof(target), "%s/kernel/iommu_groups/%d", root, group);
		cr_assert_eq(symlink(target, path), 0);
		snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices/%s",
			 root, group, addr);
		snprintf(target, sizeof(target), "%s/bus/pci/devices/%s", root, addr);
		cr_assert_eq(symlink(target, path), 0);
	}
}

static void group_type(int group, const char *type)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/type", root, group);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(type, f);
	fclose(f);
}

static void setup(void)
{
	root = scratch_dir();
	cr_assert(root);
}

static void teardown(void)
{
	rm_tree(root);
	free(root);
}

TestSuite(pci_sysfs, .init = setup, .fini = teardown);

static const struct ctl_pci_fn *find(const struct ctl_pci_fn *v, size_t n,
				     const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].addr, addr))
			return &v[i];
	cr_assert_fail("%s not listed", addr);
	return NULL;
}

Test(pci_sysfs, facts_come_from_the_files)
{
	const struct ctl_pci_fn *f;
	struct ctl_pci_fn *v;
	size_t n;

	/* The test VM's q35 in miniature. */
	fn("0000:00:04.0", "1234:11e8", "0x00ff00\n", NULL, 3);
	config("0000:00:04.0", 0x00, 0x05, 256);
	group_type(3, "DMA\n");
	fn("0000:00:1f.0", "8086:2918", "0x060100\n", "lpc_ich", 7);
	config("0000:00:1f.0", 0x80, 0, 256);
	fn("0000:00:1f.3", "8086:2930", "0x0c0500\n", "i801_smbus", 7);
	config("0000:00:1f.3", 0x00, 0x11, 256);
	fn("0000:00:1f.2", "8086:2922", "0x010601\n", "ahci", 7);
	config("0000:00:1f.2", 0x00, 0x05, 256);
	group_type(7, "DMA-FQ\n");
	fn("0000:00:02.0", "8086:10d3", "0x020000\n", "e1000e", 4);
	config("0000:00:02.0", 0x00, 0x11, 256);
	group_type(4, "identity\n");
	/* No IOMMU group; and not a function's name at all. */
	fn("0001:00:00.0", "1b36:0008", "0x060000\n", NULL, -1);
	mkdirs("%s/bus/pci/devices/%s", "not-a-function");

	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(n, 6);
	/* Address order, whatever the directory's. */
	cr_assert_str_eq(v[0].addr, "0000:00:02.0");
	cr_assert_str_eq(v[1].addr, "0000:00:04.0");
	cr_assert_str_eq(v[5].addr, "0001:00:00.0");

	f = find(v, n, "0000:00:04.0");
	cr_assert_eq(f->vendor, 0x1234);
	cr_assert_eq(f->device, 0x11e8);
	cr_assert_eq(f->facts.class, 0x00ff00);
	cr_assert_str_empty(f->driver);
	cr_assert_eq(f->facts.group, 3);
	cr_assert_eq(f->facts.group_others, 0);
	cr_assert_eq(f->facts.dma, VANITY_PCI_DMA_TRANSLATED);
	cr_assert_eq(f->facts.msi, VANITY_TRI_YES);
	cr_assert_eq(f->facts.header_type, 0);
	cr_assert_eq(f->facts.isolated_msi, VANITY_TRI_UNKNOWN);
	cr_assert_eq(f->facts.addr.devfn, 4 << 3);
	cr_assert_eq(vanity_pci_passable(&f->facts, NULL, 0), 0);

	f = find(v, n, "0000:00:1f.3");
	cr_assert_str_eq(f->driver, "i801_smbus");
	cr_assert_eq(f->facts.group, 7);
	cr_assert_eq(f->facts.dma, VANITY_PCI_DMA_TRANSLATED);
	cr_assert_eq(f->facts.group_others, 2);
	cr_assert_str_eq(f->others[0], "0000:00:1f.0");
	cr_assert_str_eq(f->others[1], "0000:00:1f.2");
	cr_assert_eq(f->facts.msi, VANITY_TRI_YES);
	cr_assert_eq(vanity_pci_passable(&f->facts, NULL, 0), -EBUSY);

	f = find(v, n, "0000:00:1f.0");
	cr_assert_eq(f->facts.header_type, 0);	/* multifunction bit dropped */
	cr_assert_eq(f->facts.msi, VANITY_TRI_NO);
	cr_assert_eq(f->facts.group_others, 2);
	cr_assert_str_eq(f->others[0], "0000:00:1f.2");
	cr_assert_str_eq(f->others[1], "0000:00:1f.3");

	f = find(v, n, "0000:00:02.0");
	cr_assert_eq(f->facts.dma, VANITY_PCI_DMA_IDENTITY);
	cr_assert_eq(vanity_pci_passable(&f->facts, NULL, 0), -EPERM);

	f = find(v, n, "0001:00:00.0");
	cr_assert_eq(f->facts.group, -1);
	cr_assert_eq(f->facts.dma, VANITY_PCI_DMA_NONE);
	cr_assert_eq(f->facts.addr.domain, 1);
	cr_assert_eq(vanity_pci_passable(&f->facts, NULL, 0), -EINVAL);
	free(v);
}

Test(pci_sysfs, a_short_config_space_leaves_msi_unknown)
{
	struct ctl_pci_fn *v;
	size_t n;

	/* What an unprivileged reader gets: the first 64 bytes. */
	fn("0000:00:04.0", "1234:11e8", "0x00ff00\n", NULL, 3);
	config("0000:00:04.0", 0x01, 0x05, 64);
	group_type(3, "DMA\n");
	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(v[0].facts.msi, VANITY_TRI_UNKNOWN);
	cr_assert_eq(v[0].facts.header_type, 1);
	free(v);
}

Test(pci_sysfs, unreadable_or_odd_files_stay_unknown)
{
	struct ctl_pci_fn *v;
	size_t n;

	/* No config, no type, a class that is no number, a looping list. */
	fn("0000:00:05.0", "zzzz:11e8", "blue\n", NULL, 9);
	fn("0000:00:06.0", "1234:11e8", "0x00ff00\n", NULL, 10);
	group_type(10, "DMA\n");
	{
		unsigned char cfg[256] = { 0 };

		cfg[0x06] = 0x10;
		cfg[0x34] = 0x40;
		cfg[0x40] = 0x01;
		cfg[0x41] = 0x40;	/* points at itself */
		put("0000:00:06.0", "config", cfg, sizeof(cfg));
	}
	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0].vendor, 0);
	cr_assert_eq(v[0].device, 0x11e8);
	cr_assert_eq(v[0].facts.class, 0);
	cr_assert_eq(v[0].facts.msi, VANITY_TRI_UNKNOWN);
	cr_assert_eq(v[0].facts.group, 9);
	cr_assert_eq(v[0].facts.dma, VANITY_PCI_DMA_UNKNOWN);
	/* The loop ends, with no MSI found. */
	cr_assert_eq(v[1].facts.msi, VANITY_TRI_NO);
	cr_assert_eq(vanity_pci_passable(&v[1].facts, NULL, 0), -EOPNOTSUPP);
	free(v);
}

Test(pci_sysfs, an_unbound_function_without_a_group_is_unknown_with_an_iommu)
{
	struct ctl_pci_fn *v;
	size_t n;

	fn("0000:00:01.0", "1234:11e8", "0x00ff00\n", NULL, -1);
	config("0000:00:01.0", 0x00, 0x05, 256);
	fn("0000:00:02.0", "8086:10d3", "0x020000\n", "e1000e", -1);
	config("0000:00:02.0", 0x00, 0x11, 256);
	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0].facts.dma, VANITY_PCI_DMA_NONE);
	cr_assert_eq(v[1].facts.dma, VANITY_PCI_DMA_NONE);
	free(v);
	/* An SMMU in the machine: the unbound one's group is not formed yet. */
	mkdirs("%s/class/iommu/%s", "smmu3.0x0000000009050000");
	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(v[0].facts.dma, VANITY_PCI_DMA_UNKNOWN);
	cr_assert_eq(v[0].facts.group, -1);
	cr_assert_eq(vanity_pci_passable(&v[0].facts, NULL, 0), 0);
	cr_assert_eq(v[1].facts.dma, VANITY_PCI_DMA_NONE);
	free(v);
}

Test(pci_sysfs, no_pci_bus_is_enoent_and_an_empty_list)
{
	struct ctl_pci_fn *v = (void *)1;
	size_t n = 99;

	cr_assert_eq(ctl_pci_scan(root, &v, &n), -ENOENT);
	cr_assert_eq(n, 0);
	cr_assert_null(v);
	mkdirs("%s/bus/pci/%s", "devices");
	cr_assert_eq(ctl_pci_scan(root, &v, &n), 0);
	cr_assert_eq(n, 0);
}
