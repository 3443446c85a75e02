// SPDX-License-Identifier: GPL-2.0
/*
 * Passed devices, on the VM's QEMU edu (1234:11e8): UP takes the function
 * and DOWN gives it back; its owner maps BAR0 and its DMA lands inside the
 * granted windows only, the IOMMU reporting the rest; other shards and bad
 * offsets are refused; a refused UP changes nothing; a forced DOWN revokes
 * the BAR mapping. Its MSI arrives as a CQE of an armed IRQ_WAIT, seen by
 * a shard spinning on its CQ, counted in debugfs; other shards and
 * vectors it does not have are refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "common.h"
#include "vanity/device.h"

#define CTL		"tools/vanityctl"
#define DEVICES		"/sys/bus/pci/devices"
#define MANIFEST	"/tmp/device.ini"
#define IMAGE		"/tmp/device.vimg"
#define BAD_MANIFEST	"/tmp/device-bad.ini"

/* QEMU 7.2's edu (docs/specs/edu.rst): BAR0 registers, 32-bit unless noted. */
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_BAR_SIZE	(1ULL << 20)
#define EDU_REG_ID	0x00		/* read-only: EDU_ID */
#define EDU_ID		0x010000edU
#define EDU_REG_LIVE	0x04		/* reads back the NOT of what was written */
#define EDU_REG_DMA_SRC	0x80		/* 64-bit */
#define EDU_REG_DMA_DST	0x88		/* 64-bit */
#define EDU_REG_DMA_CNT	0x90		/* 64-bit */
#define EDU_REG_DMA_CMD	0x98		/* 64-bit */
#define EDU_CMD_START	0x1		/* reads 1 while the transfer runs */
#define EDU_CMD_TO_RAM	0x2		/* else from RAM into the edu */
#define EDU_CMD_IRQ	0x4		/* raise interrupt 0x100 when done */
#define EDU_REG_IRQ_STATUS 0x24		/* read-only: raised, not acknowledged */
#define EDU_REG_IRQ_RAISE 0x60		/* writes OR into the status, MSI sent */
#define EDU_REG_IRQ_ACK	0x64		/* writes clear status bits */
#define EDU_IRQ_DMA	0x100		/* the status bit a DMA's EDU_CMD_IRQ sets */
#define EDU_BUF		0x40000		/* its DMA buffer, device side */
#define EDU_BUF_SIZE	4096
/* tools/vm/run.sh widens its mask from 28 bits: it would clip addresses. */
#define EDU_DMA_MASK	((1ULL << 48) - 1)
#define EDU_POLL_MS	5000		/* bound of one transfer's wait */

/* The system: both shards' private regions, and where the edu reaches them. */
#define MEM		(64 * 1024)
#define BASE		VANITY_DMA_IOVA_BASE
#define DMA_LEN		512		/* dma_inside: bytes each way */
#define IN_OFF		0x1000		/* ... read by the edu from here */
#define OUT_OFF		0x3000		/* ... and written back here */
#define PROBE_LEN	2048		/* dma_outside: one page's worth at most */
#define CONTROL_OFF	0x8000
#define CANARY_PAGES	64
#define CHILD_MS	120000
#define DEV_TIMEOUT	300		/* seconds: TCG, and an UP per test */

#define SHARDS								\
	"[system]\nname = devtest\n"					\
	"[shard owner]\ncpus = 2\nmemory = 64K\n"			\
	"[shard other]\ncpus = 3\nmemory = 64K\n"
/* Both owner's: feed is granted to the edu with "dma = private,feed", back not. */
#define CHANNELS							\
	"[channel feed]\nfrom = owner\nto = other\nslot_size = 64\nslots = 16\n" \
	"[channel back]\nfrom = other\nto = owner\nslot_size = 64\nslots = 16\n"

#define SYSLOG_ACTION_READ_ALL		3
#define SYSLOG_ACTION_SIZE_BUFFER	10

/*
 * What a child shares with its test: its account of the step that failed
 * (the exit code says which), what it could not try, and its ends of the
 * pipes, set before the fork and never changed after.
 */
struct shared {
	char why[256];
	char note[256];
	uint64_t canary_phys;	/* dma_outside: the page aimed at, 0 for none */
	int ready_w;		/* child -> test */
	int go_r;		/* test -> child */
};

/*
 * Ordering of RAM against the BAR's uncached doorbell: on arm64 a DMB
 * orders only normal memory, so these are DSBs (Linux's wmb()/rmb());
 * x86 keeps stores, and loads, in order on its own.
 */
#if defined(__aarch64__)
#define io_wmb() __asm__ __volatile__("dsb st" ::: "memory")
#define io_rmb() __asm__ __volatile__("dsb ld" ::: "memory")
#elif defined(__x86_64__)
#define io_wmb() __asm__ __volatile__("" ::: "memory")
#define io_rmb() __asm__ __volatile__("" ::: "memory")
#else
#define io_wmb() __sync_synchronize()
#define io_rmb() __sync_synchronize()
#endif

static uint32_t bar_rd32(volatile void *bar, size_t off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)bar + off);
}

static void bar_wr32(volatile void *bar, size_t off, uint32_t val)
{
	*(volatile uint32_t *)((volatile uint8_t *)bar + off) = val;
}

/* One 64-bit store: the edu takes 8-byte accesses at 0x80..0x98. */
static void bar_wr64(volatile void *bar, size_t off, uint64_t val)
{
	*(volatile uint64_t *)((volatile uint8_t *)bar + off) = val;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * One edu transfer of @count bytes between RAM address @ram (an IOVA) and
 * its buffer at @buf_off, waited for at most EDU_POLL_MS and as many 1 ms
 * sleeps. QEMU 7.2 aborts the whole VM on a count of 0 or a transfer that
 * ends exactly at the buffer's end, and silently masks an address above 28
 * bits, so those are refused here before the device sees them. 0, -EINVAL,
 * -EBUSY (a transfer still runs), -ETIME (this one still runs).
 */
static int edu_dma_irq(volatile void *bar, bool to_ram, uint64_t ram,
		       uint32_t buf_off, uint32_t count, uint64_t flags);

static int edu_dma(volatile void *bar, bool to_ram, uint64_t ram,
		   uint32_t buf_off, uint32_t count)
{
	return edu_dma_irq(bar, to_ram, ram, buf_off, count, 0);
}

/* The same, with the command's extra @flags (EDU_CMD_IRQ). */
static int edu_dma_irq(volatile void *bar, bool to_ram, uint64_t ram,
		       uint32_t buf_off, uint32_t count, uint64_t flags)
{
	struct timespec t0;
	unsigned int i;

	if (!count || buf_off >= EDU_BUF_SIZE || count >= EDU_BUF_SIZE - buf_off ||
	    ram > EDU_DMA_MASK || count - 1 > EDU_DMA_MASK - ram)
		return -EINVAL;
	if (bar_rd32(bar, EDU_REG_DMA_CMD) & EDU_CMD_START)
		return -EBUSY;
	bar_wr64(bar, EDU_REG_DMA_SRC, to_ram ? EDU_BUF + buf_off : ram);
	bar_wr64(bar, EDU_REG_DMA_DST, to_ram ? ram : EDU_BUF + buf_off);
	bar_wr64(bar, EDU_REG_DMA_CNT, count);
	/* What the CPU wrote to RAM is there before the edu reads it. */
	io_wmb();
	bar_wr64(bar, EDU_REG_DMA_CMD,
		 EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0) | flags);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < EDU_POLL_MS; i++) {
		if (!(bar_rd32(bar, EDU_REG_DMA_CMD) & EDU_CMD_START)) {
			/* What the edu wrote is read only after it said done. */
			io_rmb();
			return 0;
		}
		if (ms_since(&t0) >= EDU_POLL_MS)
			break;
		usleep(1000);
	}
	return -ETIME;
}

static unsigned char pat(size_t i)
{
	return (unsigned char)(i % 251 + 1);	/* never 0: untouched memory is */
}

static int __attribute__((format(printf, 3, 4)))
fail(struct shared *sh, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
	return code;
}

/* The number in DEVICES/@fn/@attr (sysfs's "0x1234"), or -1. */
static long long sysfs_num(const char *fn, const char *attr)
{
	char path[300], buf[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), DEVICES "/%s/%s", fn, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtoll(buf, NULL, 0);
	fclose(f);
	return v;
}

/* The basename of @fn's driver link into @buf, "" when none is bound. */
static void driver_of(const char *fn, char *buf, size_t len)
{
	char path[300], target[300];
	ssize_t n;

	snprintf(path, sizeof(path), DEVICES "/%s/driver", fn);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	target[n] = '\0';
	if (snprintf(buf, len, "%s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target) >= (int)len)
		buf[0] = '?';	/* too long to be one we compare with */
}

static bool is_edu(const char *fn, const char *avoid)
{
	(void)avoid;
	return sysfs_num(fn, "vendor") == EDU_VENDOR &&
	       sysfs_num(fn, "device") == EDU_DEVICE;
}

static bool is_bridge(const char *fn, const char *avoid)
{
	(void)avoid;
	return (sysfs_num(fn, "class") >> 16) == 0x06;
}

/* An endpoint other than @avoid whose IOMMU group holds other functions. */
static bool shares_group(const char *fn, const char *avoid)
{
	char path[300];

	snprintf(path, sizeof(path), DEVICES "/%s/iommu_group/devices", fn);
	return strcmp(fn, avoid) && !is_bridge(fn, NULL) && vt_dir_entries(path) > 1;
}

/* As shares_group, with no driver bound: nothing to lose if UP took it. */
static bool shares_group_unbound(const char *fn, const char *avoid)
{
	char drv[64];

	driver_of(fn, drv, sizeof(drv));
	return !drv[0] && shares_group(fn, avoid);
}

/* The first function @match says yes to, into @out. */
static bool find_fn(bool (*match)(const char *fn, const char *avoid),
		    const char *avoid, char *out, size_t len)
{
	bool found = false;
	struct dirent *de;
	DIR *d = opendir(DEVICES);

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !match(de->d_name, avoid))
			continue;
		found = snprintf(out, len, "%s", de->d_name) < (int)len;
	}
	closedir(d);
	return found;
}

/* An address where the bus has no function. */
static const char *find_absent(void)
{
	static const char *const cands[] = {
		"0000:00:1e.7", "0000:00:1d.7", "0000:00:1c.7", "0000:00:1b.7",
	};
	char path[300];
	unsigned int i;

	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(path, sizeof(path), DEVICES "/%s", cands[i]);
		if (access(path, F_OK))
			return cands[i];
	}
	return NULL;
}

/* Append a [device] section giving @pci to owner; @dma NULL: the default. */
static void device_section(char *buf, size_t len, const char *name,
			   const char *pci, const char *dma)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "[device %s]\npci = %s\nshard = owner\n%s%s%s",
		 name, pci, dma ? "dma = " : "", dma ? dma : "", dma ? "\n" : "");
}

/* The two shards, then @rest (channel and device sections). */
static void write_manifest(const char *path, const char *rest)
{
	char text[4096];

	snprintf(text, sizeof(text), SHARDS "%s", rest);
	vt_write_file(path, text);
}

/* UP with the edu at @addr given to owner, @channels declared, @dma its grant. */
static void up_edu(struct __test_metadata *_metadata, const char *addr,
		   const char *channels, const char *dma)
{
	char rest[2048], out[4096];

	snprintf(rest, sizeof(rest), "%s", channels ? channels : "");
	device_section(rest, sizeof(rest), "edu", addr, dma);
	write_manifest(MANIFEST, rest);
	ASSERT_EQ(0, vt_sh(CTL " up " MANIFEST, out, sizeof(out))) TH_LOG("%s", out);
}

static void expect_no_system(struct __test_metadata *_metadata)
{
	char out[256];

	EXPECT_EQ(0, vt_sh(CTL " status -j", out, sizeof(out)));
	EXPECT_STREQ("{\"system\":null}\n", out);
}

/* VANITY_IOC_DEVICE by @name, or by @index when @name is NULL: 0 or -errno. */
static int device_ioctl(int fd, const char *name, uint32_t index,
			struct vanity_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	if (name) {
		snprintf(info->name, sizeof(info->name), "%s", name);
	} else {
		info->flags = VANITY_DEVICE_F_INDEX;
		info->index = index;
	}
	return ioctl(fd, VANITY_IOC_DEVICE, info) ? -errno : 0;
}

/* Device 0's window onto region @kind/@index: 0 or -errno. */
static int window_ioctl(int fd, uint32_t kind, uint32_t index,
			struct vanity_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->flags = VANITY_DEVICE_F_INDEX | VANITY_DEVICE_F_WINDOW;
	info->win_kind = kind;
	info->win_index = index;
	return ioctl(fd, VANITY_IOC_DEVICE, info) ? -errno : 0;
}

/* The whole kernel log (the runner boots with log_buf_len=8M), or NULL. */
static char *read_klog(void)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0), len;
	char *log;

	if (size <= 0)
		return NULL;
	log = calloc(1, size + 1);
	if (!log)
		return NULL;
	len = klogctl(SYSLOG_ACTION_READ_ALL, log, size);
	if (len < 0) {
		free(log);
		return NULL;
	}
	log[len] = '\0';
	return log;
}

/* Lines of @log holding each of the non-NULL @a, @b and @c. */
static unsigned int count_lines(const char *log, const char *a, const char *b,
				const char *c)
{
	const char *l = log, *eol;
	unsigned int n = 0;
	char line[512];

	while (*l) {
		eol = strchrnul(l, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(eol - l), l);
		if ((!a || strstr(line, a)) && (!b || strstr(line, b)) &&
		    (!c || strstr(line, c)))
			n++;
		l = *eol ? eol + 1 : eol;
	}
	return n;
}

/*
 * The IOMMU drivers print faults through a rate limit of the kernel's
 * defaults, 10 messages every 5 s: a blocked transfer waits until the
 * window that earlier faults (another test, another run) opened is over,
 * so that its report is printed, not suppressed.
 */
#define FAULT_WINDOW_US 5500000

#if defined(__x86_64__)
#define FAULT_FORMAT_KNOWN 1
/* intel-iommu reports each blocked transfer once: one window holds all. */
#define FAULT_WINDOW_EACH 0
/*
 * intel-iommu names requester and page in one line: "DMAR: [DMA Write
 * NO_PASID] Request device [00:04.0] fault addr 0x120000 [fault reason
 * 0x05] ...", the device as bus:dev.fn (domain 0).
 */
static unsigned int fault_reports(const char *log, const char *fn)
{
	char dev[32];

	snprintf(dev, sizeof(dev), "[%.20s]", fn + 5);
	return count_lines(log, "DMAR:", "fault addr", dev);
}

static unsigned int fault_reports_at(const char *log, const char *fn,
				     uint64_t iova)
{
	char dev[32], at[48];

	snprintf(dev, sizeof(dev), "[%.20s]", fn + 5);
	snprintf(at, sizeof(at), "fault addr %#llx [", (unsigned long long)iova);
	return count_lines(log, "DMAR:", at, dev);
}
#elif defined(__aarch64__)
#define FAULT_FORMAT_KNOWN 1
/*
 * QEMU's SMMUv3 raises an event per 4 bytes of a blocked transfer, which
 * fills a window's budget: each blocked transfer gets a window.
 */
#define FAULT_WINDOW_EACH 1
/*
 * SMMUv3 (6.1 and 6.12) logs "arm-smmu-v3 ...: event 0x10 received:" and
 * then the record's dwords, one a line as "\t0x%016llx": dword 0 has the
 * StreamID in its upper half (on QEMU's virt the requester ID, bus << 8 |
 * devfn), dword 2 the input address. A report names the device by that
 * StreamID line.
 */
static unsigned int stream_id(const char *fn)
{
	unsigned int dom, bus, dev, f;

	if (sscanf(fn, "%x:%x:%x.%x", &dom, &bus, &dev, &f) != 4)
		return ~0U;
	return bus << 8 | dev << 3 | f;
}

static unsigned int fault_reports(const char *log, const char *fn)
{
	char sid[16];

	snprintf(sid, sizeof(sid), "0x%08x", stream_id(fn));
	return count_lines(log, "arm-smmu-v3", sid, NULL);
}

static unsigned int fault_reports_at(const char *log, const char *fn,
				     uint64_t iova)
{
	char at[24];

	(void)fn;
	snprintf(at, sizeof(at), "0x%016llx", (unsigned long long)iova);
	return count_lines(log, "arm-smmu-v3", at, NULL);
}
#else
#define FAULT_FORMAT_KNOWN 0
#define FAULT_WINDOW_EACH 0
static unsigned int fault_reports(const char *log, const char *fn)
{
	(void)log;
	(void)fn;
	(void)count_lines;
	return 0;
}

static unsigned int fault_reports_at(const char *log, const char *fn,
				     uint64_t iova)
{
	(void)log;
	(void)fn;
	(void)iova;
	return 0;
}
#endif

/*
 * A refused UP names the device and why, and leaves everything as it was:
 * no system, and the edu (given first, so taken before the refusal) with
 * its driver.
 */
static void expect_refused(struct __test_metadata *_metadata, const char *edu,
			   const char *edu_driver, const char *name,
			   const char *pci, const char *reason)
{
	char rest[1024] = "", out[4096], want[64], drv[64];

	device_section(rest, sizeof(rest), "edu", edu, NULL);
	device_section(rest, sizeof(rest), name, pci, NULL);
	write_manifest(BAD_MANIFEST, rest);
	EXPECT_EQ(1, vt_sh(CTL " up " BAD_MANIFEST, out, sizeof(out))) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "'%s'", name);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want %s in: %s", want, out);
	EXPECT_NE(NULL, strstr(out, pci)) TH_LOG("want %s in: %s", pci, out);
	if (reason)
		EXPECT_NE(NULL, strstr(out, reason)) TH_LOG("want '%s' in: %s", reason, out);
	expect_no_system(_metadata);
	driver_of(edu, drv, sizeof(drv));
	EXPECT_STREQ(edu_driver, drv) TH_LOG("the edu's driver after refusing %s", name);
}

/* Run @fn in a child and wait: its exit status, or -1 when it timed out. */
static int run_child(pid_t *pid, int (*fn)(void *), struct shared *sh)
{
	int rc;

	*pid = vt_spawn(fn, sh);
	if (*pid < 0)
		return -1;
	rc = vt_wait(*pid, CHILD_MS);
	*pid = 0;
	return rc;
}

/* The physical address of the page at @p (root reads PFNs), 0 if unknown. */
static uint64_t phys_of(int pagemap, const void *p, long page)
{
	uint64_t e;

	if (pread(pagemap, &e, sizeof(e), (off_t)((uintptr_t)p / page * 8)) !=
	    sizeof(e) || !(e >> 63))
		return 0;
	return (e & ((1ULL << 55) - 1)) * (uint64_t)page;
}

/*
 * Child of dma_inside_the_grant_lands_byte_exact: as owner, a pattern
 * round-trips through the edu's buffer, RAM to edu to RAM, by IOVA.
 */
static int dma_roundtrip(void *arg)
{
	const struct vanity_device_info *info;
	struct shared *sh = arg;
	struct vanity_device *d, *again;
	uint64_t iova_in, iova_out;
	volatile void *bar;
	unsigned char *mem;
	struct vanity *v;
	size_t len, i;
	uint32_t got;
	int ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	ret = vanity_memory(v, (void **)&mem, &len);
	if (ret || len != MEM)
		return fail(sh, 11, "vanity_memory: %d, %zu bytes", ret, len);
	for (i = 0; i < DMA_LEN; i++)
		mem[IN_OFF + i] = pat(i);
	ret = vanity_device_get(v, "edu", &d);
	if (ret)
		return fail(sh, 12, "vanity_device_get(edu): %s", strerror(-ret));
	ret = vanity_device_get(v, "edu", &again);
	if (ret || again != d)
		return fail(sh, 13, "a second vanity_device_get: %d, %s object", ret,
			    again == d ? "the same" : "another");
	info = vanity_device_info(d);
	if (info->vendor != EDU_VENDOR || info->device != EDU_DEVICE)
		return fail(sh, 14, "info: IDs %04x:%04x", info->vendor, info->device);
	if (info->bars[0].size != EDU_BAR_SIZE ||
	    !(info->bars[0].flags & VANITY_BAR_F_MAPPABLE))
		return fail(sh, 15, "info: BAR0 %llu bytes, flags %#x",
			    (unsigned long long)info->bars[0].size, info->bars[0].flags);
	ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret || len != EDU_BAR_SIZE)
		return fail(sh, 16, "vanity_device_bar(0): %d, %zu bytes", ret, len);
	got = bar_rd32(bar, EDU_REG_ID);
	if (got != EDU_ID)
		return fail(sh, 17, "ID register %#x", got);
	bar_wr32(bar, EDU_REG_LIVE, 0x12345678);
	got = bar_rd32(bar, EDU_REG_LIVE);
	if (got != ~0x12345678U)
		return fail(sh, 18, "liveness: wrote 0x12345678, read %#x", got);
	ret = vanity_device_iova(d, mem + IN_OFF, DMA_LEN, &iova_in);
	if (ret || iova_in != BASE + IN_OFF)
		return fail(sh, 19, "iova of private + %#x: %d, %#llx", IN_OFF, ret,
			    (unsigned long long)iova_in);
	ret = vanity_device_iova(d, mem + OUT_OFF, DMA_LEN, &iova_out);
	if (ret || iova_out != BASE + OUT_OFF)
		return fail(sh, 20, "iova of private + %#x: %d, %#llx", OUT_OFF, ret,
			    (unsigned long long)iova_out);
	ret = edu_dma(bar, false, iova_in, 0, DMA_LEN);
	if (ret)
		return fail(sh, 21, "DMA RAM -> edu: %s", strerror(-ret));
	ret = edu_dma(bar, true, iova_out, 0, DMA_LEN);
	if (ret)
		return fail(sh, 22, "DMA edu -> RAM: %s", strerror(-ret));
	for (i = 0; i < MEM; i++) {
		bool in = i >= IN_OFF && i < IN_OFF + DMA_LEN;
		bool out = i >= OUT_OFF && i < OUT_OFF + DMA_LEN;
		unsigned char want = in ? pat(i - IN_OFF) : out ? pat(i - OUT_OFF) : 0;

		if (mem[i] != want)
			return fail(sh, out ? 23 : 24,
				    "private byte %#zx is %#x, want %#x", i, mem[i], want);
	}
	vanity_detach(v);
	return 0;
}

/*
 * Child of dma_outside_the_grant_is_blocked: as owner, the edu writes past
 * the window, to a canary page by its physical address, and below the
 * window; none of it lands, and a control write into the window does.
 */
static int dma_outside(void *arg)
{
	struct shared *sh = arg;
	long page = sysconf(_SC_PAGESIZE);
	size_t canary_len = (size_t)CANARY_PAGES * page, len, i;
	uint64_t targets[3], phys, lowest = UINT64_MAX;
	unsigned char *mem, *canary;
	struct vanity_device *d;
	volatile void *bar;
	struct vanity *v;
	unsigned int n = 0, t;
	int fd, ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	ret = vanity_memory(v, (void **)&mem, &len);
	if (ret || len != MEM)
		return fail(sh, 11, "vanity_memory: %d, %zu bytes", ret, len);
	ret = vanity_device_get(v, "edu", &d);
	if (ret)
		return fail(sh, 12, "vanity_device_get(edu): %s", strerror(-ret));
	ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		return fail(sh, 13, "vanity_device_bar(0): %s", strerror(-ret));
	canary = mmap(NULL, canary_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (canary == MAP_FAILED)
		return fail(sh, 14, "canary mmap: %s", strerror(errno));
	memset(canary, 0xa5, canary_len);
	if (mlock(canary, canary_len))
		return fail(sh, 15, "canary mlock: %s", strerror(errno));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(sh, 16, "/proc/self/pagemap: %s", strerror(errno));
	/* A page the edu can address that is no IOVA of the grant. */
	for (i = 0; i < CANARY_PAGES && !sh->canary_phys; i++) {
		phys = phys_of(fd, canary + i * page, page);
		if (!phys)
			continue;
		if (phys < lowest)
			lowest = phys;
		if (phys + page - 1 <= EDU_DMA_MASK &&
		    (phys + page <= BASE || phys >= BASE + MEM))
			sh->canary_phys = phys;
	}
	close(fd);
	if (!sh->canary_phys)
		snprintf(sh->note, sizeof(sh->note),
			 "no canary page the edu reaches outside the window (lowest %#llx): the transfer to a physical address was not tried",
			 (unsigned long long)lowest);

	/* The edu's buffer holds 0x3c, a byte found nowhere else. */
	memset(mem, 0x3c, PROBE_LEN);
	ret = edu_dma(bar, false, BASE, 0, PROBE_LEN);
	if (ret)
		return fail(sh, 17, "DMA RAM -> edu: %s", strerror(-ret));
	memset(mem, 0x5a, MEM);
	targets[n++] = BASE + MEM + 0x10000;	/* past the window */
	if (sh->canary_phys)
		targets[n++] = sh->canary_phys;	/* outside every region */
	targets[n++] = 0x1000;			/* below the window */
	for (t = 0; t < n; t++) {
		if (!t || FAULT_WINDOW_EACH)
			usleep(FAULT_WINDOW_US);
		ret = edu_dma(bar, true, targets[t], 0, PROBE_LEN);
		if (ret)
			return fail(sh, 18 + t, "DMA edu -> %#llx did not complete: %s",
				    (unsigned long long)targets[t], strerror(-ret));
	}
	for (i = 0; i < MEM; i++)
		if (mem[i] != 0x5a)
			return fail(sh, 21, "private byte %#zx is %#x after the blocked writes",
				    i, mem[i]);
	for (i = 0; i < canary_len; i++)
		if (canary[i] != 0xa5)
			return fail(sh, 22, "canary byte %#zx is %#x after the blocked writes",
				    i, canary[i]);
	/* The same transfer into the window lands: the ones above would show. */
	ret = edu_dma(bar, true, BASE + CONTROL_OFF, 0, 16);
	if (ret)
		return fail(sh, 23, "control DMA edu -> RAM: %s", strerror(-ret));
	for (i = 0; i < MEM; i++) {
		unsigned char want = i >= CONTROL_OFF && i < CONTROL_OFF + 16 ? 0x3c : 0x5a;

		if (mem[i] != want)
			return fail(sh, 24, "after the control write, private byte %#zx is %#x, want %#x",
				    i, mem[i], want);
	}
	vanity_detach(v);
	return 0;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/*
 * Child of forced_down_revokes_the_bar_mapping: as owner, maps BAR0 and
 * reads the ID, tells the test, and once told reads again: SIGBUS is the
 * pass.
 */
static int read_after_revoke(void *arg)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct shared *sh = arg;
	struct vanity_device *d;
	volatile void *bar;
	struct vanity *v;
	uint32_t got;
	size_t len;
	char b = 0;
	int ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	ret = vanity_device_get(v, "edu", &d);
	if (ret)
		return fail(sh, 11, "vanity_device_get(edu): %s", strerror(-ret));
	ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		return fail(sh, 12, "vanity_device_bar(0): %s", strerror(-ret));
	got = bar_rd32(bar, EDU_REG_ID);
	if (got != EDU_ID)
		return fail(sh, 13, "ID register %#x before DOWN", got);
	if (sigaction(SIGBUS, &sa, NULL))
		return fail(sh, 14, "sigaction: %s", strerror(errno));
	if (write(sh->ready_w, &b, 1) != 1)
		return fail(sh, 15, "ready: %s", strerror(errno));
	if (read(sh->go_r, &b, 1) != 1)
		return fail(sh, 16, "go: %s", strerror(errno));
	if (sigsetjmp(bus_jmp, 1))
		return 0;
	got = bar_rd32(bar, EDU_REG_ID);
	return fail(sh, 17, "BAR0 still reads (ID %#x) after the forced DOWN", got);
}

FIXTURE(edu) {
	bool iommu;
	char addr[32];		/* the edu's function, "" when the VM has none */
	char driver_before[64];	/* its driver before any test took it */
	struct shared *sh;	/* with this test's child */
	pid_t pid;
	struct vanity *v;	/* the test's own attachment */
	int ready[2], go[2];	/* forced_down's pipes, this side's view */
};

FIXTURE_SETUP(edu)
{
	self->pid = 0;
	self->v = NULL;
	self->ready[0] = self->ready[1] = -EBADF;
	self->go[0] = self->go[1] = -EBADF;
	vt_reset();
	self->iommu = vt_dir_entries("/sys/class/iommu") > 0;
	if (find_fn(is_edu, NULL, self->addr, sizeof(self->addr)))
		driver_of(self->addr, self->driver_before, sizeof(self->driver_before));
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
}

FIXTURE_TEARDOWN(edu)
{
	unsigned int i;

	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		vt_wait(self->pid, 5000);
	}
	if (self->v)
		vanity_detach(self->v);
	vt_reset();
	for (i = 0; i < 2; i++) {
		if (self->ready[i] >= 0)
			close(self->ready[i]);
		if (self->go[i] >= 0)
			close(self->go[i]);
	}
	munmap(self->sh, sizeof(*self->sh));
}

/* Run @fn as this test's child: it must exit 0, or it says why not. */
#define EXPECT_CHILD_OK(fn) do {					\
	int _rc = run_child(&self->pid, (fn), self->sh);		\
	EXPECT_EQ(0, _rc) TH_LOG("child exit %d: %s", _rc,		\
				 _rc < 0 ? "timed out" : self->sh->why); \
} while (0)

/* Every test here needs the edu, and an IOMMU to confine it: no faked pass. */
#define REQUIRE_EDU() do {						\
	if (!self->iommu)						\
		SKIP(return, "no IOMMU in this VM: no device can be passed"); \
	if (!self->addr[0])						\
		SKIP(return, "no edu (%04x:%04x) in this VM", EDU_VENDOR, EDU_DEVICE); \
} while (0)

TEST_F_TIMEOUT(edu, up_takes_the_device_and_down_gives_it_back, DEV_TIMEOUT)
{
	char rest[1024] = "", out[4096], drv[64];

	REQUIRE_EDU();
	TH_LOG("edu at %s, driver before: %s", self->addr,
	       self->driver_before[0] ? self->driver_before : "(none)");
	/* With no system up, vanity holds no function. */
	ASSERT_STRNE("vanity", self->driver_before);
	device_section(rest, sizeof(rest), "edu", self->addr, "private");
	write_manifest(MANIFEST, rest);
	unlink(IMAGE);
	ASSERT_EQ(0, vt_sh(CTL " build " MANIFEST " -o " IMAGE, out, sizeof(out)))
		TH_LOG("%s", out);
	ASSERT_EQ(0, vt_sh(CTL " up " IMAGE, out, sizeof(out))) TH_LOG("%s", out);
	driver_of(self->addr, drv, sizeof(drv));
	EXPECT_STREQ("vanity", drv);
	ASSERT_EQ(0, vt_sh(CTL " down", out, sizeof(out))) TH_LOG("%s", out);
	driver_of(self->addr, drv, sizeof(drv));
	EXPECT_STREQ(self->driver_before, drv);
	expect_no_system(_metadata);
}

TEST_F_TIMEOUT(edu, dma_inside_the_grant_lands_byte_exact, DEV_TIMEOUT)
{
	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	EXPECT_CHILD_OK(dma_roundtrip);
}

TEST_F_TIMEOUT(edu, dma_outside_the_grant_is_blocked, DEV_TIMEOUT)
{
	unsigned int n = 0, t, tries, before_n, after_n = 0;
	char *before, *after = NULL;
	uint64_t targets[3];
	int rc;

	REQUIRE_EDU();
	if (!FAULT_FORMAT_KNOWN)
		SKIP(return, "no IOMMU fault report format known for this architecture");
	up_edu(_metadata, self->addr, NULL, NULL);
	before = read_klog();
	ASSERT_NE(NULL, before);
	before_n = fault_reports(before, self->addr);
	rc = run_child(&self->pid, dma_outside, self->sh);
	if (self->sh->note[0])
		TH_LOG("%s", self->sh->note);
	ASSERT_EQ(0, rc) TH_LOG("child exit %d: %s", rc,
				rc < 0 ? "timed out" : self->sh->why);

	/* One report per blocked write, from the IOMMU's fault interrupt. */
	targets[n++] = BASE + MEM + 0x10000;
	if (self->sh->canary_phys)
		targets[n++] = self->sh->canary_phys;
	targets[n++] = 0x1000;
	for (tries = 0; tries < 50; tries++) {
		free(after);
		after = read_klog();
		ASSERT_NE(NULL, after);
		after_n = fault_reports(after, self->addr);
		if (after_n >= before_n + n)
			break;
		usleep(100000);
	}
	EXPECT_LE(before_n + n, after_n)
		TH_LOG("%u new fault reports naming %s, want %u",
		       after_n - before_n, self->addr, n);
	for (t = 0; t < n; t++) {
		unsigned long long at = targets[t];
		unsigned int was = fault_reports_at(before, self->addr, at);
		unsigned int now = fault_reports_at(after, self->addr, at);

		EXPECT_LT(was, now) TH_LOG("no new fault report at %#llx", at);
	}
	free(before);
	free(after);
}

TEST_F_TIMEOUT(edu, non_owner_gets_eacces, DEV_TIMEOUT)
{
	struct vanity_device_info info;
	struct vanity_device *d;
	int fd;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vanity_attach("other", &self->v));
	fd = vanity_fd(self->v);
	EXPECT_EQ(-EACCES, vanity_device_get(self->v, "edu", &d));
	EXPECT_EQ(-EACCES, device_ioctl(fd, "edu", 0, &info));
	EXPECT_EQ(-EACCES, device_ioctl(fd, NULL, 0, &info));
	EXPECT_EQ(-EACCES, vt_map_err(fd, EDU_BAR_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, VANITY_MMAP_BAR(0, 0)));
	/* A name no device has is ENOENT, whoever asks. */
	EXPECT_EQ(-ENOENT, vanity_device_get(self->v, "nosuch", &d));
	EXPECT_EQ(-ENOENT, device_ioctl(fd, "nosuch", 0, &info));
	/* And the owner gets what other was refused. */
	vanity_detach(self->v);
	self->v = NULL;
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	EXPECT_EQ(0, vanity_device_get(self->v, "edu", &d));
	EXPECT_EQ(0, vt_map_err(vanity_fd(self->v), EDU_BAR_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, VANITY_MMAP_BAR(0, 0)));
}

/*
 * Offsets that name no BAR: ENXIO where the device is there but the BAR
 * is not (device.h's word for "no BAR there"; the offset's three BAR
 * bits can say 6 and 7, where no function has one), ENOENT where the
 * device is not (VANITY_IOC_DEVICE's word for "no such device"); a BAR
 * mapped any other way than MAP_SHARED at its offset, whole, is EINVAL.
 */
TEST_F_TIMEOUT(edu, bad_bar_mappings_are_refused, DEV_TIMEOUT)
{
	struct vanity_device_info info;
	struct vanity_device *d;
	volatile void *bar;
	uint64_t off, size;
	size_t len;
	int fd;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	fd = vanity_fd(self->v);
	ASSERT_EQ(0, device_ioctl(fd, "edu", 0, &info));
	size = info.bars[0].size;
	off = info.bars[0].mmap_offset;
	ASSERT_EQ(EDU_BAR_SIZE, size);
	ASSERT_EQ(VANITY_MMAP_BAR(info.index, 0), off);
	ASSERT_EQ(0, info.bars[5].size);
	/* The right mapping works, so each refusal below is for its one fault. */
	EXPECT_EQ(0, vt_map_err(fd, size, PROT_READ | PROT_WRITE, MAP_SHARED, off));
	EXPECT_EQ(-EINVAL, vt_map_err(fd, size + 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, off));
	EXPECT_EQ(-EINVAL, vt_map_err(fd, size - 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, off));
	EXPECT_EQ(-EINVAL, vt_map_err(fd, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, off));
	EXPECT_EQ(-EINVAL, vt_map_err(fd, size - 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, off + 4096));
	EXPECT_EQ(-ENXIO, vt_map_err(fd, 4096, PROT_READ, MAP_SHARED,
				  VANITY_MMAP_BAR(info.index, 5)));
	EXPECT_EQ(-ENXIO, vt_map_err(fd, 4096, PROT_READ, MAP_SHARED,
				  VANITY_MMAP_BAR(info.index, 7)));
	EXPECT_EQ(-ENOENT, vt_map_err(fd, size, PROT_READ, MAP_SHARED,
				   VANITY_MMAP_BAR(7, 0)));
	EXPECT_EQ(-ENOENT, device_ioctl(fd, NULL, 7, &info));
	/* libvanity: an index past the BARs is the caller's error, an empty one ENXIO. */
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	EXPECT_EQ(-ENXIO, vanity_device_bar(d, 5, &bar, &len));
	EXPECT_EQ(-EINVAL, vanity_device_bar(d, VANITY_DEVICE_BARS, &bar, &len));
}

/*
 * A BAR mapping stays whole: a split would move a part's offset onto
 * another BAR's (or past the device's), which the fault handler would
 * then serve. Every split is refused, and the mapping still works.
 */
TEST_F_TIMEOUT(edu, a_bar_mapping_cannot_be_split, DEV_TIMEOUT)
{
	struct vanity_device_info info;
	volatile uint32_t *reg;
	uint8_t *p;
	void *q;
	size_t size;
	int fd;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	fd = vanity_fd(self->v);
	ASSERT_EQ(0, device_ioctl(fd, "edu", 0, &info));
	size = info.bars[0].size;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)info.bars[0].mmap_offset);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	reg = (volatile uint32_t *)p;
	EXPECT_EQ(EDU_ID, reg[EDU_REG_ID / 4]);
	errno = 0;
	EXPECT_EQ(-1, munmap(p, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(p + size - 4096, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p + 4096, 4096, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	q = mremap(p, size, size / 2, 0);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	/* Still whole, still the device, and it goes whole. */
	EXPECT_EQ(EDU_ID, reg[EDU_REG_ID / 4]);
	EXPECT_EQ(0, munmap(p, size));
}

TEST_F_TIMEOUT(edu, refusals_leave_the_system_down, DEV_TIMEOUT)
{
	char bridge[32], grouped[32], drv_before[64], drv[64];
	const char *absent = find_absent();

	REQUIRE_EDU();
	ASSERT_NE(NULL, absent) TH_LOG("every candidate address has a function");
	expect_refused(_metadata, self->addr, self->driver_before, "ghost", absent, NULL);

	/* Every VM's PCI has a host bridge; the rule's own words (kmod/core/pci.c). */
	ASSERT_TRUE(find_fn(is_bridge, NULL, bridge, sizeof(bridge)));
	expect_refused(_metadata, self->addr, self->driver_before, "hostbr", bridge,
		       "it is a bridge, not an endpoint");

	if (!find_fn(shares_group_unbound, self->addr, grouped, sizeof(grouped)) &&
	    !find_fn(shares_group, self->addr, grouped, sizeof(grouped))) {
		TH_LOG("no endpoint shares its IOMMU group here: that refusal is not exercised");
		return;
	}
	driver_of(grouped, drv_before, sizeof(drv_before));
	expect_refused(_metadata, self->addr, self->driver_before, "grouped", grouped,
		       "not passed with it");
	driver_of(grouped, drv, sizeof(drv));
	EXPECT_STREQ(drv_before, drv) TH_LOG("%s's driver after the refusal", grouped);
}

TEST_F_TIMEOUT(edu, forced_down_revokes_the_bar_mapping, DEV_TIMEOUT)
{
	char out[4096], drv[64], b;
	int rc;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, pipe(self->ready));
	ASSERT_EQ(0, pipe(self->go));
	self->sh->ready_w = self->ready[1];
	self->sh->go_r = self->go[0];
	self->pid = vt_spawn(read_after_revoke, self->sh);
	ASSERT_LT(0, self->pid);
	/* Only the child writes ready and reads go: its exit is EOF here. */
	close(self->ready[1]);
	self->ready[1] = -EBADF;
	close(self->go[0]);
	self->go[0] = -EBADF;
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(1, read(self->ready[0], &b, 1)) TH_LOG("child: %s", self->sh->why);
	EXPECT_EQ(0, vt_sh(CTL " down --force", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(1, write(self->go[1], "g", 1));
	rc = vt_wait(self->pid, CHILD_MS);
	self->pid = 0;
	EXPECT_EQ(0, rc) TH_LOG("child exit %d: %s", rc,
				rc < 0 ? "timed out" : self->sh->why);
	driver_of(self->addr, drv, sizeof(drv));
	EXPECT_STREQ(self->driver_before, drv);
	expect_no_system(_metadata);
}

/* What the owner is told is what the kernel's sysfs says of the function. */
TEST_F_TIMEOUT(edu, info_says_what_sysfs_says, DEV_TIMEOUT)
{
	const struct vanity_device_info *info;
	unsigned long long start, end, flags;
	char path[300], addr[32];
	struct vanity_device *d;
	unsigned int i;
	FILE *f;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	info = vanity_device_info(d);
	EXPECT_STREQ("edu", info->name);
	EXPECT_EQ(0, info->index);
	EXPECT_EQ(sysfs_num(self->addr, "vendor"), info->vendor);
	EXPECT_EQ(sysfs_num(self->addr, "device"), info->device);
	EXPECT_EQ(sysfs_num(self->addr, "subsystem_vendor"), info->subsystem_vendor);
	EXPECT_EQ(sysfs_num(self->addr, "subsystem_device"), info->subsystem_device);
	EXPECT_EQ(sysfs_num(self->addr, "class"), info->class);
	EXPECT_EQ(sysfs_num(self->addr, "revision"), info->revision);
	snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", info->pci_domain,
		 info->pci_bus, info->pci_devfn >> 3, info->pci_devfn & 7);
	EXPECT_STREQ(self->addr, addr);
	/* The edu has one MSI vector and no MSI-X, so no hole in its BAR. */
	EXPECT_EQ(1, info->msi_vectors);
	EXPECT_EQ(0, info->msix_vectors);
	snprintf(path, sizeof(path), DEVICES "/%s/resource", self->addr);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(3, fscanf(f, "%llx %llx %llx", &start, &end, &flags));
	fclose(f);
	EXPECT_EQ(end - start + 1, info->bars[0].size);
	EXPECT_EQ(VANITY_BAR_F_MEM | VANITY_BAR_F_MAPPABLE, info->bars[0].flags);
	EXPECT_EQ(VANITY_MMAP_BAR(info->index, 0), info->bars[0].mmap_offset);
	EXPECT_EQ(0, info->bars[0].hole_size);
	for (i = 1; i < VANITY_DEVICE_BARS; i++) {
		EXPECT_EQ(0, info->bars[i].size) TH_LOG("BAR %u", i);
		EXPECT_EQ(0, info->bars[i].flags) TH_LOG("BAR %u", i);
	}
}

/*
 * Addresses the device cannot be given: outside every region, crossing a
 * region's end, in a region of the owner the device is not granted. The
 * windows sit where the UAPI says: private first, then granted channels.
 */
TEST_F_TIMEOUT(edu, iova_is_refused_outside_the_grant, DEV_TIMEOUT)
{
	struct vanity_channel *feed, *back;
	struct vanity_device_info info;
	struct vanity_device *d;
	uint64_t iova, probe = 0;
	unsigned char *mem;
	size_t len;
	int fd;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, CHANNELS, "private,feed");
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	fd = vanity_fd(self->v);
	ASSERT_EQ(0, vanity_memory(self->v, (void **)&mem, &len));
	ASSERT_EQ(MEM, len);
	ASSERT_EQ(0, vanity_channel_get(self->v, "feed", &feed));
	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));

	EXPECT_EQ(-EINVAL, vanity_device_iova(d, mem, 0, &iova));
	EXPECT_EQ(-EINVAL, vanity_device_iova(d, &probe, sizeof(probe), &iova));
	EXPECT_EQ(-EINVAL, vanity_device_iova(d, mem + MEM - 16, 32, &iova));
	EXPECT_EQ(-ENOENT, vanity_device_iova(d, back->region, 64, &iova));
	ASSERT_EQ(0, vanity_device_iova(d, mem + MEM - 16, 16, &iova));
	EXPECT_EQ(BASE + MEM - 16, iova);
	ASSERT_EQ(0, vanity_device_iova(d, feed->region, feed->size, &iova));
	EXPECT_EQ(BASE + MEM, iova);

	/* The same, as the module tells it. */
	ASSERT_EQ(0, window_ioctl(fd, VANITY_MMAP_K_PRIVATE, 0, &info));
	EXPECT_EQ(BASE, info.win_iova);
	EXPECT_EQ(MEM, info.win_size);
	ASSERT_EQ(0, window_ioctl(fd, VANITY_MMAP_K_CHANNEL, feed->index, &info));
	EXPECT_EQ(BASE + MEM, info.win_iova);
	EXPECT_EQ(feed->size, info.win_size);
	EXPECT_EQ(-ENOENT, window_ioctl(fd, VANITY_MMAP_K_CHANNEL, back->index, &info));
}

TEST_F_TIMEOUT(edu, dma_reaches_a_granted_channel_after_the_private_window, DEV_TIMEOUT)
{
	uint64_t src, dst, chan_iova;
	struct vanity_channel *feed;
	unsigned char *mem, *region, *snap;
	struct vanity_device *d;
	volatile void *bar;
	size_t len, off, i;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, CHANNELS, "private,feed");
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	ASSERT_EQ(0, vanity_memory(self->v, (void **)&mem, &len));
	ASSERT_EQ(0, vanity_channel_get(self->v, "feed", &feed));
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	ASSERT_EQ(0, vanity_device_bar(d, 0, &bar, &len));
	region = feed->region;
	off = (size_t)(feed->data - region);	/* slot 0, past the header */
	ASSERT_LT(off + DMA_LEN, feed->size);
	ASSERT_EQ(0, vanity_device_iova(d, region, feed->size, &chan_iova));
	EXPECT_EQ(BASE + MEM, chan_iova);
	snap = malloc(feed->size);
	ASSERT_NE(NULL, snap);
	memcpy(snap, region, feed->size);
	for (i = 0; i < DMA_LEN; i++)
		mem[i] = pat(i);
	ASSERT_EQ(0, vanity_device_iova(d, mem, DMA_LEN, &src));
	ASSERT_EQ(0, vanity_device_iova(d, region + off, DMA_LEN, &dst));
	EXPECT_EQ(chan_iova + off, dst);
	ASSERT_EQ(0, edu_dma(bar, false, src, 0, DMA_LEN));
	ASSERT_EQ(0, edu_dma(bar, true, dst, 0, DMA_LEN));
	for (i = 0; i < feed->size; i++) {
		unsigned char want = i >= off && i < off + DMA_LEN ? pat(i - off) : snap[i];

		if (region[i] != want)
			break;
	}
	EXPECT_EQ(feed->size, i) TH_LOG("channel byte %#zx is %#x", i,
					i < feed->size ? region[i] : 0);
	free(snap);
}

TEST_HARNESS_MAIN

/* ------------------------------------------------------------ interrupts */

#define IRQ_SPIN_MS	5000	/* bound of a spin for one CQE */

/* debugfs's count of the edu's vector @vec, or -1 when it says none. */
static long long irq_count(unsigned int vec)
{
	char want[64], line[256];
	long long n = -1;
	FILE *f = fopen("/sys/kernel/debug/vanity/devices", "r");
	char *p;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), " vector %u count ", vec);
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, want)) && strstr(line, "  irq "))
			n = strtoll(p + strlen(want), NULL, 10);
	fclose(f);
	return n;
}

/*
 * Spin on the CQ for one CQE, with no system call, at most IRQ_SPIN_MS
 * (the clock read every 4096 looks): its res and user_data, -ETIMEDOUT
 * when none came.
 */
static int spin_cqe(struct vanity_ring *r, uint64_t *ud, long ms)
{
	struct timespec t0;
	struct vanity_cqe *cqe;
	unsigned long n;
	int res;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0;; n++) {
		if (!vanity_peek_cqe(r, &cqe)) {
			res = cqe->res;
			*ud = cqe->user_data;
			vanity_cqe_seen(r);
			return res;
		}
		if (!(n & 4095) && ms_since(&t0) >= ms)
			return -ETIMEDOUT;
	}
}

/* Submit one IRQ_WAIT exactly as prepped (the module's checks, not the library's). */
static int submit_irq_wait(struct vanity_ring *r, uint32_t dev, uint64_t mask,
			   int64_t timeout_ns, uint64_t ud)
{
	struct vanity_sqe *sqe = vanity_get_sqe(r);

	if (!sqe)
		return -EBUSY;
	vanity_prep_irq_wait(sqe, dev, mask, timeout_ns, ud);
	return vanity_submit(r) == 1 ? 0 : -EIO;
}

/*
 * Child of msi_arrives_as_a_cqe: as owner, the edu's MSI, raised by hand
 * and by a finished DMA, completes an armed IRQ_WAIT seen by spinning on
 * the CQ; interrupts before arming fold into one CQE; nothing is left
 * over for a poll.
 */
static int irq_roundtrip(void *arg)
{
	const struct vanity_device_info *info;
	struct shared *sh = arg;
	struct vanity_device *d;
	struct vanity_ring *r;
	volatile void *bar;
	unsigned char *mem;
	long long before, after;
	struct vanity *v;
	uint64_t iova, ud = 0;
	unsigned int i;
	size_t len;
	int ret, n;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	r = vanity_ring(v);
	ret = vanity_device_get(v, "edu", &d);
	if (ret)
		return fail(sh, 11, "vanity_device_get(edu): %s", strerror(-ret));
	info = vanity_device_info(d);
	if (info->irq_vectors != 1 || info->msi_vectors != 1 || info->msix_vectors)
		return fail(sh, 12, "vectors: %u for IRQ_WAIT, %u MSI, %u MSI-X",
			    info->irq_vectors, info->msi_vectors, info->msix_vectors);
	ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		return fail(sh, 13, "vanity_device_bar(0): %s", strerror(-ret));
	before = irq_count(0);
	if (before < 0)
		return fail(sh, 14, "debugfs shows no count for vector 0");
	/* The edu has no reset: what earlier tests raised is still set. */
	bar_wr32(bar, EDU_REG_IRQ_ACK, ~0U);

	/* Armed; nothing comes until the edu raises its interrupt. */
	ret = vanity_device_irq_arm(d, 1, -1, 100);
	if (ret || vanity_submit(r) != 1)
		return fail(sh, 15, "arm: %s", strerror(-ret));
	ret = spin_cqe(r, &ud, 200);
	if (ret != -ETIMEDOUT)
		return fail(sh, 16, "a CQE (res %d) before any interrupt", ret);
	bar_wr32(bar, EDU_REG_IRQ_RAISE, 0x1);
	ret = spin_cqe(r, &ud, IRQ_SPIN_MS);
	if (ret != 0 || ud != 100)
		return fail(sh, 17, "after a raise: res %d, user_data %llu", ret,
			    (unsigned long long)ud);
	if (bar_rd32(bar, EDU_REG_IRQ_STATUS) != 0x1)
		return fail(sh, 18, "status %#x, want 0x1",
			    bar_rd32(bar, EDU_REG_IRQ_STATUS));
	bar_wr32(bar, EDU_REG_IRQ_ACK, 0x1);

	/* A DMA that raises it when done: the bytes are there by the CQE. */
	ret = vanity_memory(v, (void **)&mem, &len);
	if (ret)
		return fail(sh, 19, "vanity_memory: %s", strerror(-ret));
	for (i = 0; i < DMA_LEN; i++)
		mem[IN_OFF + i] = pat(i);
	ret = vanity_device_iova(d, mem + IN_OFF, DMA_LEN, &iova);
	if (ret)
		return fail(sh, 20, "iova: %s", strerror(-ret));
	ret = edu_dma(bar, false, iova, 0, DMA_LEN);
	if (ret)
		return fail(sh, 21, "DMA RAM -> edu: %s", strerror(-ret));
	ret = vanity_device_irq_arm(d, 1, -1, 101);
	if (ret || vanity_submit(r) != 1)
		return fail(sh, 22, "arm: %s", strerror(-ret));
	ret = edu_dma_irq(bar, true, iova + (OUT_OFF - IN_OFF), 0, DMA_LEN,
			  EDU_CMD_IRQ);
	if (ret)
		return fail(sh, 23, "DMA edu -> RAM: %s", strerror(-ret));
	ret = spin_cqe(r, &ud, IRQ_SPIN_MS);
	if (ret != 0 || ud != 101)
		return fail(sh, 24, "after the DMA: res %d, user_data %llu", ret,
			    (unsigned long long)ud);
	if (!(bar_rd32(bar, EDU_REG_IRQ_STATUS) & EDU_IRQ_DMA))
		return fail(sh, 25, "status %#x", bar_rd32(bar, EDU_REG_IRQ_STATUS));
	bar_wr32(bar, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
	io_rmb();
	if (memcmp(mem + OUT_OFF, mem + IN_OFF, DMA_LEN))
		return fail(sh, 26, "the DMA's bytes are not there at its CQE");

	/*
	 * Two interrupts before anything is armed, each handled before the
	 * next is raised (two edge MSIs close together may arrive as one, on
	 * arm64's ITS as on any interrupt controller): one CQE takes both.
	 */
	for (n = 3; n <= 4; n++) {
		bar_wr32(bar, EDU_REG_IRQ_RAISE, 0x2);
		for (i = 0; i < 5000 && irq_count(0) < before + n; i++)
			usleep(1000);
		bar_wr32(bar, EDU_REG_IRQ_ACK, 0x2);
		after = irq_count(0);
		if (after != before + n)
			return fail(sh, 27, "debugfs counted %lld interrupts, want %d",
				    after - before, n);
	}
	ret = submit_irq_wait(r, info->index, 1, 0, 102);
	if (ret)
		return fail(sh, 28, "submit: %s", strerror(-ret));
	ret = spin_cqe(r, &ud, IRQ_SPIN_MS);
	if (ret != 0 || ud != 102)
		return fail(sh, 29, "a poll with two pending: res %d, user_data %llu",
			    ret, (unsigned long long)ud);
	ret = submit_irq_wait(r, info->index, 1, 0, 103);
	if (ret)
		return fail(sh, 30, "submit: %s", strerror(-ret));
	ret = spin_cqe(r, &ud, IRQ_SPIN_MS);
	if (ret != -ETIME || ud != 103)
		return fail(sh, 31, "a poll with none pending: res %d, user_data %llu",
			    ret, (unsigned long long)ud);

	/* A deadline with no interrupt: -ETIME. */
	ret = submit_irq_wait(r, info->index, 1, 20 * 1000 * 1000, 104);
	if (ret)
		return fail(sh, 32, "submit: %s", strerror(-ret));
	ret = spin_cqe(r, &ud, IRQ_SPIN_MS);
	if (ret != -ETIME || ud != 104)
		return fail(sh, 33, "a 20 ms IRQ_WAIT: res %d, user_data %llu", ret,
			    (unsigned long long)ud);
	vanity_detach(v);
	return 0;
}

TEST_F_TIMEOUT(edu, msi_arrives_as_a_cqe, DEV_TIMEOUT)
{
	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	EXPECT_CHILD_OK(irq_roundtrip);
}

/*
 * The module's refusals of IRQ_WAIT, each a CQE: another shard's device
 * (EACCES), a vector the edu does not have, no vector, a device index the
 * system does not have (EINVAL); the library refuses the same before the
 * ring. An IRQ_WAIT armed when its shard detaches is gone, its CQE never
 * posted; an interrupt no IRQ_WAIT took is not left for the next
 * attachment.
 */
TEST_F_TIMEOUT(edu, irq_wait_refusals_and_detach, DEV_TIMEOUT)
{
	struct vanity_device *d;
	struct vanity_ring *r;
	volatile void *bar;
	uint64_t ud = 0;
	long long before;
	unsigned int i;
	size_t len;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vanity_attach("other", &self->v));
	r = vanity_ring(self->v);
	ASSERT_EQ(0, submit_irq_wait(r, 0, 1, -1, 1));
	EXPECT_EQ(-EACCES, spin_cqe(r, &ud, IRQ_SPIN_MS));
	ASSERT_EQ(0, submit_irq_wait(r, 1, 1, -1, 2));
	EXPECT_EQ(-EINVAL, spin_cqe(r, &ud, IRQ_SPIN_MS));
	vanity_detach(self->v);
	self->v = NULL;

	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	r = vanity_ring(self->v);
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	EXPECT_EQ(-EINVAL, vanity_device_irq_arm(d, 0x2, -1, 3));
	EXPECT_EQ(-EINVAL, vanity_device_irq_arm(d, 0, -1, 3));
	ASSERT_EQ(0, submit_irq_wait(r, 0, 0x2, -1, 3));
	EXPECT_EQ(-EINVAL, spin_cqe(r, &ud, IRQ_SPIN_MS));
	EXPECT_EQ(3, ud);
	ASSERT_EQ(0, submit_irq_wait(r, 0, 0, -1, 4));
	EXPECT_EQ(-EINVAL, spin_cqe(r, &ud, IRQ_SPIN_MS));
	ASSERT_EQ(0, submit_irq_wait(r, 0, 1ULL << 63, -1, 5));
	EXPECT_EQ(-EINVAL, spin_cqe(r, &ud, IRQ_SPIN_MS));
	/* Armed, then the owner detaches: cancelled, its CQE never posted. */
	ASSERT_EQ(0, submit_irq_wait(r, 0, 1, -1, 6));
	EXPECT_EQ(-ETIMEDOUT, spin_cqe(r, &ud, 100));
	vanity_detach(self->v);
	self->v = NULL;
	/* An interrupt with nothing armed is pending, until the next attach. */
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	r = vanity_ring(self->v);
	EXPECT_EQ(-ETIMEDOUT, spin_cqe(r, &ud, 100));
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	ASSERT_EQ(0, vanity_device_bar(d, 0, &bar, &len));
	before = irq_count(0);
	bar_wr32(bar, EDU_REG_IRQ_RAISE, 0x1);
	bar_wr32(bar, EDU_REG_IRQ_ACK, 0x1);
	for (i = 0; i < 5000 && irq_count(0) < before + 1; i++)
		usleep(1000);
	EXPECT_EQ(before + 1, irq_count(0));
	vanity_detach(self->v);
	self->v = NULL;
	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	r = vanity_ring(self->v);
	ASSERT_EQ(0, submit_irq_wait(r, 0, 1, 0, 7));
	EXPECT_EQ(-ETIME, spin_cqe(r, &ud, IRQ_SPIN_MS)) TH_LOG("an interrupt of the last attachment was still pending");
	EXPECT_EQ(7, ud);
}

/*
 * Child of interrupts_racing_batches: as owner, IRQ_ROUNDS times, an
 * IRQ_WAIT armed, the edu raised, and batches of NOPs entered while the
 * interrupt lands (on another CPU, posting while a batch owns the CQ, or
 * not): every NOP's CQE and exactly one IRQ_WAIT CQE per round, none
 * lost or doubled.
 */
#define IRQ_ROUNDS	300
#define IRQ_NOPS	8

static int irq_race(void *arg)
{
	struct shared *sh = arg;
	struct vanity_device *d;
	struct vanity_cqe *cqe;
	struct vanity_ring *r;
	struct timespec t0;
	volatile void *bar;
	struct vanity *v;
	unsigned int k, j, nops, irqs;
	uint64_t ud;
	size_t len;
	int ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	r = vanity_ring(v);
	ret = vanity_device_get(v, "edu", &d);
	if (!ret)
		ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		return fail(sh, 11, "the edu: %s", strerror(-ret));
	for (k = 0; k < IRQ_ROUNDS; k++) {
		ret = vanity_device_irq_arm(d, 1, -1, 1000000 + k);
		if (ret || vanity_submit(r) != 1)
			return fail(sh, 12, "round %u: arm: %s", k, strerror(-ret));
		bar_wr32(bar, EDU_REG_IRQ_RAISE, 0x1);
		nops = irqs = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (nops < 4 * IRQ_NOPS || !irqs) {
			if (nops < 4 * IRQ_NOPS) {
				for (j = 0; j < IRQ_NOPS; j++)
					vanity_prep_nop(vanity_get_sqe(r), k * 64 + j);
				if (vanity_submit(r) != IRQ_NOPS)
					return fail(sh, 13, "round %u: NOPs not taken", k);
			}
			while (!vanity_peek_cqe(r, &cqe)) {
				ud = cqe->user_data;
				if (ud == 1000000 + k && cqe->res == 0) {
					irqs++;
				} else if (ud >= k * 64 && ud < k * 64 + IRQ_NOPS &&
					   cqe->res == 0) {
					nops++;
				} else {
					return fail(sh, 14, "round %u: CQE user_data %llu res %d",
						    k, (unsigned long long)ud, cqe->res);
				}
				vanity_cqe_seen(r);
			}
			if (ms_since(&t0) > IRQ_SPIN_MS)
				return fail(sh, 15, "round %u: %u NOP CQEs, %u IRQ CQEs",
					    k, nops, irqs);
		}
		if (irqs != 1 || nops != 4 * IRQ_NOPS)
			return fail(sh, 16, "round %u: %u NOP CQEs, %u IRQ CQEs", k,
				    nops, irqs);
		bar_wr32(bar, EDU_REG_IRQ_ACK, 0x1);
	}
	/* Nothing late: a poll finds no event and no CQE follows it. */
	usleep(20000);
	if (!vanity_peek_cqe(r, &cqe))
		return fail(sh, 17, "a late CQE: user_data %llu res %d",
			    (unsigned long long)cqe->user_data, cqe->res);
	vanity_detach(v);
	return 0;
}

TEST_F_TIMEOUT(edu, interrupts_racing_batches, DEV_TIMEOUT)
{
	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	EXPECT_CHILD_OK(irq_race);
}

/* ------------------------------------------------------------ placement */

#define BIG_MEM		(160ULL << 20)	/* past arm64's SMMU MSI window at 128 MiB */

/*
 * Whether [@iova, @iova + @len) meets a range the edu's IOMMU group
 * reserves (sysfs reserved_regions: "start end type", inclusive); -1 when
 * the file cannot be read.
 */
static int meets_reserved(const char *fn, uint64_t iova, uint64_t len)
{
	char path[512], type[32];
	unsigned long long a, b;
	int hit = 0;
	FILE *f;

	snprintf(path, sizeof(path), DEVICES "/%s/iommu_group/reserved_regions", fn);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%llx %llx %31s", &a, &b, type) == 3)
		if (iova <= b && a <= iova + len - 1)
			hit = 1;
	fclose(f);
	return hit;
}

/*
 * Child of a_big_private_region_is_placed_past_reserved_ranges: as owner
 * of BIG_MEM, the private window meets no reserved range, and the edu's
 * DMA round-trips at its first and its last page.
 */
static int dma_big(void *arg)
{
	struct shared *sh = arg;
	long page = sysconf(_SC_PAGESIZE);
	struct vanity_device *d;
	uint64_t iova, at[2];
	volatile void *bar;
	unsigned char *mem;
	struct vanity *v;
	size_t len, i, k;
	int ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	ret = vanity_memory(v, (void **)&mem, &len);
	if (ret || len != BIG_MEM)
		return fail(sh, 11, "vanity_memory: %d, %zu bytes", ret, len);
	ret = vanity_device_get(v, "edu", &d);
	if (!ret)
		ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		return fail(sh, 12, "the edu: %s", strerror(-ret));
	ret = vanity_device_iova(d, mem, BIG_MEM, &iova);
	if (ret)
		return fail(sh, 13, "iova of the private region: %s", strerror(-ret));
	ret = meets_reserved(sh->note, iova, BIG_MEM);
	if (ret)
		return fail(sh, 14, "the window %#llx+%#llx meets a reserved range (%d)",
			    (unsigned long long)iova, BIG_MEM, ret);
	at[0] = 0;
	at[1] = BIG_MEM - (uint64_t)page;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < DMA_LEN; i++)
			mem[at[k] + i] = pat(i + k);
		ret = edu_dma(bar, false, iova + at[k], 0, DMA_LEN);
		if (!ret)
			ret = edu_dma(bar, true, iova + at[k] + DMA_LEN, 0, DMA_LEN);
		if (ret)
			return fail(sh, 15, "DMA at %#llx: %s",
				    (unsigned long long)at[k], strerror(-ret));
		for (i = 0; i < DMA_LEN; i++)
			if (mem[at[k] + DMA_LEN + i] != pat(i + k))
				return fail(sh, 16, "byte %#llx is %#x, want %#x",
					    (unsigned long long)(at[k] + DMA_LEN + i),
					    mem[at[k] + DMA_LEN + i], pat(i + k));
	}
	vanity_detach(v);
	return 0;
}

TEST_F_TIMEOUT(edu, a_big_private_region_is_placed_past_reserved_ranges, DEV_TIMEOUT)
{
	char text[1024], out[4096];
	REQUIRE_EDU();
	snprintf(text, sizeof(text),
		 "[system]\nname = devtest\n"
		 "[shard owner]\ncpus = 2\nmemory = %lluM\n"
		 "[device edu]\npci = %s\nshard = owner\n",
		 BIG_MEM >> 20, self->addr);
	vt_write_file(MANIFEST, text);
	ASSERT_EQ(0, vt_sh(CTL " up " MANIFEST, out, sizeof(out))) TH_LOG("%s", out);
	snprintf(self->sh->note, sizeof(self->sh->note), "%s", self->addr);
	EXPECT_CHILD_OK(dma_big);
}

/* ------------------------------------------------------------ hand-back */

/* VANITY_HANDBACK_ROUNDS (1..1000) overrides it (mk/vm.mk says why). */
#define ROUNDS		100
#define WARMUP		5	/* rounds before the memory counters are taken */
#define BACK_MS		20000	/* bound of the host driver's return, per round */
/* What 100 rounds may add to Slab and take from free memory (kB): noise. */
#define LEAK_KB		2048

static bool is_nvme(const char *fn, const char *avoid)
{
	(void)avoid;
	return sysfs_num(fn, "class") == 0x010802;
}

static bool is_e1000e(const char *fn, const char *avoid)
{
	(void)avoid;
	return sysfs_num(fn, "vendor") == 0x8086 && sysfs_num(fn, "device") == 0x10d3;
}

/*
 * The kernel's nvme driver has @fn again and works: its controller's
 * namespace is there and its first 4 KiB read back. 0, or why not.
 */
static const char *nvme_works(const char *fn)
{
	static char buf[4096] __attribute__((aligned(4096)));
	char dev[128];
	int fd;
	ssize_t n;

	if (vt_nvme_namespace(fn, dev, sizeof(dev)))
		return "no nvme controller or no namespace";
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0)
		return "namespace not openable";
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return n == (ssize_t)sizeof(buf) ? NULL : "namespace not readable";
}

/* The kernel's e1000e driver has @fn again: its interface is there. */
static const char *e1000e_works(const char *fn)
{
	char path[600], ifname[64], mac[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), DEVICES "/%s/net", fn);
	if (!vt_dir_entry(path, "", ifname, sizeof(ifname)))
		return "no network interface";
	snprintf(path, sizeof(path), DEVICES "/%s/net/%s/address", fn, ifname);
	f = fopen(path, "r");
	if (!f)
		return "no address";
	if (!fgets(mac, sizeof(mac), f))
		mac[0] = '\0';
	fclose(f);
	return strlen(mac) >= 17 ? NULL : "no MAC address";
}

/*
 * ROUNDS times: UP gives the function at @addr to owner (every tenth
 * round the owner attaches and reads BAR0's register @reg, which must not
 * read all ones), DOWN gives it back, and @works must say the host
 * driver @drv has it and it works within BACK_MS. Slab and free memory
 * after ROUNDS rounds against after WARMUP: at most LEAK_KB apart.
 */
static void hand_back(struct __test_metadata *_metadata, struct vanity **vp,
		      const char *addr, const char *drv,
		      const char *(*works)(const char *fn), size_t reg)
{
	char text[1024], out[4096], now[64];
	long slab0 = 0, free0 = 0, slab1, free1;
	const char *env = getenv("VANITY_HANDBACK_ROUNDS");
	unsigned int rounds = env ? (unsigned int)atoi(env) : ROUNDS;
	struct vanity_device *d;
	const char *why = NULL;
	struct timespec t0;
	volatile void *bar;
	unsigned int k;
	uint32_t val;
	size_t len;

	snprintf(text, sizeof(text),
		 "[system]\nname = devtest\n[shard owner]\ncpus = 2\nmemory = 64K\n"
		 "[device dev]\npci = %s\nshard = owner\n", addr);
	vt_write_file(MANIFEST, text);
	ASSERT_EQ(0, vt_sh(CTL " build " MANIFEST " -o " IMAGE, out, sizeof(out)))
		TH_LOG("%s", out);
	ASSERT_TRUE(rounds > WARMUP && rounds <= 1000)
		TH_LOG("VANITY_HANDBACK_ROUNDS=%s: %u..1000", env, WARMUP + 1);
	for (k = 0; k < rounds; k++) {
		ASSERT_EQ(0, vt_sh(CTL " up " IMAGE, out, sizeof(out)))
			TH_LOG("round %u: %s", k, out);
		driver_of(addr, now, sizeof(now));
		ASSERT_STREQ("vanity", now) TH_LOG("round %u", k);
		if (k % 10 == 0) {
			ASSERT_EQ(0, vanity_attach("owner", vp));
			ASSERT_EQ(0, vanity_device_get(*vp, "dev", &d));
			ASSERT_EQ(0, vanity_device_bar(d, 0, &bar, &len));
			val = bar_rd32(bar, reg);
			EXPECT_NE(0xffffffffU, val) TH_LOG("round %u: BAR0 + %#zx", k, reg);
			vanity_detach(*vp);
			*vp = NULL;
		}
		ASSERT_EQ(0, vt_sh(CTL " down", out, sizeof(out)))
			TH_LOG("round %u: %s", k, out);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			driver_of(addr, now, sizeof(now));
			why = strcmp(now, drv) ? "not bound to it" : works(addr);
			if (!why || ms_since(&t0) >= BACK_MS)
				break;
			usleep(10000);
		}
		ASSERT_EQ(NULL, why) TH_LOG("round %u: %s after DOWN: %s (driver '%s')",
					    k, drv, why, now);
		if (k + 1 == WARMUP) {
			vt_settle(200);
			slab0 = vt_meminfo("Slab");
			free0 = vt_free_kb();
		}
	}
	vt_settle(200);
	slab1 = vt_meminfo("Slab");
	free1 = vt_free_kb();
	TH_LOG("%s: %u rounds; after round %u, Slab %ld kB, free %ld kB; after %u, %ld kB, %ld kB",
	       drv, rounds, WARMUP, slab0, free0, rounds, slab1, free1);
	EXPECT_LE(slab1 - slab0, LEAK_KB) TH_LOG("Slab grew by %ld kB", slab1 - slab0);
	EXPECT_LE(free0 - free1, LEAK_KB) TH_LOG("free memory fell by %ld kB", free0 - free1);
}

/*
 * The function the VM gives for @what, bound to @drv at the start (the
 * selftest boots load nvme and e1000e: tools/vm/run.sh, VM_MODULES).
 */
#define REQUIRE_HOSTED(match, what, drv, buf) do {			\
	char _d[64];							\
	REQUIRE_EDU();							\
	ASSERT_TRUE(find_fn(match, NULL, buf, sizeof(buf)))		\
		TH_LOG("no %s function in this VM", what);		\
	driver_of(buf, _d, sizeof(_d));					\
	ASSERT_STREQ(drv, _d) TH_LOG("%s at %s: the boot did not load %s", \
				      what, buf, drv);			\
} while (0)

TEST_F_TIMEOUT(edu, nvme_goes_back_to_its_driver_100_times, DEV_TIMEOUT)
{
	char addr[32];

	REQUIRE_HOSTED(is_nvme, "NVMe", "nvme", addr);
	/* BAR0 + 0x08: VS, the NVMe version the controller implements. */
	hand_back(_metadata, &self->v, addr, "nvme", nvme_works, 0x08);
}

TEST_F_TIMEOUT(edu, e1000e_goes_back_to_its_driver_100_times, DEV_TIMEOUT)
{
	char addr[32];

	REQUIRE_HOSTED(is_e1000e, "e1000e", "e1000e", addr);
	/* BAR0 + 0x08: STATUS. */
	hand_back(_metadata, &self->v, addr, "e1000e", e1000e_works, 0x08);
}

/*
 * Child of sigkill_in_the_middle_of_dma: as owner, DMA after DMA from
 * the edu into the private region, without waiting for any, telling the
 * test once the first is under way; killed meanwhile.
 */
static int dma_forever(void *arg)
{
	struct shared *sh = arg;
	struct vanity_device *d;
	volatile void *bar;
	unsigned char *mem;
	struct vanity *v;
	uint64_t iova;
	size_t len;
	char b = 'r';
	int ret;

	ret = vanity_attach("owner", &v);
	if (ret)
		return fail(sh, 10, "attach owner: %s", strerror(-ret));
	ret = vanity_memory(v, (void **)&mem, &len);
	if (!ret)
		ret = vanity_device_get(v, "edu", &d);
	if (!ret)
		ret = vanity_device_bar(d, 0, &bar, &len);
	if (!ret)
		ret = vanity_device_iova(d, mem, EDU_BUF_SIZE, &iova);
	if (ret)
		return fail(sh, 11, "the edu: %s", strerror(-ret));
	for (;;) {
		if (bar_rd32(bar, EDU_REG_DMA_CMD) & EDU_CMD_START)
			continue;
		bar_wr64(bar, EDU_REG_DMA_SRC, EDU_BUF);
		bar_wr64(bar, EDU_REG_DMA_DST, iova);
		bar_wr64(bar, EDU_REG_DMA_CNT, EDU_BUF_SIZE - 1);
		bar_wr64(bar, EDU_REG_DMA_CMD, EDU_CMD_START | EDU_CMD_TO_RAM |
			 EDU_CMD_IRQ);
		if (b && write(sh->ready_w, &b, 1) == 1)
			b = 0;
	}
}

/*
 * SIGKILL of the owner while the edu's DMA runs into its region: no oops
 * (the VM runner checks the log), bus mastering off at its detach, and
 * the shard attaches again and its DMA works.
 */
TEST_F_TIMEOUT(edu, sigkill_in_the_middle_of_dma, DEV_TIMEOUT)
{
	char out[4096], b;
	unsigned int k;
	int rc;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	for (k = 0; k < 5; k++) {
		ASSERT_EQ(0, pipe(self->ready));
		self->sh->ready_w = self->ready[1];
		self->pid = vt_spawn(dma_forever, self->sh);
		ASSERT_GT(self->pid, 0);
		ASSERT_EQ(1, read(self->ready[0], &b, 1)) TH_LOG("the child never started a DMA: %s",
							 self->sh->why);
		/* Mid-transfer: the edu takes 100 ms (virtual) per DMA. */
		usleep(1000 * (k * 20));
		kill(self->pid, SIGKILL);
		EXPECT_EQ(128 + SIGKILL, vt_wait(self->pid, 10000));
		self->pid = 0;
		close(self->ready[0]);
		close(self->ready[1]);
		self->ready[0] = self->ready[1] = -EBADF;
		ASSERT_EQ(0, vt_sh("grep -c 'bus_master off' /sys/kernel/debug/vanity/devices",
				   out, sizeof(out)));
		EXPECT_STREQ("1\n", out) TH_LOG("round %u: bus mastering still on after the kill", k);
		/* Its last DMA, if any, went nowhere; the edu is free again. */
		usleep(200000);
		rc = run_child(&self->pid, dma_roundtrip, self->sh);
		EXPECT_EQ(0, rc) TH_LOG("round %u: child exit %d: %s", k, rc,
					rc < 0 ? "timed out" : self->sh->why);
	}
}

/* ------------------------------------------------------------ vfio */

static int sysfs_put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* Bind @fn to vfio-pci (true) or unbind it and clear the override. */
static int vfio_bind(const char *fn, bool on)
{
	char path[300];
	int ret;

	snprintf(path, sizeof(path), DEVICES "/%s/driver_override", fn);
	if (on) {
		ret = sysfs_put(path, "vfio-pci");
		return ret ? ret : sysfs_put("/sys/bus/pci/drivers_probe", fn);
	}
	ret = sysfs_put("/sys/bus/pci/drivers/vfio-pci/unbind", fn);
	sysfs_put(path, "\n");
	return ret;
}

/*
 * A device whose IOMMU group a vfio user holds (its container set) is
 * refused with EBUSY and left bound to vfio-pci; once vfio lets it go,
 * UP takes it.
 */
TEST_F_TIMEOUT(edu, a_device_vfio_holds_is_refused_untouched, DEV_TIMEOUT)
{
	char path[600], link[300], out[4096], drv[64], rest[1024];
	int container = -1, group = -1;
	ssize_t n;

	REQUIRE_EDU();
	ASSERT_EQ(0, access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		TH_LOG("the boot did not load vfio-pci");
	ASSERT_EQ(0, vfio_bind(self->addr, true));
	driver_of(self->addr, drv, sizeof(drv));
	ASSERT_STREQ("vfio-pci", drv);
	snprintf(path, sizeof(path), DEVICES "/%s/iommu_group", self->addr);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	container = open("/dev/vfio/vfio", O_RDWR);
	group = open(path, O_RDWR);
	EXPECT_GE(container, 0);
	EXPECT_GE(group, 0) TH_LOG("%s: %s", path, strerror(errno));
	if (container >= 0 && group >= 0) {
		EXPECT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
		EXPECT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
		rest[0] = '\0';
		device_section(rest, sizeof(rest), "edu", self->addr, NULL);
		write_manifest(MANIFEST, rest);
		EXPECT_NE(0, vt_sh(CTL " up " MANIFEST, out, sizeof(out)));
		EXPECT_NE(NULL, strstr(out, "already owned by another user")) TH_LOG("%s", out);
		expect_no_system(_metadata);
		driver_of(self->addr, drv, sizeof(drv));
		EXPECT_STREQ("vfio-pci", drv) TH_LOG("UP touched a device vfio holds");
	}
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	EXPECT_EQ(0, vfio_bind(self->addr, false));
	driver_of(self->addr, drv, sizeof(drv));
	EXPECT_STREQ("", drv);
	up_edu(_metadata, self->addr, NULL, NULL);
}

/* ------------------------------------------------------------ status */

/*
 * vanityctl status (netlink GET) shows the device: owner, host driver,
 * bus mastering, BAR0, its DMA window and its vector's count, the same
 * count debugfs shows, in text and JSON.
 */
TEST_F_TIMEOUT(edu, status_shows_the_device, DEV_TIMEOUT)
{
	char out[8192], want[512];
	struct vanity_device *d;
	volatile void *bar;
	long long before;
	unsigned int i, n;
	size_t len;

	REQUIRE_EDU();
	up_edu(_metadata, self->addr, NULL, NULL);
	ASSERT_EQ(0, vt_sh(CTL " status -j", out, sizeof(out)));
	snprintf(want, sizeof(want),
		 "\"devices\":[{\"index\":0,\"name\":\"edu\",\"pci\":\"%s\",\"owner\":\"owner\",\"host_driver\":\"\",\"bus_master\":false,\"bars\":[{\"index\":0,\"size\":1048576,",
		 self->addr);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"windows\":[{\"kind\":\"private\",\"iova\":1048576,\"size\":65536,\"mapped\":true}]"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"irq\":{\"type\":\"msi\",\"counts\":[0]}")) TH_LOG("%s", out);

	ASSERT_EQ(0, vanity_attach("owner", &self->v));
	ASSERT_EQ(0, vanity_device_get(self->v, "edu", &d));
	ASSERT_EQ(0, vanity_device_bar(d, 0, &bar, &len));
	before = irq_count(0);
	for (i = 0; i < 3; i++) {
		bar_wr32(bar, EDU_REG_IRQ_RAISE, 0x1);
		for (n = 0; irq_count(0) < before + i + 1 && n < 5000; n++)
			usleep(1000);
		bar_wr32(bar, EDU_REG_IRQ_ACK, 0x1);
	}
	ASSERT_EQ(before + 3, irq_count(0));
	ASSERT_EQ(0, vt_sh(CTL " status -j", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"bus_master\":true")) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "\"irq\":{\"type\":\"msi\",\"counts\":[%lld]}",
		 before + 3);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want %s in %s", want, out);
	ASSERT_EQ(0, vt_sh(CTL " status", out, sizeof(out)));
	snprintf(want, sizeof(want), "device edu %s owner owner host_driver - bus_master on",
		 self->addr);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "  irq msi vectors 1 counts %lld\n", before + 3);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "  dma private iova 0x100000 size 0x10000\n")) TH_LOG("%s", out);
}
