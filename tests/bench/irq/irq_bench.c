// SPDX-License-Identifier: GPL-2.0
/*
 * bench-irq: from a device's interrupt to the program that waits for it,
 * Vanity's IRQ_WAIT against the kernel's own path for a device given to
 * userspace, vfio-pci's MSI eventfd, on the same device in the same boot.
 *
 * The device is QEMU's edu: a write to its raise register sends its one
 * MSI. A trigger thread on housekeeping CPU 1, where both paths' vector
 * is steered too, waits until the waiter on isolated CPU 2 is ready, lets
 * it settle (BENCH_IRQ_GAP_US, 1000 µs: a sleeping waiter is asleep by
 * then), reads the clock and raises; the waiter reads the clock when it
 * sees the interrupt. One sample is the difference. The trigger and the
 * interrupt share a vCPU so that no more vCPUs are busy than this
 * machine's two cores can run at once: a third one would put the host's
 * time slices (milliseconds) into every percentile. Paths:
 *   vanity-spin    an armed IRQ_WAIT, the shard spinning on its CQ (no
 *                  system call while it waits: the CQE is posted from the
 *                  interrupt);
 *   vanity-sleep   the same IRQ_WAIT, submitted by an ENTER that sleeps
 *                  for its CQE (vanity_submit_and_wait);
 *   vfio-eventfd   vfio-pci's MSI eventfd (VFIO_DEVICE_SET_IRQS), read
 *                  by the blocked waiter: the path the issue measures
 *                  against;
 *   vfio-poll      the same eventfd read non-blocking in a spin, for
 *                  reference (what a polling VFIO driver would see).
 * The device goes back and forth between Vanity (vanityctl up/down) and
 * vfio-pci (driver_override) BENCH_IRQ_ROUNDS times (3), each time for
 * BENCH_IRQ_SAMPLES samples per path (1000); p50 and p99 over all of
 * them. Under QEMU TCG only the ratios mean anything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define VM_BENCH_NAME "bench-irq"
#include "../vm_bench.h"
#include "vanity.h"

#define CTL		"tools/vanityctl"
#define MANIFEST	"/tmp/bench-irq.ini"
#define DEVICES		"/sys/bus/pci/devices"
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK	0x64
#define WAIT_CPU	2
#define TRIGGER_CPU	1
#define SPIN_NS		(5ULL * 1000000000ULL)	/* bound of one wait */
#define MAX_SAMPLES	100000

enum path { P_VSPIN, P_VSLEEP, P_VFIO, P_VFIO_POLL, NPATH };

static const char *path_names[NPATH] = {
	"vanity-spin", "vanity-sleep", "vfio-eventfd", "vfio-poll",
};

static unsigned int rounds = 3, samples = 1000, gap_us = 1000;
static char edu[NAME_MAX + 1];
static uint64_t *lat[NPATH];
static unsigned int nlat[NPATH];

static void bar_wr32(volatile void *bar, size_t off, uint32_t val)
{
	*(volatile uint32_t *)((volatile uint8_t *)bar + off) = val;
}

static long sysfs_hex(const char *fn, const char *attr)
{
	char path[PATH_MAX], buf[32];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), DEVICES "/%s/%s", fn, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 16);
	fclose(f);
	return v;
}

static void sysfs_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(val, f) < 0 || fclose(f))
		die(path, errno);
}

static void find_edu(void)
{
	struct dirent *de;
	DIR *d = opendir(DEVICES);

	if (!d)
		die(DEVICES, errno);
	while ((de = readdir(d)))
		if (sysfs_hex(de->d_name, "vendor") == EDU_VENDOR &&
		    sysfs_hex(de->d_name, "device") == EDU_DEVICE) {
			snprintf(edu, sizeof(edu), "%s", de->d_name);
			break;
		}
	closedir(d);
	if (!edu[0])
		die("no edu (1234:11e8) in this VM", ENODEV);
}

static void sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		die(cmd, rc < 0 ? errno : EIO);
}

/*
 * Steer the interrupt whose action in /proc/interrupts contains @name to
 * TRIGGER_CPU; says where it went.
 */
static void steer(const char *name)
{
	char line[1024], path[64], cpu[16];
	FILE *f = fopen("/proc/interrupts", "r");
	int irq = -1;

	if (!f)
		die("/proc/interrupts", errno);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name) && sscanf(line, " %d:", &irq) == 1)
			break;
	fclose(f);
	if (irq < 0)
		die(name, ENOENT);
	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	snprintf(cpu, sizeof(cpu), "%d", TRIGGER_CPU);
	sysfs_write(path, cpu);
}

/* ------------------------------------------------------------ the trigger */

/*
 * What the waiter and the trigger share: the waiter raises @ready once it
 * is about to wait; the trigger lets it settle, stamps @t0 and raises the
 * edu's interrupt; the waiter stores its sample and raises @done.
 */
static struct {
	volatile void *bar;
	unsigned int n;			/* samples this run */
	volatile int ready, done, stop;
	volatile uint64_t t0;
} trig;

static void *trigger_fn(void *arg)
{
	struct timespec gap = { 0, (long)gap_us * 1000 };
	unsigned int i;
	uint64_t t;

	(void)arg;
	pin(TRIGGER_CPU);
	for (i = 0; i < trig.n && !trig.stop; i++) {
		t = now_ns();
		while (!__atomic_load_n(&trig.ready, __ATOMIC_ACQUIRE) && !trig.stop)
			if (now_ns() - t > SPIN_NS)
				die("trigger: the waiter never got ready", ETIME);
		__atomic_store_n(&trig.ready, 0, __ATOMIC_RELAXED);
		nanosleep(&gap, NULL);
		__atomic_store_n(&trig.t0, now_ns(), __ATOMIC_RELEASE);
		bar_wr32(trig.bar, EDU_REG_IRQ_RAISE, 0x1);
		t = now_ns();
		while (!__atomic_load_n(&trig.done, __ATOMIC_ACQUIRE) && !trig.stop)
			if (now_ns() - t > SPIN_NS)
				die("trigger: the waiter never saw the interrupt", ETIME);
		__atomic_store_n(&trig.done, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

static pthread_t trigger_start(volatile void *bar)
{
	pthread_t t;
	int ret;

	trig.bar = bar;
	trig.n = samples;
	trig.ready = trig.done = trig.stop = 0;
	ret = pthread_create(&t, NULL, trigger_fn, NULL);
	if (ret)
		die("pthread_create", ret);
	return t;
}

/* The waiter's side of one sample: seen at @t1. */
static void sample(enum path p, uint64_t t1)
{
	uint64_t t0 = __atomic_load_n(&trig.t0, __ATOMIC_ACQUIRE);

	bar_wr32(trig.bar, EDU_REG_IRQ_ACK, 0x1);
	if (nlat[p] < MAX_SAMPLES)
		lat[p][nlat[p]++] = t1 - t0;
	__atomic_store_n(&trig.done, 1, __ATOMIC_RELEASE);
}

static void waiter_ready(void)
{
	__atomic_store_n(&trig.ready, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ Vanity */

static void vanity_round(void)
{
	char text[512];
	struct vanity_device *d;
	struct vanity_cqe *cqe;
	struct vanity_ring *r;
	volatile void *bar;
	struct vanity *v;
	unsigned int i;
	pthread_t t;
	uint64_t t1, t_start;
	size_t len;
	FILE *f;
	int ret;

	snprintf(text, sizeof(text),
		 "[system]\nname = benchirq\n"
		 "[shard bench]\ncpus = %d\nmemory = 64K\n"
		 "[device edu]\npci = %s\nshard = bench\n", WAIT_CPU, edu);
	f = fopen(MANIFEST, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die(MANIFEST, errno);
	sh(CTL " up " MANIFEST);
	/* Attach pins this thread to the shard's CPU. */
	ret = vanity_attach("bench", &v);
	if (ret)
		die("vanity_attach", ret);
	r = vanity_ring(v);
	ret = vanity_device_get(v, "edu", &d);
	if (!ret)
		ret = vanity_device_bar(d, 0, &bar, &len);
	if (ret)
		die("the edu", ret);
	steer("vanity-edu-0");

	t = trigger_start(bar);
	for (i = 0; i < samples; i++) {
		ret = vanity_device_irq_arm(d, 1, -1, i);
		if (ret || vanity_submit(r) != 1)
			die("vanity-spin: arm", ret ? ret : EIO);
		waiter_ready();
		t_start = now_ns();
		while (vanity_peek_cqe(r, &cqe))
			if (!(i & 63) && now_ns() - t_start > SPIN_NS)
				die("vanity-spin: no CQE", ETIME);
		t1 = now_ns();
		if (cqe->res != 0 || cqe->user_data != i)
			die("vanity-spin: CQE", cqe->res ? cqe->res : EIO);
		vanity_cqe_seen(r);
		sample(P_VSPIN, t1);
	}
	pthread_join(t, NULL);

	t = trigger_start(bar);
	for (i = 0; i < samples; i++) {
		ret = vanity_device_irq_arm(d, 1, -1, i);
		if (ret)
			die("vanity-sleep: arm", ret);
		waiter_ready();
		ret = vanity_submit_and_wait(r, 1);
		t1 = now_ns();
		if (ret < 0 || vanity_peek_cqe(r, &cqe))
			die("vanity-sleep: ENTER", ret < 0 ? ret : EIO);
		if (cqe->res != 0 || cqe->user_data != i)
			die("vanity-sleep: CQE", cqe->res ? cqe->res : EIO);
		vanity_cqe_seen(r);
		sample(P_VSLEEP, t1);
	}
	pthread_join(t, NULL);
	vanity_detach(v);
	sh(CTL " down");
}

/* ------------------------------------------------------------ vfio-pci */

static int group_of(void)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	const char *p;

	snprintf(path, sizeof(path), DEVICES "/%s/iommu_group", edu);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path, errno);
	link[n] = 0;
	p = strrchr(link, '/');
	return atoi(p ? p + 1 : link);
}

static void vfio_bind(bool on)
{
	char path[PATH_MAX];

	if (on) {
		snprintf(path, sizeof(path), DEVICES "/%s/driver_override", edu);
		sysfs_write(path, "vfio-pci");
		sysfs_write("/sys/bus/pci/drivers_probe", edu);
		return;
	}
	sysfs_write("/sys/bus/pci/drivers/vfio-pci/unbind", edu);
	snprintf(path, sizeof(path), DEVICES "/%s/driver_override", edu);
	sysfs_write(path, "\n");
}

static void vfio_round(void)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int container, group, dev, efd, ret;
	char path[NAME_MAX + 32];
	uint16_t cmd;
	uint64_t cnt, t1, t_start;
	volatile void *bar;
	unsigned int i;
	pthread_t t;

	vfio_bind(true);
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio", errno);
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of());
	group = open(path, O_RDWR);
	if (group < 0)
		die(path, errno);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("vfio group not viable", errno ? errno : EBUSY);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("vfio container", errno);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, edu);
	if (dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD", errno);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("BAR0 region info", errno);
	bar = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   (off_t)ri.offset);
	if (bar == MAP_FAILED)
		die("BAR0 mmap", errno);
	/* Bus mastering on through config space: an MSI is a DMA write. */
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
	    pread(dev, &cmd, 2, (off_t)ri.offset + 4) != 2)
		die("config space", errno);
	cmd |= 0x4;
	if (pwrite(dev, &cmd, 2, (off_t)ri.offset + 4) != 2)
		die("PCI_COMMAND", errno);
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		die("eventfd", errno);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(int));
	if (ioctl(dev, VFIO_DEVICE_SET_IRQS, set))
		die("VFIO_DEVICE_SET_IRQS (MSI)", errno);
	snprintf(path, sizeof(path), "vfio-msi[0](%s)", edu);
	steer(path);

	pin(WAIT_CPU);
	t = trigger_start(bar);
	for (i = 0; i < samples; i++) {
		waiter_ready();
		ret = (int)read(efd, &cnt, sizeof(cnt));
		t1 = now_ns();
		if (ret != sizeof(cnt))
			die("vfio-eventfd: read", errno);
		sample(P_VFIO, t1);
	}
	pthread_join(t, NULL);

	ret = fcntl(efd, F_SETFL, O_NONBLOCK);
	if (ret)
		die("O_NONBLOCK", errno);
	t = trigger_start(bar);
	for (i = 0; i < samples; i++) {
		waiter_ready();
		t_start = now_ns();
		while (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			if (errno != EAGAIN || now_ns() - t_start > SPIN_NS)
				die("vfio-poll: read", errno);
		t1 = now_ns();
		sample(P_VFIO_POLL, t1);
	}
	pthread_join(t, NULL);

	set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->count = 0;
	set->argsz = sizeof(*set);
	ioctl(dev, VFIO_DEVICE_SET_IRQS, set);
	munmap((void *)bar, 1 << 20);
	close(efd);
	close(dev);
	close(group);
	close(container);
	vfio_bind(false);
}

/* ------------------------------------------------------------ results */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(enum path p, double q)
{
	size_t i;

	if (!nlat[p])
		return 0;
	i = (size_t)(q * (nlat[p] - 1) + 0.5);
	return (double)lat[p][i];
}

static void target(const char *name, double ratio, double goal, bool at_least)
{
	bool met = at_least ? ratio >= goal : ratio <= goal;

	printf("target %s: %.2fx (goal %s%.2fx) %s\n", name, ratio,
	       at_least ? ">=" : "<=", goal, met ? "met" : "missed");
}

int main(void)
{
	struct utsname u;
	const char *e;
	unsigned int k;
	int p;

	if ((e = getenv("BENCH_IRQ_ROUNDS")))
		rounds = (unsigned int)atoi(e);
	if ((e = getenv("BENCH_IRQ_SAMPLES")))
		samples = (unsigned int)atoi(e);
	if ((e = getenv("BENCH_IRQ_GAP_US")))
		gap_us = (unsigned int)atoi(e);
	if (!rounds || !samples || samples * rounds > MAX_SAMPLES)
		die("BENCH_IRQ_ROUNDS, BENCH_IRQ_SAMPLES: at least 1, product at most 100000",
		    EINVAL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (p = 0; p < NPATH; p++) {
		lat[p] = calloc(MAX_SAMPLES, sizeof(uint64_t));
		if (!lat[p])
			die("calloc", ENOMEM);
	}
	find_edu();
	uname(&u);
	printf("bench-irq: edu %s, kernel %s %s, %u rounds of %u samples per path, gap %u us, waiter on CPU %d, trigger and vector on CPU %d\n",
	       edu, u.release, u.machine, rounds, samples, gap_us, WAIT_CPU,
	       TRIGGER_CPU);
	for (k = 0; k < rounds; k++) {
		vanity_round();
		vfio_round();
		printf("bench-irq: round %u done\n", k + 1);
	}
	for (p = 0; p < NPATH; p++)
		qsort(lat[p], nlat[p], sizeof(uint64_t), cmp_u64);
	printf("\n%-14s %8s %10s %10s %10s\n", "path", "samples", "p50 ns",
	       "p99 ns", "max ns");
	for (p = 0; p < NPATH; p++)
		printf("%-14s %8u %10.0f %10.0f %10.0f\n", path_names[p], nlat[p],
		       pct(p, 0.5), pct(p, 0.99), pct(p, 1.0));
	printf("\nratios against vfio-eventfd (its time / ours; above 1 Vanity is faster):\n");
	printf("  vanity-spin   p50 %.2fx  p99 %.2fx\n",
	       pct(P_VFIO, 0.5) / pct(P_VSPIN, 0.5),
	       pct(P_VFIO, 0.99) / pct(P_VSPIN, 0.99));
	printf("  vanity-sleep  p50 %.2fx  p99 %.2fx\n",
	       pct(P_VFIO, 0.5) / pct(P_VSLEEP, 0.5),
	       pct(P_VFIO, 0.99) / pct(P_VSLEEP, 0.99));
	printf("  vfio-poll     p50 %.2fx  p99 %.2fx\n",
	       pct(P_VFIO, 0.5) / pct(P_VFIO_POLL, 0.5),
	       pct(P_VFIO, 0.99) / pct(P_VFIO_POLL, 0.99));
	target("spin-p99-vs-vfio-eventfd", pct(P_VFIO, 0.99) / pct(P_VSPIN, 0.99),
	       5.0, true);
	target("sleep-p50-vs-vfio-eventfd", pct(P_VSLEEP, 0.5) / pct(P_VFIO, 0.5),
	       1.1, false);
	return 0;
}
