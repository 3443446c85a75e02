// SPDX-License-Identifier: GPL-2.0
/*
 * The storage example (examples/nvme/) end to end with `vanityctl run`,
 * on both backends, one source: with the module (in the VM) the storage
 * shard drives the VM's NVMe controller, passed with [device]; on the
 * hosted simulator it serves a file through io_uring. The same client
 * binary writes 4 KiB blocks with a verifiable pattern (block, generation,
 * checksum) and reads them back. Then: bad requests refused and never
 * sent to the device, the storage shard SIGKILLed mid-workload and
 * restarted by run with nothing lost or doubled, and the data seen
 * without Vanity after down (the kernel's nvme driver's block device, or
 * the file).
 *
 * Block ranges (16384 blocks of 4 KiB: the VM's 64 MiB namespace, fresh
 * each boot, or a fresh 64 MiB file): each test its own, so that the
 * zeros test reads blocks no test wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"
#include "pattern.h"
#include "proto.h"

#define INI		"/tmp/storage-test.ini"
#define FILE_PATH	"/tmp/storage-test.img"
#define MALFORMED	13	/* the client's table of bad requests */
#define MARKER		"/tmp/storage-test.died"

/* The module in the VM passes the controller; else a file. */
static bool on_module(void)
{
	const char *b = getenv("VANITY_BACKEND");

	return !(b && !strcmp(b, "hosted")) && access("/dev/vanity", F_OK) == 0;
}

struct srun {
	char client[8192], client1[8192], storage[8192], summary[16384];
	char restart[512], storage_log[16384];
	int status;			/* run's exit status */
	bool killed;
};

/*
 * Write the manifest for client c0 with @client_args (and c1 with @c1_args
 * unless NULL) and run it; with @die, the storage shard SIGKILLs itself
 * once, right after its @die-th request went to the device, when requests
 * are surely in flight (run restarts it).
 */
static int run_storage2(struct __test_metadata *_metadata, const char *client_args,
			const char *c1_args, unsigned int die, struct srun *r)
{
	char dieopt[128] = "", c1[1024] = "";
	char ini[6144], backend[512], dev[64], line[16384];
	size_t logged = 0;
	FILE *p;
	int st;

	memset(r, 0, sizeof(*r));
	unlink(MARKER);
	if (die)
		snprintf(dieopt, sizeof(dieopt), " --die-after %u " MARKER, die);
	if (c1_args) {
		snprintf(c1, sizeof(c1),
			 "[shard c1]\ncpus = 3\nprogram = examples/nvme/client %s\n"
			 "[channel c1_req]\nfrom = c1\nto = storage\nslot_size = 32\nslots = 256\n"
			 "[channel c1_cpl]\nfrom = storage\nto = c1\nslot_size = 32\nslots = 256\n"
			 "[channel c1_data]\nfrom = c1\nto = storage\nslot_size = 4096\nslots = 64\n",
			 c1_args);
		strncat(dieopt, " --client c1", sizeof(dieopt) - strlen(dieopt) - 1);
	}
	if (on_module()) {
		if (vt_pci_find_class(0x010802, dev, sizeof(dev))) {
			TH_LOG("no NVMe controller in this machine");
			return -1;
		}
		snprintf(backend, sizeof(backend),
			 "program = examples/nvme/storage --device nvme --client c0%s\n"
			 "[device nvme]\npci = %s\nshard = storage\ndma = private, c0_data%s\n",
			 dieopt, dev, c1_args ? ", c1_data" : "");
	} else {
		snprintf(backend, sizeof(backend),
			 "program = examples/nvme/storage --file " FILE_PATH " --size 64M --client c0%s\n",
			 dieopt);
	}
	snprintf(ini, sizeof(ini),
		 "[system]\nname = stortest\n"
		 "[shard storage]\ncpus = 2\nmemory = 256K\nrestart = on-failure\n%s"
		 "[shard c0]\ncpus = 3\nprogram = examples/nvme/client %s\n"
		 "[channel c0_req]\nfrom = c0\nto = storage\nslot_size = 32\nslots = 256\n"
		 "[channel c0_cpl]\nfrom = storage\nto = c0\nslot_size = 32\nslots = 256\n"
		 "[channel c0_data]\nfrom = c0\nto = storage\nslot_size = 4096\nslots = 64\n%s",
		 backend, client_args, c1);
	vt_reset();
	vt_write_file(INI, ini);
	p = popen("tools/vanityctl run " INI " -j 2>&1", "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (vt_logged_json(line, "c0"))
			snprintf(r->client, sizeof(r->client), "%s", line);
		else if (vt_logged_json(line, "c1"))
			snprintf(r->client1, sizeof(r->client1), "%s", line);
		else if (vt_logged_json(line, "storage"))
			snprintf(r->storage, sizeof(r->storage), "%s", line);
		else if (strstr(line, "\"event\":\"summary\""))
			snprintf(r->summary, sizeof(r->summary), "%s", line);
		else if (strstr(line, "\"event\":\"restart\""))
			snprintf(r->restart, sizeof(r->restart), "%s", line);
		else if (strstr(line, "{\"event\":\"log\",\"shard\":\"storage\"") &&
			 logged + strlen(line) < sizeof(r->storage_log)) {
			memcpy(r->storage_log + logged, line, strlen(line) + 1);
			logged += strlen(line);
		}
	}
	st = pclose(p);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->killed = access(MARKER, F_OK) == 0;
	unlink(MARKER);
	TH_LOG("client: %s", r->client);
	TH_LOG("storage: %s", r->storage);
	return 0;
}

static int run_storage(struct __test_metadata *_metadata, const char *client_args,
		       unsigned int die, struct srun *r)
{
	return run_storage2(_metadata, client_args, NULL, die, r);
}

FIXTURE(storage) {
	int unused;
};

FIXTURE_SETUP(storage)
{
	/* A fresh file for the hosted backend; the VM's namespace is fresh per boot. */
	unlink(FILE_PATH);
}

FIXTURE_TEARDOWN(storage)
{
	unlink(INI);
}

/* Every block written reads back intact; blocks never written read as zeros. */
TEST_F_TIMEOUT(storage, blocks_read_back_intact_and_unwritten_are_zero, 600)
{
	struct srun r;

	ASSERT_EQ(0, run_storage(_metadata, "--first 0 --blocks 2048 --fill --ops 4000 "
				 "--read-pct 50 --verify --zeros 256", 0, &r));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.summary);
	ASSERT_NE(0, r.client[0]);
	ASSERT_NE(0, r.storage[0]);
	EXPECT_EQ(16384, vt_field(r.client, "capacity"));
	EXPECT_EQ(0, vt_field(r.client, "mismatches"));
	EXPECT_EQ(0, vt_field(r.client, "errors"));
	EXPECT_EQ(0, vt_field(r.client, "dup_cpl"));
	/* fill + verify read every block at least once, beside the random reads */
	EXPECT_GE(vt_field(r.client, "verified"), 2048);
	EXPECT_EQ(256, vt_field(r.client, "zero_reads"));
	/* 2048 fill writes, 4000 random ops, 2048 verify and 256 zero reads */
	EXPECT_EQ(2048 + 4000 + 2048 + 256,
		  vt_field(r.client, "reads") + vt_field(r.client, "writes"));
	EXPECT_EQ(0, vt_field(r.storage, "refused"));
	EXPECT_EQ(1, vt_field(r.storage, "starts"));
	/* every read and write went to the backend, and the final flush */
	EXPECT_EQ(vt_field(r.client, "reads") + vt_field(r.client, "writes") + 1,
		  vt_field(r.storage, "backend_cmds"));
	EXPECT_EQ(0, vt_field(r.storage, "backend_errors"));
	EXPECT_NE(NULL, strstr(r.storage, on_module() ? "\"backend\":\"nvme\"" :
						       "\"backend\":\"file\""));
}

/*
 * Requests past the namespace and malformed ones are answered with an
 * error completion by the storage shard and never reach the device: the
 * only command it sends is the client's final flush.
 */
TEST_F_TIMEOUT(storage, bad_requests_are_refused_before_the_device, 600)
{
	struct srun r;

	ASSERT_EQ(0, run_storage(_metadata, "--first 6144 --blocks 16 --malformed", 0, &r));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.summary);
	ASSERT_NE(0, r.client[0]);
	ASSERT_NE(0, r.storage[0]);
	EXPECT_EQ(MALFORMED, vt_field(r.client, "refused"));
	EXPECT_EQ(0, vt_field(r.client, "refused_wrong"));
	EXPECT_EQ(MALFORMED, vt_field(r.storage, "refused"));
	EXPECT_EQ(1, vt_field(r.storage, "backend_cmds"));
	EXPECT_EQ(0, vt_field(r.storage, "reads"));
	EXPECT_EQ(0, vt_field(r.storage, "writes"));
	/* INFO, the 13, FLUSH, CLOSE: each answered once */
	EXPECT_EQ(MALFORMED + 3, vt_field(r.storage, "served"));
}

/*
 * The storage shard SIGKILLed mid-workload, with requests in flight on
 * the device (it kills itself after its 3000th command, past the fill):
 * run restarts it, the module has reset the controller at the kill and the
 * new process brings it up again; requests taken but unanswered are
 * resubmitted from the journal, so the client sees every request answered
 * once, without error, and every block reads back as last written.
 */
TEST_F_TIMEOUT(storage, killed_storage_restarts_and_loses_nothing, 900)
{
	struct srun r;

	ASSERT_EQ(0, run_storage(_metadata, "--first 4096 --blocks 2048 --fill --duration 6 "
				 "--read-pct 50 --verify --qd 32 --timeout 120", 3000, &r));
	EXPECT_TRUE(r.killed) TH_LOG("the storage shard never killed itself");
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.summary);
	EXPECT_NE(NULL, strstr(r.restart, "\"shard\":\"storage\"")) TH_LOG("%s", r.restart);
	ASSERT_NE(0, r.client[0]);
	ASSERT_NE(0, r.storage[0]);
	EXPECT_EQ(2, vt_field(r.storage, "starts"));
	EXPECT_NE(NULL, strstr(r.storage_log, "storage: start 2:")) TH_LOG("%s", r.storage_log);
	EXPECT_EQ(0, vt_field(r.client, "mismatches"));
	EXPECT_EQ(0, vt_field(r.client, "errors"));
	EXPECT_EQ(0, vt_field(r.client, "dup_cpl"));
	EXPECT_GE(vt_field(r.client, "verified"), 2048);
	EXPECT_GT(vt_field(r.client, "writes"), 2048);
	/* What was in flight at the kill went to the device again. */
	EXPECT_GE(vt_field(r.storage, "resubmitted"), 1);
	TH_LOG("resubmitted %lld, reposted %lld, dropped %lld after the kill",
	       vt_field(r.storage, "resubmitted"), vt_field(r.storage, "reposted"),
	       vt_field(r.storage, "dropped"));
}

/*
 * Two clients at once, each on its own blocks through its own channels:
 * both served, each sees only its own completions, the storage shard
 * sleeps on both request channels at once when idle (a ring WAIT).
 */
TEST_F_TIMEOUT(storage, two_clients_are_served_side_by_side, 600)
{
	struct srun r;

	ASSERT_EQ(0, run_storage2(_metadata,
				  "--first 10240 --blocks 1024 --fill --ops 2000 --verify --qd 16",
				  "--first 11264 --blocks 1024 --fill --ops 2000 --verify --qd 16 "
				  "--read-pct 80", 0, &r));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.summary);
	ASSERT_NE(0, r.client[0]);
	ASSERT_NE(0, r.client1[0]);
	ASSERT_NE(0, r.storage[0]);
	TH_LOG("c1: %s", r.client1);
	EXPECT_EQ(0, vt_field(r.client, "mismatches"));
	EXPECT_EQ(0, vt_field(r.client1, "mismatches"));
	EXPECT_EQ(0, vt_field(r.client, "dup_cpl"));
	EXPECT_EQ(0, vt_field(r.client1, "dup_cpl"));
	EXPECT_EQ(0, vt_field(r.client, "errors"));
	EXPECT_EQ(0, vt_field(r.client1, "errors"));
	EXPECT_EQ(1024 + 2000 + 1024, vt_field(r.client, "reads") + vt_field(r.client, "writes"));
	EXPECT_EQ(1024 + 2000 + 1024, vt_field(r.client1, "reads") + vt_field(r.client1, "writes"));
	/* each client: INFO, its requests, FLUSH, CLOSE */
	EXPECT_EQ(2 * (1024 + 2000 + 1024 + 3), vt_field(r.storage, "served"));
	EXPECT_EQ(0, vt_field(r.storage, "refused"));
}

/*
 * Run @ini (a storage shard alone: c0 runs nothing) and expect it to fail
 * with @msg in the storage shard's log; run's status is non-zero.
 */
static void expect_refused(struct __test_metadata *_metadata, const char *ini,
			   const char *msg)
{
	static char out[65536];

	vt_reset();
	vt_write_file(INI, ini);
	EXPECT_NE(0, vt_sh("tools/vanityctl run " INI " -j", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, msg)) TH_LOG("want '%s' in:\n%s", msg, out);
	EXPECT_NE(NULL, strstr(out, "\"shard\":\"storage\",\"level\":\"error\""))
		TH_LOG("%s", out);
}

#define REFUSE_INI(storage_extra, program, cpl_slot, dev)				\
	"[system]\nname = storrefuse\n"						\
	"[shard storage]\ncpus = 2\n" storage_extra "program = " program "\n" dev	\
	"[shard c0]\ncpus = 3\n"							\
	"[channel c0_req]\nfrom = c0\nto = storage\nslot_size = 32\nslots = 256\n"	\
	"[channel c0_cpl]\nfrom = storage\nto = c0\nslot_size = " cpl_slot "\nslots = 256\n" \
	"[channel c0_data]\nfrom = c0\nto = storage\nslot_size = 4096\nslots = 64\n"

#define FILE_PROG "examples/nvme/storage --file " FILE_PATH " --size 1M --client c0"

/*
 * What the storage shard cannot serve it refuses at its start, saying
 * why, before it touches a channel or the device: bad options (exit 2),
 * a channel of the wrong geometry, a private region too small for its
 * journal; on the module, a device that is not an NVMe controller and a
 * controller that may not DMA into the client's buffers.
 */
TEST_F_TIMEOUT(storage, storage_refuses_what_it_cannot_serve, 600)
{
	static const char *const bad_opts[] = {
		"examples/nvme/storage --file /tmp/x --client c0 --qd 0",
		"examples/nvme/storage --file /tmp/x --client c0 --io-timeout-ms 0",
		"examples/nvme/storage --file /tmp/x --size 12Q --client c0",
		"examples/nvme/storage --file /tmp/x",
		"examples/nvme/storage --device d --file /tmp/x --client c0",
		"examples/nvme/storage --file /tmp/x --client c0 --die-after 5",
		"examples/nvme/client --nblocks 33",
		"examples/nvme/client --duration 1 --ops 5",
	};
	char out[4096], ini[4096], dev[64], nic[64];
	unsigned int i;

	for (i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++)
		EXPECT_EQ(2, vt_sh(bad_opts[i], out, sizeof(out))) TH_LOG("%s: %s", bad_opts[i], out);

	expect_refused(_metadata, REFUSE_INI("memory = 256K\n", FILE_PROG, "64", ""),
		       "storage: client c0: channel c0_cpl: want 32-byte slots from storage");
	expect_refused(_metadata, REFUSE_INI("memory = 4K\n", FILE_PROG, "32", ""),
		       "wanted for the journal");
	if (!on_module())
		return;

	ASSERT_EQ(0, vt_pci_find_class(0x010802, dev, sizeof(dev)));
	snprintf(ini, sizeof(ini),
		 REFUSE_INI("memory = 256K\n", "examples/nvme/storage --device nvme --client c0",
			    "32", "[device nvme]\npci = %s\nshard = storage\ndma = private\n"), dev);
	expect_refused(_metadata, ini,
		       "storage: device nvme may not DMA into c0_data (add it to dma =)");
	ASSERT_EQ(0, vt_pci_find_class(0x020000, nic, sizeof(nic)));
	snprintf(ini, sizeof(ini),
		 REFUSE_INI("memory = 256K\n", "examples/nvme/storage --device nvme --client c0",
			    "32", "[device nvme]\npci = %s\nshard = storage\ndma = private, c0_data\n"),
		 nic);
	expect_refused(_metadata, ini, "not an NVMe controller (0x010802)");
}

/* Read block @b of @path (O_DIRECT where it can): 0 or -errno. */
static int read_block(int fd, uint64_t b, void *buf)
{
	ssize_t n = pread(fd, buf, STOR_BLOCK, (off_t)(b * STOR_BLOCK));

	return n == STOR_BLOCK ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * What the storage shard wrote is there without Vanity after down: on the
 * module, through the kernel's nvme driver, which has the controller back
 * (the storage shard shut it down cleanly, the module reset it and gave it
 * back); hosted, in the file.
 */
TEST_F_TIMEOUT(storage, data_is_there_after_down_without_vanity, 600)
{
	static uint8_t buf[STOR_BLOCK] __attribute__((aligned(4096)));
	char dev[64], fn[64], path[128];
	unsigned int b, ok = 0, bad = 0;
	struct srun r;
	uint64_t gen;
	int fd, ms;

	ASSERT_EQ(0, run_storage(_metadata, "--first 8192 --blocks 1024 --fill", 0, &r));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.summary);
	ASSERT_EQ(1024, vt_field(r.client, "writes"));
	if (on_module()) {
		ASSERT_EQ(0, vt_pci_find_class(0x010802, fn, sizeof(fn)));
		/* The nvme driver probes asynchronously: its namespace comes. */
		for (ms = 0; ms < 30000 && vt_nvme_namespace(fn, dev, sizeof(dev)); ms += 50)
			vt_settle(50);
		ASSERT_EQ(0, vt_nvme_namespace(fn, dev, sizeof(dev)));
		snprintf(path, sizeof(path), "%s", dev);
		for (fd = -1, ms = 0; ms < 30000 && fd < 0; ms += 50) {
			fd = open(path, O_RDONLY | O_DIRECT);
			if (fd < 0)
				vt_settle(50);
		}
	} else {
		snprintf(path, sizeof(path), "%s", FILE_PATH);
		fd = open(path, O_RDONLY);
	}
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	for (b = 8192; b < 8192 + 1024; b++) {
		ASSERT_EQ(0, read_block(fd, b, buf)) TH_LOG("%s block %u", path, b);
		if (stor_pattern_check(buf, b, &gen) == STOR_PAT_OK && gen == 1)
			ok++;
		else if (bad++ < 5)
			TH_LOG("%s: block %u is not the client's generation 1", path, b);
	}
	/* Past the range the client wrote: zeros. */
	ASSERT_EQ(0, read_block(fd, 8192 + 1024, buf));
	EXPECT_EQ(STOR_PAT_ZERO, stor_pattern_check(buf, 8192 + 1024, &gen));
	close(fd);
	EXPECT_EQ(1024, ok);
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
