// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs vanity/: the system, its shards and its channels as text, and
 * "state: down" when nothing is up.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

static int slurp(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vanity/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

TEST(system_file_says_down)
{
	char buf[4096];

	vt_reset();
	ASSERT_EQ(0, slurp("system", buf, sizeof(buf)));
	EXPECT_STREQ("state: down\n", buf);
}

TEST(files_describe_the_system)
{
	struct vanity_imgw w;
	struct vanity *v;
	char buf[8192], want[64];

	vt_reset();
	vt_pair(&w, 8192, 128, 32);
	ASSERT_EQ(0, vt_up(&w, NULL, 0));
	ASSERT_EQ(0, vanity_attach("consumer", &v));

	ASSERT_EQ(0, slurp("system", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "state: up\n"));
	EXPECT_NE(NULL, strstr(buf, "name: selftest\n"));
	EXPECT_NE(NULL, strstr(buf, "shards: 2\n"));
	EXPECT_NE(NULL, strstr(buf, "channels: 2\n"));
	EXPECT_NE(NULL, strstr(buf, "cpus: 2-3\n")) TH_LOG("%s", buf);

	ASSERT_EQ(0, slurp("shards", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "producer"));
	snprintf(want, sizeof(want), "%8d 3\n", getpid());
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("%s", buf);

	ASSERT_EQ(0, slurp("channels", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "data"));
	EXPECT_NE(NULL, strstr(buf, "back"));
	/* 4096 + (8 + 128) * 32 = 8448 bytes, page-rounded per region. */
	EXPECT_NE(NULL, strstr(buf, "      128       32      12288")) TH_LOG("%s", buf);

	vanity_detach(v);
	vt_reset();
}

TEST_HARNESS_MAIN
