// SPDX-License-Identifier: GPL-2.0
/*
 * bench-nvme: 4 KiB random reads (queue depth 1 and 32) and writes (depth
 * 1) on QEMU's NVMe controller, inside the test VM, five ways in one boot
 * on three identical controllers (same model, same size of backing file:
 * the kernel's, the direct shard's, the storage shard's), interleaved in
 * rounds so that drift in the host's load falls on every path alike:
 *   vanity-direct    the polled driver (examples/nvme/nvme.c) called by
 *                    one shard that owns the controller
 *   vanity-storage   this process as a client shard of the storage shard
 *                    (examples/nvme/storage), over channels
 *   io_uring-iopoll  io_uring with IORING_SETUP_IOPOLL, O_DIRECT, on the
 *                    kernel's nvme driver with a poll queue
 *   io_uring-irq     io_uring interrupt-driven, O_DIRECT, same device
 *   pread            pread/pwrite O_DIRECT, depth 1 only
 * IOPS and p50/p99/p99.9, ratios, one `target ...: met|missed` line per
 * goal and where the time goes: the device's own time (the direct
 * driver's doorbell to its completion, which QEMU's device model spends
 * at host speed) against what each path adds on top in guest code, which
 * TCG slows down by the factor `bench-nvme --yardstick` measures (the same
 * system call and loop timed on the host and in the guest). A benchmark,
 * not a test: it fails only when it cannot measure. Knobs:
 * BENCH_NVME_OPS (QD1 requests per path, 3000), BENCH_NVME_OPS32 (QD32,
 * 10000), BENCH_NVME_ROUNDS (5), BENCH_NVME_WARMUP (50 per round),
 * BENCH_NVME_HOST_YARDSTICK (the host's, from `make bench-nvme`),
 * BENCH_NVME_CLIENT_SLEEPS (1: the storage shard's client sleeps on its
 * doorbell instead of spinning, which leaves the host a core for QEMU's
 * own threads).
 */
#define VM_BENCH_NAME "bench-nvme"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>
#include <vanity.h>

#include "../vm_bench.h"
#include "lat.h"
#include "nvme.h"
#include "proto.h"

#define BLK		4096u
#define QD_MAX		32u
#define CLASS_NVME	0x010802

enum wl { RR1, RR32, RW1, NWL };
static const char *const wl_name[NWL] = { "randread QD1", "randread QD32", "randwrite QD1" };
static const unsigned int wl_qd[NWL] = { 1, 32, 1 };
static const bool wl_write[NWL] = { false, false, true };

enum path { P_DIRECT, P_STORAGE, P_IOPOLL, P_IRQ, P_PREAD, NPATH };
static const char *const path_name[NPATH] = {
	"vanity-direct", "vanity-storage", "io_uring-iopoll", "io_uring-irq", "pread",
};

struct result {
	bool done;
	uint64_t ops, ns;
	struct lat_hist h;
};

/* Shared with the direct shard's process (MAP_SHARED): it fills its rows. */
struct results {
	struct result r[NPATH][NWL];
	struct lat_hist dev[NWL];	/* direct, QD1: doorbell to completion */
};
static struct results *R;

static uint64_t ops1 = 3000, ops32 = 10000, warmup = 50, rounds = 5;
static bool client_sleeps;		/* BENCH_NVME_CLIENT_SLEEPS=1 */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static uint64_t env_num(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* ------------------------------------------------------------ sysfs */
static int sysfs_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok ? 0 : -EIO;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The NVMe functions, sorted by address: how many (at most 3 kept). */
static int find_nvme(char fn[3][32])
{
	struct dirent **list;
	int n = scandir("/sys/bus/pci/devices", &list, NULL, alphasort), i, k = 0;

	for (i = 0; i < n; i++) {
		char path[300], buf[32];

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", list[i]->d_name);
		if (k < 3 && !sysfs_read(path, buf, sizeof(buf)) &&
		    strtoul(buf, NULL, 16) == CLASS_NVME)
			snprintf(fn[k++], 32, "%.31s", list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return k;
}

/* The first namespace of the kernel's controller on @fn, as /dev/NAME. */
static int nvme_namespace(const char *fn, char *dev, size_t len)
{
	char path[600];
	struct dirent *c, *ns;
	DIR *d, *e;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme", fn);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	while (ret && (c = readdir(d))) {
		if (strncmp(c->d_name, "nvme", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme/%s", fn, c->d_name);
		e = opendir(path);
		while (e && ret && (ns = readdir(e)))
			if (!strncmp(ns->d_name, c->d_name, strlen(c->d_name)) &&
			    strchr(ns->d_name + strlen(c->d_name), 'n')) {
				snprintf(dev, len, "/dev/%.58s", ns->d_name);
				ret = 0;
			}
		if (e)
			closedir(e);
	}
	closedir(d);
	return ret;
}

/*
 * The kernel's driver on @fn again with one poll queue: nvme.poll_queues
 * is read at probe, so set it and unbind/bind. Its namespace into @dev.
 */
static void kernel_with_poll_queue(const char *fn, char *dev, size_t len)
{
	char path[300], v[16] = "";
	int ms, ret;

	if (sysfs_write("/sys/module/nvme/parameters/poll_queues", "1"))
		die("nvme.poll_queues", errno);
	sysfs_write("/sys/bus/pci/drivers/nvme/unbind", fn);
	ret = sysfs_write("/sys/bus/pci/drivers/nvme/bind", fn);
	if (ret)
		die("bind the kernel's nvme driver", ret);
	for (ms = 0; ms < 30000 && nvme_namespace(fn, dev, len); ms += 50)
		usleep(50000);
	if (nvme_namespace(fn, dev, len))
		die("no namespace from the kernel's driver", ENOENT);
	for (ms = 0; ms < 30000 && access(dev, R_OK); ms += 50)
		usleep(50000);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/io_poll", dev + 5);
	if (sysfs_read(path, v, sizeof(v)) || strcmp(v, "1"))
		die("the kernel's namespace has no poll queue (queue/io_poll)", EOPNOTSUPP);
}

/* ------------------------------------------------------------ one run */
struct run {
	enum path p;
	enum wl w;
	uint64_t nblocks;		/* 4 KiB blocks on the device */
	uint64_t t0[QD_MAX];
	uint32_t freeq[QD_MAX], nfree;
};

static void run_begin(struct run *r, enum path p, enum wl w, uint64_t nblocks)
{
	unsigned int i;

	r->p = p;
	r->w = w;
	r->nblocks = nblocks;
	r->nfree = 0;
	for (i = wl_qd[w]; i-- > 0;)
		r->freeq[r->nfree++] = i;
}

/* Requests of one round: its share of the total, after the warmup. */
static uint64_t run_ops(const struct run *r)
{
	uint64_t total = r->w == RR32 ? ops32 : ops1;

	return (total + rounds - 1) / rounds + warmup;
}

/* Request @slot is done: its latency counts past the warmup. */
static void run_done(struct run *r, uint32_t slot, uint64_t *done, uint64_t *t_first)
{
	struct result *x = &R->r[r->p][r->w];
	uint64_t t = now_ns();

	if (*done == warmup)
		*t_first = t;
	if (*done >= warmup)
		lat_add(&x->h, t - r->t0[slot]);
	(*done)++;
	r->freeq[r->nfree++] = slot;
	if (*done == run_ops(r)) {
		x->ops += *done - warmup;
		x->ns += t - *t_first;
		x->done = true;
	}
}

/* ------------------------------------------------------------ kernel */
static void run_pread(int fd, enum wl w, uint64_t nblocks, uint8_t *buf)
{
	struct run r;
	uint64_t done = 0, t_first = 0;

	run_begin(&r, P_PREAD, w, nblocks);
	while (done < run_ops(&r)) {
		uint32_t slot = r.freeq[--r.nfree];
		off_t off = (off_t)(rnd(nblocks) * BLK);
		ssize_t n;

		r.t0[slot] = now_ns();
		n = wl_write[w] ? pwrite(fd, buf, BLK, off) : pread(fd, buf, BLK, off);
		if (n != BLK)
			die("pread/pwrite", n < 0 ? errno : EIO);
		run_done(&r, slot, &done, &t_first);
	}
}

static void run_uring(int fd, bool iopoll, enum wl w, uint64_t nblocks, uint8_t *bufs)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct run r;
	uint64_t issued = 0, done = 0, t_first = 0;
	int ret;

	run_begin(&r, iopoll ? P_IOPOLL : P_IRQ, w, nblocks);
	ret = io_uring_queue_init(64, &ring, iopoll ? IORING_SETUP_IOPOLL : 0);
	if (ret)
		die("io_uring_queue_init", ret);
	while (done < run_ops(&r)) {
		while (r.nfree && issued < run_ops(&r)) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			uint32_t slot = r.freeq[--r.nfree];
			uint64_t off = rnd(nblocks) * BLK;

			if (wl_write[w])
				io_uring_prep_write(sqe, fd, bufs + (size_t)slot * BLK, BLK, off);
			else
				io_uring_prep_read(sqe, fd, bufs + (size_t)slot * BLK, BLK, off);
			io_uring_sqe_set_data64(sqe, slot);
			r.t0[slot] = now_ns();
			issued++;
		}
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			die("io_uring_submit_and_wait", ret);
		while (!io_uring_peek_cqe(&ring, &cqe)) {
			uint32_t slot = (uint32_t)io_uring_cqe_get_data64(cqe);

			if (cqe->res != BLK)
				die(iopoll ? "io_uring IOPOLL I/O" : "io_uring I/O",
				    cqe->res < 0 ? cqe->res : EIO);
			io_uring_cqe_seen(&ring, cqe);
			run_done(&r, slot, &done, &t_first);
		}
	}
	io_uring_queue_exit(&ring);
}

struct kernel {
	int fd;
	uint64_t nblocks;
	uint8_t *bufs;
};

static void kernel_open(struct kernel *k, const char *fn)
{
	char dev[64];
	off_t size;

	kernel_with_poll_queue(fn, dev, sizeof(dev));
	k->fd = open(dev, O_RDWR | O_DIRECT);
	if (k->fd < 0)
		die(dev, errno);
	size = lseek(k->fd, 0, SEEK_END);
	if (size < (off_t)BLK)
		die("namespace size", EIO);
	k->nblocks = (uint64_t)size / BLK;
	if (posix_memalign((void **)&k->bufs, BLK, (size_t)QD_MAX * BLK))
		die("posix_memalign", ENOMEM);
	memset(k->bufs, 0xa5, (size_t)QD_MAX * BLK);
	fprintf(stderr, "bench-nvme: kernel: %s on %s (%llu blocks), one poll queue\n", dev, fn,
		(unsigned long long)k->nblocks);
}

static void kernel_round(struct kernel *k, enum wl w)
{
	run_uring(k->fd, true, w, k->nblocks, k->bufs);
	run_uring(k->fd, false, w, k->nblocks, k->bufs);
	if (wl_qd[w] == 1)
		run_pread(k->fd, w, k->nblocks, k->bufs);
}

/* ------------------------------------------------------------ vanity */
static void vanityctl(const char *verb, const char *ini)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "tools/vanityctl %s %s", verb, ini ? ini : "");
	st = system(cmd);
	if (st)
		die(cmd, EIO);
}

static void run_direct(struct nvme_ctrl *c, enum wl w, uint64_t iova, uint64_t nblocks)
{
	uint32_t per = BLK >> c->lba_shift;
	uint64_t issued = 0, done = 0, t_first = 0, t_ring = 0;
	struct nvme_done d[QD_MAX];
	struct run r;
	int n, i;

	run_begin(&r, P_DIRECT, w, nblocks);
	while (done < run_ops(&r)) {
		while (r.nfree && issued < run_ops(&r)) {
			uint32_t slot = r.freeq[--r.nfree];
			int ret;

			r.t0[slot] = now_ns();
			ret = nvme_submit(c, wl_write[w] ? NVME_OPC_WRITE : NVME_OPC_READ,
					  rnd(nblocks) * per, per, iova + (uint64_t)slot * BLK, slot);
			if (ret)
				die("nvme_submit", ret);
			issued++;
		}
		nvme_ring(c);
		if (!t_ring)
			t_ring = now_ns();
		n = nvme_poll(c, d, QD_MAX);
		/* At QD1 the device's own time: doorbell to completion. */
		if (n && wl_qd[w] == 1 && done >= warmup)
			lat_add(&R->dev[w], now_ns() - t_ring);
		if (n)
			t_ring = 0;
		for (i = 0; i < n; i++) {
			if (d[i].status)
				die("vanity-direct I/O", d[i].status);
			run_done(&r, (uint32_t)d[i].user, &done, &t_first);
		}
	}
}

/*
 * The direct shard, in a child process (a process attaches one shard):
 * bring the controller up, then run the workload named by each byte read
 * from @cmd, answering on @ack; 0xff ends it.
 */
static void direct_child(int cmd, int ack)
{
	struct nvme_opts o = { .depth = 64, .max_pages = 1 };
	const struct vanity_device_info *info;
	struct vanity_device *dev;
	struct nvme_ctrl c;
	struct nvme_cmd cmds[64];
	uint16_t cids[64];
	struct nvme_dma mem;
	volatile void *bar;
	struct vanity *v;
	size_t bar_len, plen, need = nvme_mem_need(&o);
	uint64_t iova;
	uint8_t *bufs, w;
	void *priv;
	int ret;

	ret = vanity_attach("direct", &v);
	if (ret)
		die("attach direct", ret);
	ret = vanity_device_get(v, "direct", &dev);
	if (ret)
		die("vanity_device_get", ret);
	info = vanity_device_info(dev);
	ret = vanity_device_bar(dev, 0, &bar, &bar_len);
	if (ret)
		die("vanity_device_bar", ret);
	vanity_memory(v, &priv, &plen);
	if (plen < need + (size_t)QD_MAX * BLK)
		die("private region too small", ENOSPC);
	mem.va = priv;
	mem.len = need;
	ret = vanity_device_iova(dev, mem.va, need, &mem.iova);
	if (ret)
		die("vanity_device_iova", ret);
	bufs = (uint8_t *)priv + need;
	ret = vanity_device_iova(dev, bufs, (size_t)QD_MAX * BLK, &iova);
	if (ret)
		die("vanity_device_iova", ret);
	ret = nvme_init(&c, bar, bar_len, info->bars[0].hole_offset, info->bars[0].hole_size,
			&mem, &o, cmds, cids);
	if (ret) {
		fprintf(stderr, "bench-nvme: %s\n", c.err);
		die("nvme_init", ret);
	}
	fprintf(stderr, "bench-nvme: direct shard: %s (%llu blocks of %u bytes)\n", c.mn,
		(unsigned long long)c.nsze, nvme_lba_size(&c));
	while (read(cmd, &w, 1) == 1 && w < NWL) {
		run_direct(&c, (enum wl)w, iova, c.nsze >> (12 - c.lba_shift));
		if (write(ack, &w, 1) != 1)
			die("ack", errno);
	}
	ret = nvme_shutdown(&c);
	if (ret)
		fprintf(stderr, "bench-nvme: %s\n", c.err);
	vanity_detach(v);
	exit(0);
}

static void run_storage(struct vanity_channel *req, struct vanity_channel *cpl, enum wl w,
			uint64_t nblocks)
{
	uint64_t issued = 0, done = 0, t_first = 0, spins = 0;
	struct stor_cpl out[QD_MAX];
	struct run r;
	unsigned int n, i;

	run_begin(&r, P_STORAGE, w, nblocks);
	while (done < run_ops(&r)) {
		while (r.nfree && issued < run_ops(&r) && vanity_reserve(req, 1)) {
			uint32_t slot = r.freeq[--r.nfree];
			struct stor_req *q = vanity_slot(req, 0);

			memset(q, 0, sizeof(*q));
			q->tag = slot;
			q->lba = rnd(nblocks);
			q->buf = slot;
			q->nblocks = 1;
			q->op = wl_write[w] ? STOR_OP_WRITE : STOR_OP_READ;
			r.t0[slot] = now_ns();
			vanity_commit(req, 1);
			issued++;
		}
		n = vanity_recv_burst(cpl, out, QD_MAX);
		for (i = 0; i < n; i++) {
			if (out[i].status || out[i].tag >= QD_MAX)
				die("vanity-storage I/O", out[i].status ? out[i].status : EPROTO);
			run_done(&r, (uint32_t)out[i].tag, &done, &t_first);
		}
		if (n) {
			spins = 0;
		} else if (client_sleeps) {
			/* Asleep on the doorbell: the vCPU is free for QEMU's threads. */
			int ret = vanity_wait_data(cpl, 10000000000LL);

			if (ret)
				die("vanity-storage: no completion", ret);
		} else if (++spins > 4000000000ull) {
			die("vanity-storage: no completion", ETIMEDOUT);
		}
	}
}

/* One request and its completion, outside the measurement. */
static uint64_t storage_call(struct vanity_channel *req, struct vanity_channel *cpl, uint8_t op)
{
	struct stor_req q = { .tag = 1000, .op = op };
	struct stor_cpl c;
	int ret;

	ret = vanity_send_wait(req, &q, 30000000000LL);
	if (!ret)
		ret = vanity_recv_wait(cpl, &c, 30000000000LL);
	if (ret || c.status)
		die("storage request", ret ? ret : c.status);
	return c.value;
}

struct stor {
	pid_t storage, direct;
	int cmd, ack;			/* pipes to the direct shard */
	struct vanity *v;
	struct vanity_channel *req, *cpl, *data;
	uint64_t cap;
};

static pid_t spawn(const char *shard, const char *log, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setenv("VANITY_SHARD", shard, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		die("fork", errno);
	return pid;
}

/*
 * One system: the direct shard (CPU 2, controller @d), the storage shard
 * (CPU 3, controller @s) and this process as its client (CPU 2; the
 * direct shard runs only while this one waits for it).
 */
static void vanity_open(struct stor *st, const char *d, const char *s)
{
	char ini[2048];
	char *argv[] = { "examples/nvme/storage", "--device", "nvme", "--client", "bench",
			 "--qd", "64", NULL };
	int cmd[2], ack[2], ret;
	FILE *f;

	snprintf(ini, sizeof(ini),
		 "[system]\nname = benchnvme\n"
		 "[shard direct]\ncpus = 2\nmemory = 1M\n"
		 "[shard storage]\ncpus = 3\nmemory = 256K\n[shard bench]\ncpus = 2\n"
		 "[device direct]\npci = %s\nshard = direct\ndma = private\n"
		 "[device nvme]\npci = %s\nshard = storage\ndma = private, bench_data\n"
		 "[channel bench_req]\nfrom = bench\nto = storage\nslot_size = 32\nslots = 256\n"
		 "[channel bench_cpl]\nfrom = storage\nto = bench\nslot_size = 32\nslots = 256\n"
		 "[channel bench_data]\nfrom = bench\nto = storage\nslot_size = 4096\nslots = 64\n",
		 d, s);
	f = fopen("/tmp/bench-nvme.ini", "w");
	if (!f || fputs(ini, f) < 0 || fclose(f))
		die("write the manifest", errno);
	vanityctl("up", "/tmp/bench-nvme.ini");
	if (pipe(cmd) || pipe(ack))
		die("pipe", errno);
	st->direct = fork();
	if (st->direct < 0)
		die("fork", errno);
	if (st->direct == 0) {
		close(cmd[1]);
		close(ack[0]);
		direct_child(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	st->cmd = cmd[1];
	st->ack = ack[0];
	st->storage = spawn("storage", "/tmp/bench-nvme-storage.log", argv);
	ret = vanity_attach("bench", &st->v);
	if (!ret)
		ret = vanity_channel_get(st->v, "bench_req", &st->req);
	if (!ret)
		ret = vanity_channel_get(st->v, "bench_cpl", &st->cpl);
	if (!ret)
		ret = vanity_channel_get(st->v, "bench_data", &st->data);
	if (ret)
		die("attach bench", ret);
	if (client_sleeps)
		vanity_channel_set_spin(st->cpl, 0);
	st->cap = storage_call(st->req, st->cpl, STOR_OP_INFO);
	fprintf(stderr, "bench-nvme: storage shard: %llu blocks\n", (unsigned long long)st->cap);
}

static void vanity_round(struct stor *st, enum wl w)
{
	uint8_t b = (uint8_t)w;

	if (write(st->cmd, &b, 1) != 1 || read(st->ack, &b, 1) != 1)
		die("the direct shard died", EIO);
	run_storage(st->req, st->cpl, w, st->cap);
}

static void vanity_close(struct stor *st)
{
	uint8_t end = 0xff;
	int s1, s2;

	storage_call(st->req, st->cpl, STOR_OP_FLUSH);
	storage_call(st->req, st->cpl, STOR_OP_CLOSE);
	if (write(st->cmd, &end, 1) != 1)
		die("the direct shard died", EIO);
	if (waitpid(st->storage, &s1, 0) != st->storage || !WIFEXITED(s1) || WEXITSTATUS(s1))
		die("the storage shard failed (/tmp/bench-nvme-storage.log)", EIO);
	if (waitpid(st->direct, &s2, 0) != st->direct || !WIFEXITED(s2) || WEXITSTATUS(s2))
		die("the direct shard failed", EIO);
	vanity_detach(st->v);
	vanityctl("down", NULL);
}

/* ------------------------------------------------------------ report */
static double iops(const struct result *x)
{
	return x->ns ? (double)x->ops * 1e9 / (double)x->ns : 0;
}

static double us(const struct result *x, double q)
{
	return (double)lat_pct(&x->h, q) / 1000.0;
}

static int target(const char *name, double r, double goal)
{
	printf("target %s: %.2fx (goal >=%.2fx) %s\n", name, r, goal, r >= goal ? "met" : "missed");
	return r >= goal;
}

static void report(double sys_ns, double loop_ns, double hsys, double hloop)
{
	const struct result *d = &R->r[P_DIRECT][RR1], *s = &R->r[P_STORAGE][RR1];
	const struct result *pl = &R->r[P_IOPOLL][RR1], *irq = &R->r[P_IRQ][RR1];
	double dev = (double)lat_pct(&R->dev[RR1], 0.5) / 1000.0;
	int w, p;

	printf("%llu requests per path at QD1, %llu at QD32, in %llu interleaved rounds\n",
	       (unsigned long long)ops1, (unsigned long long)ops32, (unsigned long long)rounds);
	printf("| workload | path | IOPS | p50 us | p99 us | p99.9 us | IOPS vs io_uring-iopoll |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (w = 0; w < NWL; w++)
		for (p = 0; p < NPATH; p++) {
			const struct result *x = &R->r[p][w];

			if (!x->done)
				continue;
			printf("| %s | %s | %.0f | %.1f | %.1f | %.1f | %.2fx |\n", wl_name[w],
			       path_name[p], iops(x), us(x, 0.5), us(x, 0.99), us(x, 0.999),
			       iops(&R->r[P_IOPOLL][w]) ? iops(x) / iops(&R->r[P_IOPOLL][w]) : 0);
		}
	target("vanity-direct-qd1-read-iops-vs-iopoll", iops(d) / iops(pl), 2.0);
	target("vanity-direct-qd1-read-p99-vs-irq", us(irq, 0.99) / us(d, 0.99), 5.0);
	target("vanity-storage-qd1-read-iops-vs-iopoll", iops(s) / iops(pl), 1.5);
	/*
	 * Where the time goes, randread QD1 p50: the device's own time, which
	 * no driver can shorten, and what each path adds in guest code.
	 */
	printf("where the time goes (randread QD1, p50): the device (QEMU's nvme model, the direct "
	       "driver's doorbell to its completion, at host speed) %.1f us; guest code on top: "
	       "vanity-direct %.1f us, vanity-storage %.1f us, io_uring-iopoll %.1f us, "
	       "io_uring-irq %.1f us, pread %.1f us (the storage shard drives a controller of "
	       "its own, whose device time differs by a few us)\n",
	       dev, us(d, 0.5) - dev, us(s, 0.5) - dev, us(pl, 0.5) - dev, us(irq, 0.5) - dev,
	       us(&R->r[P_PREAD][RR1], 0.5) - dev);
	printf("guest code under TCG: getppid() %.0f ns, a dependent multiply %.2f ns", sys_ns,
	       loop_ns);
	if (hsys > 0 && hloop > 0)
		printf(" (host: %.0f ns and %.2f ns: %.0fx and %.0fx slower in the guest)", hsys,
		       hloop, sys_ns / hsys, loop_ns / hloop);
	printf("\nbound: with the device at %.1f us, a driver that added nothing would reach %.2fx "
	       "io_uring-iopoll's QD1 IOPS at most\n", dev,
	       dev > 0 ? 1e6 / dev / iops(pl) : 0);
}

/*
 * What guest code costs: a system call (getppid) and a loop of dependent
 * multiplies, in ns each. Run on the host and in the guest, their ratio is
 * how much TCG slows the guest's instructions (the device model runs at
 * host speed).
 */
static void yardstick(double *sys_ns, double *loop_ns)
{
	volatile uint64_t x = 1;
	uint64_t t, i, acc = 1;

	t = now_ns();
	for (i = 0; i < 20000; i++)
		syscall(SYS_getppid);
	*sys_ns = (double)(now_ns() - t) / 20000;
	t = now_ns();
	for (i = 0; i < 2000000; i++)
		acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
	x = acc;
	(void)x;
	*loop_ns = (double)(now_ns() - t) / 2000000;
}

int main(int argc, char **argv)
{
	char fn[3][32];
	struct kernel k;
	struct stor st;
	double sys_ns, loop_ns, hsys = 0, hloop = 0;
	const char *host = getenv("BENCH_NVME_HOST_YARDSTICK");
	uint64_t r;
	int p, w;

	if (argc == 2 && !strcmp(argv[1], "--yardstick")) {
		yardstick(&sys_ns, &loop_ns);
		printf("%.1f %.3f\n", sys_ns, loop_ns);
		return 0;
	}
	ops1 = env_num("BENCH_NVME_OPS", ops1);
	ops32 = env_num("BENCH_NVME_OPS32", ops32);
	warmup = env_num("BENCH_NVME_WARMUP", warmup);
	rounds = env_num("BENCH_NVME_ROUNDS", rounds);
	client_sleeps = env_num("BENCH_NVME_CLIENT_SLEEPS", 0) != 0;
	if (!ops1 || !ops32 || !rounds)
		die("BENCH_NVME_OPS, BENCH_NVME_OPS32 and BENCH_NVME_ROUNDS must be > 0", EINVAL);
	R = mmap(NULL, sizeof(*R), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (R == MAP_FAILED)
		die("mmap", errno);
	for (p = 0; p < NPATH; p++)
		for (w = 0; w < NWL; w++)
			lat_init(&R->r[p][w].h);
	for (w = 0; w < NWL; w++)
		lat_init(&R->dev[w]);
	if (find_nvme(fn) != 3)
		die("want three NVMe controllers (make bench-nvme adds two)", ENODEV);
	/* The kernel keeps the first; the direct and storage shards take the others. */
	pin(2);
	yardstick(&sys_ns, &loop_ns);
	if (host)
		sscanf(host, "%lf %lf", &hsys, &hloop);
	kernel_open(&k, fn[0]);
	vanity_open(&st, fn[1], fn[2]);
	for (r = 0; r < rounds; r++)
		for (w = 0; w < NWL; w++) {
			kernel_round(&k, (enum wl)w);
			vanity_round(&st, (enum wl)w);
		}
	vanity_close(&st);
	close(k.fd);
	report(sys_ns, loop_ns, hsys, hloop);
	return 0;
}
