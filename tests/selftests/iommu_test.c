// SPDX-License-Identifier: GPL-2.0
/*
 * The test VM's IOMMU, as device passthrough will rely on it: DMA domains
 * invalidate strictly, so a revoked mapping stops DMA at once.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>

#include "kselftest_harness.h"
#include "common.h"

#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

/*
 * Every IOMMU group's default domain is "DMA": lazy mode would make them
 * "DMA-FQ" (a flush queue that unmaps late). "identity" would be no
 * translation at all.
 */
TEST(dma_domains_invalidate_strictly)
{
	char path[300], type[32];
	unsigned int groups = 0;
	struct dirent *de;
	DIR *d;

	d = opendir("/sys/kernel/iommu_groups");
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type",
			 de->d_name);
		f = fopen(path, "r");
		ASSERT_NE(NULL, f) TH_LOG("%s", path);
		ASSERT_NE(NULL, fgets(type, sizeof(type), f));
		fclose(f);
		type[strcspn(type, "\n")] = '\0';
		EXPECT_STREQ("DMA", type) TH_LOG("iommu group %s", de->d_name);
		groups++;
	}
	closedir(d);
	if (!groups)
		SKIP(return, "no IOMMU groups: this VM has no IOMMU (VM_PCI=0)");
}

/* The kernel says so too, if its boot line is still in the log. */
TEST(kernel_log_says_strict_mode)
{
	const char *key = "TLB invalidation policy: ";
	char *log, *line;
	int size, len;

	size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	ASSERT_LT(0, size);
	log = calloc(1, size + 1);
	ASSERT_NE(NULL, log);
	len = klogctl(SYSLOG_ACTION_READ_ALL, log, size);
	ASSERT_LE(0, len);
	line = strstr(log, key);
	if (!line) {
		free(log);
		SKIP(return, "the boot's IOMMU line has left the kernel log");
	}
	line += strlen(key);
	EXPECT_EQ(0, strncmp(line, "strict mode", 11))
		TH_LOG("the kernel says: %.40s", line);
	free(log);
}

TEST_HARNESS_MAIN
