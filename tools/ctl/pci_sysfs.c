// SPDX-License-Identifier: GPL-2.0
/*
 * PCI functions from sysfs: IDs, class, driver, IOMMU group (its members
 * and default domain type), and from the config space the header type
 * and the MSI and MSI-X capabilities. Facts it cannot read stay unknown.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci_sysfs.h"

#define CFG_STATUS		0x06
#define CFG_STATUS_CAP_LIST	0x10
#define CFG_HEADER_TYPE		0x0e
#define CFG_CAP_PTR		0x34
#define CAP_ID_MSI		0x05
#define CAP_ID_MSIX		0x11
#define CFG_STD_SIZE		256	/* the capabilities' space */
#define CAPS_MAX		48	/* (256 - 64) / 4: a list loops past it */

/* @dir/@name's first line, NUL-terminated and without its newline. */
static int read_line(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_hex(const char *dir, const char *name, unsigned int *out)
{
	char buf[32], *end;
	unsigned long v;

	if (read_line(dir, name, buf, sizeof(buf)))
		return -ENOENT;
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno || end == buf || *end || v > 0xffffffffUL)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* The last component of the link @dir/@name, "" when there is none. */
static void link_base(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	buf[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	/* Driver and group names are short; a longer one is cut. */
	n = (ssize_t)strlen(base);
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(buf, base, (size_t)n);
	buf[n] = '\0';
}

/*
 * Header type and MSI/MSI-X from the config space. Unprivileged readers
 * get its first 64 bytes only: the capability list then stays unknown.
 */
static void read_config(const char *dir, struct vanity_pci_facts *f)
{
	unsigned char cfg[CFG_STD_SIZE];
	char path[PATH_MAX];
	unsigned int pos, i;
	ssize_t n;
	int fd;

	f->header_type = 0;
	f->msi = VANITY_TRI_UNKNOWN;
	if (snprintf(path, sizeof(path), "%s/config", dir) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n > CFG_HEADER_TYPE)
		f->header_type = cfg[CFG_HEADER_TYPE] & 0x7f;
	if (n < (ssize_t)sizeof(cfg))
		return;
	f->msi = VANITY_TRI_NO;
	if (!(cfg[CFG_STATUS] & CFG_STATUS_CAP_LIST))
		return;
	/* Dword-aligned pointers into the device-specific part, bounded. */
	pos = cfg[CFG_CAP_PTR] & ~3U;
	for (i = 0; i < CAPS_MAX && pos >= 0x40 && pos + 1 < sizeof(cfg); i++) {
		if (cfg[pos] == CAP_ID_MSI || cfg[pos] == CAP_ID_MSIX) {
			f->msi = VANITY_TRI_YES;
			return;
		}
		pos = cfg[pos + 1] & ~3U;
	}
}

/* The group's default domain, as its "type" file names it. */
static enum vanity_pci_dma group_dma(const char *type)
{
	if (!strcmp(type, "DMA") || !strcmp(type, "DMA-FQ") ||
	    !strcmp(type, "unmanaged"))
		return VANITY_PCI_DMA_TRANSLATED;
	if (!strcmp(type, "identity"))
		return VANITY_PCI_DMA_IDENTITY;
	if (!strcmp(type, "blocked"))
		return VANITY_PCI_DMA_BLOCKED;
	return VANITY_PCI_DMA_UNKNOWN;
}

/* Keep @name among the CTL_PCI_OTHERS_SHOWN first names of @fn, sorted. */
static void keep_first(struct ctl_pci_fn *fn, unsigned int *shown,
		       const char *name)
{
	unsigned int i, j;

	if (strlen(name) >= VANITY_PCI_ADDR_LEN)
		return;
	for (i = 0; i < *shown && strcmp(fn->others[i], name) < 0; i++)
		;
	if (i == CTL_PCI_OTHERS_SHOWN)
		return;
	if (*shown < CTL_PCI_OTHERS_SHOWN)
		(*shown)++;
	for (j = *shown - 1; j > i; j--)
		memcpy(fn->others[j], fn->others[j - 1], VANITY_PCI_ADDR_LEN);
	memcpy(fn->others[i], name, strlen(name) + 1);
}

/* The members of @fn's group other than @fn: counted, the first named. */
static void read_group(const char *dir, struct ctl_pci_fn *fn, bool iommus)
{
	struct vanity_pci_facts *f = &fn->facts;
	char path[PATH_MAX], type[32], gname[32];
	unsigned int shown = 0;
	struct dirent *de;
	char *end;
	long g;
	DIR *d;

	f->group = -1;
	f->dma = VANITY_PCI_DMA_NONE;
	link_base(dir, "iommu_group", gname, sizeof(gname));
	if (!gname[0]) {
		/*
		 * With an IOMMU in the machine, a function no driver has
		 * bound may simply have no group yet: arm64's SMMUv3 (and
		 * any IOMMU set up from the device tree) forms it when a
		 * driver binds, as the module's own will at up.
		 */
		if (iommus && !fn->driver[0])
			f->dma = VANITY_PCI_DMA_UNKNOWN;
		return;
	}
	g = strtol(gname, &end, 10);
	if (*end || g < 0 || g > INT_MAX) {
		f->dma = VANITY_PCI_DMA_UNKNOWN;
		return;
	}
	f->group = (int)g;
	f->dma = VANITY_PCI_DMA_UNKNOWN;
	if (!read_line(dir, "iommu_group/type", type, sizeof(type)))
		f->dma = group_dma(type);
	if (snprintf(path, sizeof(path), "%s/iommu_group/devices", dir) >= (int)sizeof(path))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, fn->addr))
			continue;
		keep_first(fn, &shown, de->d_name);
		f->group_others++;
	}
	closedir(d);
}

static void read_fn(const char *devices, const char *name,
		    struct ctl_pci_fn *fn, bool iommus)
{
	char dir[PATH_MAX];
	unsigned int v;

	memset(fn, 0, sizeof(*fn));
	snprintf(fn->addr, sizeof(fn->addr), "%s", name);
	vanity_pci_addr_parse(name, &fn->facts.addr, NULL, 0);
	/* Unknown to userspace: the module checks it at up. */
	fn->facts.isolated_msi = VANITY_TRI_UNKNOWN;
	if (snprintf(dir, sizeof(dir), "%s/%s", devices, name) >= (int)sizeof(dir)) {
		fn->facts.group = -1;
		fn->facts.dma = VANITY_PCI_DMA_UNKNOWN;
		return;
	}
	if (!read_hex(dir, "vendor", &v))
		fn->vendor = v;
	if (!read_hex(dir, "device", &v))
		fn->device = v;
	if (!read_hex(dir, "class", &v))
		fn->facts.class = v & 0xffffff;
	link_base(dir, "driver", fn->driver, sizeof(fn->driver));
	read_config(dir, &fn->facts);
	read_group(dir, fn, iommus);
}

/* Whether SYSFS/class/iommu lists any IOMMU. */
static bool have_iommus(const char *sysfs)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (snprintf(path, sizeof(path), "%s/class/iommu", sysfs) >= (int)sizeof(path))
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static int fn_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctl_pci_fn *)a)->addr,
		      ((const struct ctl_pci_fn *)b)->addr);
}

int ctl_pci_scan(const char *sysfs, struct ctl_pci_fn **fns, size_t *n)
{
	struct ctl_pci_fn *v = NULL, *nv;
	char devices[PATH_MAX];
	struct vanity_pci_addr a;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	bool iommus;
	DIR *d;

	*fns = NULL;
	*n = 0;
	if (snprintf(devices, sizeof(devices), "%s/bus/pci/devices", sysfs) >=
	    (int)sizeof(devices))
		return -ENAMETOOLONG;
	iommus = have_iommus(sysfs);
	d = opendir(devices);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		/* Only names that are addresses: nothing else lives there. */
		if (strlen(de->d_name) != VANITY_PCI_ADDR_LEN - 1 ||
		    vanity_pci_addr_parse(de->d_name, &a, NULL, 0))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		read_fn(devices, de->d_name, &v[cnt++], iommus);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), fn_cmp);
	*fns = v;
	*n = cnt;
	return 0;
}
