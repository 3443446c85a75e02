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

/* The kernel's own line: "DMA domain TLB invalidation policy: X mode". */
static void assert_log_says_strict(struct __test_metadata *_metadata)
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
	/* The runner boots with log_buf_len=8M: the boot's lines stay. */
	ASSERT_NE(NULL, line) TH_LOG("no IOMMU policy line in the kernel log");
	line += strlen(key);
	EXPECT_EQ(0, strncmp(line, "strict mode", 11))
		TH_LOG("the kernel says: %.40s", line);
	free(log);
}

/*
 * Strict invalidation: the kernel says so, and every IOMMU group's default
 * domain is "DMA", where lazy mode would make it "DMA-FQ" (a flush queue
 * that unmaps late; "identity" would be no translation at all). There may
 * be no group yet: arm64's SMMUv3 makes a device's group when a driver
 * binds it.
 */
TEST(dma_domains_invalidate_strictly)
{
	char path[300], type[32];
	struct dirent *de;
	DIR *d;

	if (!vt_dir_entries("/sys/class/iommu"))
		SKIP(return, "no IOMMU in this VM (VM_PCI=0)");
	assert_log_says_strict(_metadata);

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
	}
	closedir(d);
}

TEST_HARNESS_MAIN
