// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl devices on the test VM's real PCI bus: one line per function
 * the kernel lists, each group as the kernel has it, the VM's edu passable
 * wherever the VM has an IOMMU, bridges never, nothing without an IOMMU;
 * JSON with one object per function; its refusals.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define CTL "tools/vanityctl"
#define DEVICES "/sys/bus/pci/devices"
#define EDU_ID "1234:11e8"

/* The listing's line for @addr (a pointer into @out), or NULL. */
static char *line_of(char *out, const char *addr)
{
	char *p = out;

	while (p && *p) {
		if (!strncmp(p, addr, strlen(addr)))
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Column @col (0-based, blank-separated) of @line into @buf. */
static void column(const char *line, unsigned int col, char *buf, size_t len)
{
	unsigned int c = 0;
	size_t n;

	while (c < col) {
		line += strcspn(line, " \n");
		line += strspn(line, " ");
		c++;
	}
	n = strcspn(line, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
}

TEST(every_function_is_listed_with_the_kernels_group)
{
	char out[32768], path[300], target[300], group[32], want[32];
	char cls[16], verdict[16];
	unsigned int listed = 0, bridges = 0;
	struct dirent *de;
	ssize_t n;
	char *l;
	DIR *d;

	ASSERT_EQ(0, vt_sh(CTL " devices", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, strncmp(out, "ADDRESS", 7)) TH_LOG("%s", out);
	d = opendir(DEVICES);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		l = line_of(out, de->d_name);
		ASSERT_NE(NULL, l) TH_LOG("%s not listed:\n%s", de->d_name, out);
		listed++;
		snprintf(path, sizeof(path), DEVICES "/%s/iommu_group", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			snprintf(want, sizeof(want), "%s", strrchr(target, '/') + 1);
		} else {
			snprintf(want, sizeof(want), "-");
		}
		column(l, 4, group, sizeof(group));
		EXPECT_STREQ(want, group) TH_LOG("%.200s", l);
		/* Bridges (class 06) never pass, wherever they are. */
		column(l, 2, cls, sizeof(cls));
		if (!strncmp(cls, "06", 2)) {
			bridges++;
			column(l, 5, verdict, sizeof(verdict));
			EXPECT_STREQ("no:", verdict) TH_LOG("%.200s", l);
			EXPECT_NE(NULL, strstr(l, "no: it is a bridge")) TH_LOG("%.200s", l);
		}
	}
	closedir(d);
	ASSERT_LT(0, listed) TH_LOG("no PCI function in the VM");
	/* Every VM's PCIe has a host bridge. */
	EXPECT_LT(0, bridges) TH_LOG("%s", out);
}

TEST(edu_passes_where_an_iommu_confines_it)
{
	bool iommu = vt_dir_entries("/sys/class/iommu") > 0;
	char out[32768], *l, *eol;
	unsigned int endpoints = 0, no_group = 0;

	ASSERT_EQ(0, vt_sh(CTL " devices", out, sizeof(out))) TH_LOG("%s", out);
	l = strstr(out, EDU_ID);
	if (iommu) {
		/* tools/vm/run.sh gives every IOMMU guest an edu. */
		ASSERT_NE(NULL, l) TH_LOG("no edu in:\n%s", out);
		eol = strchr(l, '\n');
		if (eol)
			*eol = '\0';
		EXPECT_NE(NULL, strstr(l, "  yes")) TH_LOG("%s", l);
		/* As root the MSI capability is read; remapping is the module's. */
		EXPECT_NE(NULL, strstr(l, "interrupt remapping not checked until up"))
			TH_LOG("%s", l);
		EXPECT_EQ(NULL, strstr(l, "its MSI")) TH_LOG("%s", l);
		return;
	}
	/* No IOMMU: no endpoint may pass, and each says why. */
	for (l = strchr(out, '\n'); l && l[1]; l = eol) {
		l++;
		eol = strchr(l, '\n');
		if (eol)
			*eol = '\0';
		EXPECT_EQ(NULL, strstr(l, "  yes")) TH_LOG("%s", l);
		if (!strstr(l, "no: it is a bridge")) {
			endpoints++;
			no_group += !!strstr(l, "no: it has no IOMMU group");
		}
		if (eol)
			*eol = '\n';
	}
	EXPECT_EQ(endpoints, no_group) TH_LOG("%s", out);
}

TEST(json_has_one_object_per_function)
{
	char out[65536], *p;
	unsigned int objs = 0;

	ASSERT_EQ(0, vt_sh(CTL " devices -j", out, sizeof(out))) TH_LOG("%.300s", out);
	ASSERT_EQ('[', out[0]);
	for (p = out; (p = strstr(p, "{\"address\":\"")); p++)
		objs++;
	EXPECT_EQ(vt_dir_entries(DEVICES), objs) TH_LOG("%.500s", out);
	EXPECT_NE(NULL, strstr(out, "\"passable\":")) TH_LOG("%.300s", out);
}

TEST(refusals)
{
	char out[4096];

	EXPECT_EQ(1, vt_sh(CTL " devices --bogus", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "usage: vanityctl devices")) TH_LOG("%s", out);
	EXPECT_EQ(1, vt_sh(CTL " devices extra", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "unexpected argument 'extra'")) TH_LOG("%s", out);
	EXPECT_EQ(0, vt_sh(CTL " devices --sysfs /nonexistent", out, sizeof(out)));
	EXPECT_STREQ("no PCI functions (/nonexistent/bus/pci/devices)\n", out);
}

TEST_HARNESS_MAIN
