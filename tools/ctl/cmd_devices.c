// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl devices: the machine's PCI functions, each with its IDs,
 * class, driver and IOMMU group, and whether it can be passed to a shard
 * (the core's rule, core/pci.h) or why not; as dpdk-devbind.py --status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "pci_sysfs.h"

#define PROG "vanityctl devices"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vanityctl devices [-j] [--sysfs DIR]\n"
		"List the machine's PCI functions: address, vendor:device, class,\n"
		"bound driver, IOMMU group, and whether the function can be passed to a\n"
		"shard, or why not. What userspace cannot see (interrupt remapping; MSI\n"
		"without root) is checked when a system with the device comes up.\n"
		"\n"
		"  -j, --json         a JSON array, one object per function\n"
		"      --sysfs DIR    read DIR instead of /sys\n"
		"  -h, --help         show this help\n");
}

static const char *const dma_names[] = {
	[VANITY_PCI_DMA_UNKNOWN] = "unknown",
	[VANITY_PCI_DMA_NONE] = "none",
	[VANITY_PCI_DMA_IDENTITY] = "identity",
	[VANITY_PCI_DMA_TRANSLATED] = "translated",
	[VANITY_PCI_DMA_BLOCKED] = "blocked",
};

/* The verdict, with the group's other members named when they decide it. */
static int verdict(const struct ctl_pci_fn *fn, char *why, size_t len)
{
	unsigned int i, shown = fn->facts.group_others;
	size_t at;
	int ret;

	ret = vanity_pci_passable(&fn->facts, why, len);
	if (ret != -EBUSY)
		return ret;
	if (shown > CTL_PCI_OTHERS_SHOWN)
		shown = CTL_PCI_OTHERS_SHOWN;
	for (i = 0; i < shown; i++) {
		at = strlen(why);
		snprintf(why + at, len - at, "%s%s", i ? ", " : ": ", fn->others[i]);
	}
	if (shown < fn->facts.group_others) {
		at = strlen(why);
		snprintf(why + at, len - at, ", ...");
	}
	return ret;
}

static void print_text(const struct ctl_pci_fn *fns, size_t n)
{
	char why[320], id[16], group[16];
	size_t i;
	int ret;

	printf("%-12s  %-9s  %-6s  %-12s  %-5s  %s\n", "ADDRESS", "ID", "CLASS",
	       "DRIVER", "GROUP", "PASSABLE");
	for (i = 0; i < n; i++) {
		ret = verdict(&fns[i], why, sizeof(why));
		snprintf(id, sizeof(id), "%04x:%04x", fns[i].vendor & 0xffff,
			 fns[i].device & 0xffff);
		if (fns[i].facts.group >= 0)
			snprintf(group, sizeof(group), "%d", fns[i].facts.group);
		else
			snprintf(group, sizeof(group), "-");
		printf("%-12s  %-9s  %06x  %-12s  %-5s  ", fns[i].addr, id,
		       fns[i].facts.class, fns[i].driver[0] ? fns[i].driver : "-",
		       group);
		if (ret)
			printf("no: %s\n", why);
		else if (why[0])
			printf("yes (%s)\n", why);
		else
			printf("yes\n");
	}
}

static void print_json(const struct ctl_pci_fn *fns, size_t n)
{
	const struct vanity_pci_facts *f;
	unsigned int j, shown;
	char why[320];
	size_t i;
	int ret;

	printf("[");
	for (i = 0; i < n; i++) {
		f = &fns[i].facts;
		ret = vanity_pci_passable(f, why, sizeof(why));
		printf("%s\n  {\"address\":", i ? "," : "");
		vanity_json_string(stdout, fns[i].addr);
		printf(",\"vendor\":\"%04x\",\"device\":\"%04x\",\"class\":\"%06x\",\"driver\":",
		       fns[i].vendor & 0xffff, fns[i].device & 0xffff, f->class);
		if (fns[i].driver[0])
			vanity_json_string(stdout, fns[i].driver);
		else
			printf("null");
		if (f->group >= 0)
			printf(",\"iommu_group\":%d", f->group);
		else
			printf(",\"iommu_group\":null");
		printf(",\"group_others\":%u,\"group_others_first\":[",
		       f->group_others);
		shown = f->group_others < CTL_PCI_OTHERS_SHOWN ?
			f->group_others : CTL_PCI_OTHERS_SHOWN;
		for (j = 0; j < shown; j++) {
			printf("%s", j ? "," : "");
			vanity_json_string(stdout, fns[i].others[j]);
		}
		printf("],\"dma\":\"%s\",\"msi\":%s,\"passable\":%s,\"reason\":",
		       dma_names[f->dma],
		       f->msi == VANITY_TRI_UNKNOWN ? "null" :
		       f->msi == VANITY_TRI_YES ? "true" : "false",
		       ret ? "false" : "true");
		vanity_json_string(stdout, why);
		printf("}");
	}
	printf("%s]\n", n ? "\n" : "");
}

int vanity_cmd_devices(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysfs", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sysfs = "/sys";
	struct ctl_pci_fn *fns;
	bool json = false;
	size_t n;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			sysfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		usage(stderr);
		return 1;
	}
	ret = ctl_pci_scan(sysfs, &fns, &n);
	if (ret && ret != -ENOENT) {
		fprintf(stderr, "%s: %s/bus/pci/devices: %s\n", PROG, sysfs,
			strerror(-ret));
		return 1;
	}
	if (json)
		print_json(fns, n);
	else if (!n)
		printf("no PCI functions (%s/bus/pci/devices)\n", sysfs);
	else
		print_text(fns, n);
	free(fns);
	return 0;
}
