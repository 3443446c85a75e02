// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl against the real module: build, up, status (text and JSON),
 * down, and the kernel's own refusal printed with exit status 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define CTL "tools/vanityctl"

static const char *good =
	"[system]\nname = clidemo\n\n"
	"[shard producer]\ncpus = 2\nmemory = 64K\nprogram = /bin/true\n\n"
	"[shard consumer]\ncpus = 3\nmemory = 64K\n\n"
	"[channel data]\nfrom = producer\nto = consumer\nslot_size = 64\nslots = 1024\n";

TEST(build_up_status_down)
{
	char out[8192];

	vt_reset();
	vt_write_file("/tmp/cli.ini", good);
	unlink("/tmp/cli.vimg");
	ASSERT_EQ(0, vt_sh(CTL " build /tmp/cli.ini -o /tmp/cli.vimg", out, sizeof(out)))
		TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " up /tmp/cli.vimg", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " status", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "system clidemo: 2 shards, 1 channels")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "producer")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "0 (0%)")) TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " status -j", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "{\"system\":{\"name\":\"clidemo\",\"shards\":[{\"index\":0,\"name\":\"producer\",\"cpus\":[2],\"memory\":65536"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"program\":\"/bin/true\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"from\":\"producer\",\"to\":\"consumer\",\"slot_size\":64,\"slots\":1024"))
		TH_LOG("%s", out);
	EXPECT_EQ(1, vt_sh(CTL " up /tmp/cli.vimg", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "vanityctl: up: system 'clidemo' is already up (Device or resource busy)"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " down", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " status -j", out, sizeof(out)));
	EXPECT_STREQ("{\"system\":null}\n", out);
	EXPECT_EQ(1, vt_sh(CTL " down", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "vanityctl: down: no system is up")) TH_LOG("%s", out);
}

TEST(up_from_manifest_prints_kernel_refusal)
{
	char out[4096];

	vt_reset();
	vt_write_file("/tmp/cli-bad.ini",
		   "[system]\nname = bad\n[shard victim]\ncpus = 0\n");
	EXPECT_EQ(1, vt_sh(CTL " up /tmp/cli-bad.ini", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out,
		"vanityctl: up: shard 'victim': cpu 0 is not isolated (boot with isolcpus=0) (Invalid argument)"))
		TH_LOG("%s", out);
	EXPECT_EQ(0, vt_sh(CTL " status", out, sizeof(out)));
	EXPECT_STREQ("no system is up\n", out);
}

TEST(down_refused_while_attached_then_forced)
{
	struct vanity *v;
	char out[4096], want[64];

	vt_reset();
	vt_write_file("/tmp/cli.ini", good);
	ASSERT_EQ(0, vt_sh(CTL " up /tmp/cli.ini", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, vanity_attach("consumer", &v));
	EXPECT_EQ(1, vt_sh(CTL " down", out, sizeof(out)));
	snprintf(want, sizeof(want), "shards attached: consumer (pid %d)", getpid());
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_EQ(0, vt_sh(CTL " down --force", out, sizeof(out))) TH_LOG("%s", out);
	vanity_detach(v);
}

TEST(help_and_usage)
{
	char out[4096];

	EXPECT_EQ(0, vt_sh(CTL " --help", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "status [-j]"));
	EXPECT_EQ(0, vt_sh(CTL " down --help", out, sizeof(out)));
	EXPECT_EQ(0, vt_sh(CTL " status --help", out, sizeof(out)));
	EXPECT_EQ(0, vt_sh(CTL " up --help", out, sizeof(out)));
	EXPECT_EQ(0, vt_sh(CTL " build --help", out, sizeof(out)));
	EXPECT_EQ(1, vt_sh(CTL " frobnicate", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "unknown command 'frobnicate'"));
	EXPECT_EQ(1, vt_sh(CTL " down --bogus", out, sizeof(out)));
}

TEST_HARNESS_MAIN
