// SPDX-License-Identifier: GPL-2.0
/*
 * The polled NVMe driver (examples/nvme/nvme.{h,c}) against the fake
 * controller of fake_nvme.c, its IOVAs the buffers' addresses: bring-up
 * and the facts it reads (queue entries, doorbell stride, transfer size,
 * block size, identity), the controllers and arguments it refuses, data
 * through PRP1, PRP2 and PRP lists at page and dword offsets, submission
 * refusals, and the robustness paths: a lost command, one lost every
 * time, a fatal status, a recovery that fails, a bogus completion, a
 * device status, a vanished device, shutdown and its timeout.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "fake_nvme.h"
#include "nvme.h"

#define DATA_LEN	(1u << 20)	/* the test's buffers, after the driver's */
#define SRC		(data)
#define DST		(data + DATA_LEN / 2)
#define REG_CC		0x14
#define REG_CSTS	0x1c

static struct fake_nvme F;
static struct nvme_ctrl C;
static struct nvme_cmd cmds[NVME_IO_DEPTH_MAX];
static uint16_t cids[NVME_IO_DEPTH_MAX];
static uint8_t *arena;		/* DMA memory: the driver's, then data */
static struct nvme_dma mem;
static uint8_t *data;		/* DATA_LEN bytes, page aligned */
static struct nvme_done done[2048];

static void teardown(void)
{
	fake_nvme_stop(&F);
	free(arena);
	arena = NULL;
}

TestSuite(nvme, .fini = teardown);

/* ------------------------------------------------------------ the rig */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t iova(const void *p)
{
	return (uintptr_t)p;
}

static size_t page_up(size_t n)
{
	return (n + NVME_PAGE - 1) & ~(size_t)(NVME_PAGE - 1);
}

/* The arena for @o and a controller on @cfg, the arena its window. */
static void prepare(struct fake_nvme_cfg *cfg, const struct nvme_opts *o)
{
	size_t need = page_up(nvme_mem_need(o)), len = need + DATA_LEN;

	arena = aligned_alloc(NVME_PAGE, len);
	cr_assert_not_null(arena);
	memset(arena, 0, len);
	data = arena + need;
	mem.va = arena;
	mem.iova = iova(arena);
	mem.len = need;
	cfg->win[0].va = arena;
	cfg->win[0].len = len;
	cr_assert_eq(fake_nvme_start(&F, cfg), 0);
}

static int init_with(size_t bar_len, uint64_t hole_off, uint64_t hole_len,
		     const struct nvme_opts *o)
{
	return nvme_init(&C, F.bar, bar_len, hole_off, hole_len, &mem, o, cmds, cids);
}

/* prepare() and bring-up, which must work. */
static void up(struct fake_nvme_cfg *cfg, const struct nvme_opts *o)
{
	int ret;

	prepare(cfg, o);
	ret = init_with(FAKE_BAR_LEN, 0, 0, o);
	cr_assert_eq(ret, 0, "nvme_init: %d (%s)", ret, C.err);
}

/* prepare() and a bring-up that must fail with @err, naming @word. */
static void refused(struct fake_nvme_cfg *cfg, int err, const char *word)
{
	struct nvme_opts o = { 0 };
	int ret;

	prepare(cfg, &o);
	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, err, "nvme_init: %d, %d wanted (%s)", ret, err, C.err);
	cr_assert_not_null(strstr(C.err, word), "\"%s\" does not say \"%s\"", C.err, word);
}

/* Poll (@max a call) until @want completions are in done[] or @ms pass. */
static int reap(int want, int max, unsigned int ms)
{
	uint64_t end = now_ms() + ms;
	int n = 0, k;

	cr_assert_leq(want + max, (int)(sizeof(done) / sizeof(done[0])));
	while (n < want && now_ms() < end) {
		k = nvme_poll(&C, done + n, max);
		cr_assert(k >= 0 && k <= max, "nvme_poll gave %d, %d at most", k, max);
		n += k;
		if (!k)
			sched_yield();
	}
	return n;
}

/* The one completion of @user among the first @n of done[]. */
static const struct nvme_done *find(int n, uint64_t user)
{
	const struct nvme_done *d = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (done[i].user != user)
			continue;
		cr_assert_null(d, "user %llu completed twice", (unsigned long long)user);
		d = &done[i];
	}
	cr_assert_not_null(d, "user %llu never completed", (unsigned long long)user);
	return d;
}

/* One command submitted and waited for: its status. */
static int io1(uint8_t opc, uint64_t slba, uint32_t nlb, const void *buf)
{
	int ret = nvme_submit(&C, opc, slba, nlb, iova(buf), 77);

	cr_assert_eq(ret, 0, "nvme_submit: %d", ret);
	cr_assert_eq(reap(1, 8, 5000), 1, "no completion");
	cr_assert_eq(done[0].user, 77);
	return done[0].status;
}

/* Bytes no two calls with different seeds repeat. */
static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void same(const uint8_t *a, const uint8_t *b, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			cr_assert_fail("%s: byte %zu of %zu is 0x%02x, 0x%02x wanted",
				       what, i, len, a[i], b[i]);
}

/* The namespace's bytes of block @slba on, as the fake holds them. */
static const uint8_t *ns_at(uint64_t slba)
{
	return F.ns + (slba << C.lba_shift);
}

/* ------------------------------------------------------------ bring-up */

Test(nvme, bring_up_reads_the_controllers_facts, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 64, .max_pages = 32 };
	uint32_t cc;
	int i;

	fake_nvme_cfg_default(&cfg);
	cfg.mqes = 15;			/* 16 entries */
	cfg.dstrd = 1;			/* 8-byte doorbells */
	cfg.mdts = 3;			/* 8 pages */
	cfg.nlbaf = 1;
	cfg.flbas = 1;			/* the second format: 4 KiB */
	cfg.lbaf[0].ms = 8;		/* the first, not in use, has metadata */
	cfg.lbaf[1].lbads = 12;
	cfg.vwc = true;
	cfg.sn = "SN-42";
	cfg.mn = "Model X";
	cfg.fr = "FW9";
	up(&cfg, &o);

	cr_assert_eq(C.depth, 16);
	cr_assert_eq(C.sq.depth, 16);
	cr_assert_eq(fake_ld(&F.io_sq_size), 16);
	cr_assert_eq(fake_ld(&F.io_cq_size), 16);
	cr_assert_eq(C.dstrd, 8);
	cr_assert_eq((uintptr_t)C.sq.db, (uintptr_t)(F.bar + 0x1000 + 2 * 8));
	cr_assert_eq((uintptr_t)C.cq.db, (uintptr_t)(F.bar + 0x1000 + 3 * 8));
	cr_assert_eq(C.max_pages, 8);
	cr_assert_eq(C.lba_shift, 12);
	cr_assert_eq(nvme_lba_size(&C), 4096);
	cr_assert_eq(C.nsze, (1u << 20) >> 12);
	cr_assert_eq(C.nsid, 1);
	cr_assert_eq(C.vwc, 1);
	cr_assert_str_eq(C.sn, "SN-42");
	cr_assert_str_eq(C.mn, "Model X");
	cr_assert_str_eq(C.fr, "FW9");
	cr_assert_eq(C.ready_timeout_ns, 2 * 500000000ull);
	cc = fake_ld(&F.cc_at_enable);
	cr_assert_eq(cc & 1, 1);
	cr_assert_eq((cc >> 4) & 7, 0, "CC.CSS 0x%x", cc);
	cr_assert_eq((cc >> 7) & 0xf, 0, "CC.MPS 0x%x", cc);
	cr_assert_eq((cc >> 16) & 0xf, 6, "CC.IOSQES 0x%x", cc);
	cr_assert_eq((cc >> 20) & 0xf, 4, "CC.IOCQES 0x%x", cc);
	cr_assert_eq(fake_ld(&F.ctr.enables), 1);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x06]), 3);	/* ctrl, list, ns */
	cr_assert_eq(fake_ld(&F.ctr.admin[0x09]), 1);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x05]), 1);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x01]), 1);
	cr_assert_eq(fake_ld(&F.ctr.ien_queues), 0, "a polled CQ wants no interrupt");
	cr_assert_eq(fake_ld(&F.live), 1u << 0 | 1u << 1 | 1u << 8 | 1u << 9);

	/* 8 pages through a PRP list, at the 8-byte stride's doorbells. */
	pattern(SRC, 8 * 4096, 1);
	cr_assert_eq(io1(NVME_OPC_WRITE, 10, 8, SRC), 0);
	same(ns_at(10), SRC, 8 * 4096, "namespace after the write");
	cr_assert_eq(io1(NVME_OPC_READ, 10, 8, DST), 0);
	same(DST, SRC, 8 * 4096, "read back");
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 10, 9, iova(DST), 1), -EINVAL,
		     "9 pages past MDTS's 8");

	/* 15 commands fill 16 entries; they all complete. */
	for (i = 0; i < 15; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST + i * 4096), (uint64_t)i), 0, "command %d", i);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 1, iova(DST), 99), -EAGAIN);
	cr_assert_eq(reap(15, 16, 5000), 15);
	for (i = 0; i < 15; i++)
		cr_assert_eq(find(15, (uint64_t)i)->status, 0);
	cr_assert_eq(fake_ld(&F.ctr.bad_doorbells), 0);
	cr_assert_eq(C.st.resets, 0);
}

Test(nvme, data_round_trips_through_prp1_prp2_and_prp_lists, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 32, .max_pages = 32, .io_timeout_ms = 5000 };
	uint8_t *src, *dst;
	int i, k;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	cr_assert_eq(C.lba_shift, 9);
	cr_assert_eq(C.nsze, 2048);
	cr_assert_eq(C.depth, 32);

	/* 100 one-block writes, 20 in flight at a time: the queues wrap. */
	pattern(SRC, 100 * 512, 2);
	for (k = 0; k < 100; k += 20) {
		for (i = k; i < k + 20; i++)
			cr_assert_eq(nvme_submit(&C, NVME_OPC_WRITE, (uint64_t)i, 1,
						 iova(SRC + i * 512), (uint64_t)i), 0);
		cr_assert_eq(reap(20, 8, 5000), 20);
		for (i = k; i < k + 20; i++)
			cr_assert_eq(find(20, (uint64_t)i)->status, 0, "write %d", i);
	}
	same(ns_at(0), SRC, 100 * 512, "namespace after 100 writes");
	for (k = 0; k < 100; k += 25) {
		for (i = k; i < k + 25; i++)
			cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
						 iova(DST + i * 512), (uint64_t)i), 0);
		cr_assert_eq(reap(25, 32, 5000), 25);
		for (i = k; i < k + 25; i++)
			cr_assert_eq(find(25, (uint64_t)i)->status, 0, "read %d", i);
	}
	same(DST, SRC, 100 * 512, "100 blocks read back");

	/* 32 KiB page aligned: PRP1 and a list of 7. */
	pattern(SRC, 32768, 3);
	cr_assert_eq(io1(NVME_OPC_WRITE, 200, 64, SRC), 0);
	same(ns_at(200), SRC, 32768, "namespace after 32 KiB");
	memset(DST, 0, 32768);
	cr_assert_eq(io1(NVME_OPC_READ, 200, 64, DST), 0);
	same(DST, SRC, 32768, "32 KiB read back");

	/* 12 KiB at a dword offset: 4 pages, PRP1 offset 12, then a list. */
	src = SRC + 12;
	dst = DST + 2044;
	pattern(src, 12288, 4);
	cr_assert_eq(io1(NVME_OPC_WRITE, 300, 24, src), 0);
	same(ns_at(300), src, 12288, "namespace after the offset write");
	memset(DST, 0, 65536);
	cr_assert_eq(io1(NVME_OPC_READ, 300, 24, dst), 0);
	same(dst, src, 12288, "offset read back");
	for (i = 0; i < 2044; i++)
		cr_assert_eq(DST[i], 0, "byte %d before the buffer written", i);
	for (i = 0; i < 64; i++)
		cr_assert_eq(dst[12288 + i], 0, "byte %d past the buffer written", i);

	/* 4 KiB at offset 256: two pages, PRP2 the second one. */
	src = SRC + 256;
	pattern(src, 4096, 5);
	cr_assert_eq(io1(NVME_OPC_WRITE, 400, 8, src), 0);
	memset(DST, 0, 65536);
	cr_assert_eq(io1(NVME_OPC_READ, 400, 8, DST + 4092), 0);
	same(DST + 4092, src, 4096, "two-page read back");
	same(ns_at(400), src, 4096, "namespace after the two-page write");

	/* The last block, then a flush. */
	pattern(SRC, 512, 6);
	cr_assert_eq(io1(NVME_OPC_WRITE, 2047, 1, SRC), 0);
	same(ns_at(2047), SRC, 512, "the last block");
	cr_assert_eq(io1(NVME_OPC_FLUSH, 0, 0, NULL), 0);
	cr_assert_eq(fake_ld(&F.ctr.io[0x00]), 1);
	cr_assert_eq(fake_ld(&F.ctr.io_errors), 0);
	cr_assert_eq(C.st.submitted, 100 + 100 + 8);
	cr_assert_eq(C.st.completed, 100 + 100 + 8);
	cr_assert_eq(C.st.failed + C.st.resets + C.st.bogus, 0);
	cr_assert_eq(C.inflight, 0);
}

Test(nvme, waits_for_a_slow_controller, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };
	uint64_t t0 = now_ms(), ms;

	fake_nvme_cfg_default(&cfg);
	cfg.ready_delay_ms = 300;	/* inside CAP.TO's 1 s */
	up(&cfg, &o);
	ms = now_ms() - t0;
	cr_assert_geq(ms, 290, "up after %llu ms, before CSTS.RDY", (unsigned long long)ms);
	pattern(SRC, 512, 14);
	cr_assert_eq(io1(NVME_OPC_WRITE, 0, 1, SRC), 0);
	same(ns_at(0), SRC, 512, "namespace");
}

Test(nvme, init_again_resets_a_running_controller, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };
	int ret, i;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 5 * 512, 15);
	for (i = 0; i < 5; i++)
		cr_assert_eq(io1(NVME_OPC_WRITE, (uint64_t)i, 1, SRC + i * 512), 0);
	/* The controller is enabled, its queues 5 entries on: start over. */
	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, 0, "%d (%s)", ret, C.err);
	cr_assert_eq(fake_ld(&F.ctr.disables), 1, "not disabled first");
	cr_assert_eq(fake_ld(&F.ctr.enables), 2);
	cr_assert_eq(C.st.submitted, 0);
	cr_assert_eq(io1(NVME_OPC_READ, 0, 5, DST), 0);
	same(DST, SRC, 5 * 512, "read after the second bring-up");
}

/* ------------------------------------------------------------ refusals */

Test(nvme, refuses_a_controller_without_the_nvm_command_set, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.css_nvm = false;
	refused(&cfg, -EOPNOTSUPP, "NVM command set");
	cr_assert_eq(fake_ld(&F.ctr.enables), 0);
}

Test(nvme, refuses_pages_larger_than_4k, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.mpsmin = 1;
	refused(&cfg, -EOPNOTSUPP, "MPSMIN");
	cr_assert_eq(fake_ld(&F.ctr.enables), 0);
}

Test(nvme, refuses_blocks_with_metadata, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.nlbaf = 1;
	cfg.flbas = 1;			/* the second format, 512 + 8 */
	cfg.lbaf[1].lbads = 9;
	cfg.lbaf[1].ms = 8;
	refused(&cfg, -EOPNOTSUPP, "8 bytes of metadata");
}

Test(nvme, refuses_8k_blocks, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.lbaf[0].lbads = 13;
	refused(&cfg, -EOPNOTSUPP, "2^13");
}

Test(nvme, refuses_a_controller_wanting_larger_sq_entries, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.sqes = 0x77;		/* 128 bytes at least */
	refused(&cfg, -EOPNOTSUPP, "SQ entries");
	cr_assert_eq(fake_ld(&F.ctr.admin[0x05]) + fake_ld(&F.ctr.admin[0x01]), 0);
}

Test(nvme, refuses_an_lba_format_past_nlbaf, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.flbas = 2;
	cfg.lbaf[2].lbads = 9;
	refused(&cfg, -EOPNOTSUPP, "LBA format");
}

Test(nvme, refuses_a_controller_without_namespaces, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.nn = 0;
	refused(&cfg, -EOPNOTSUPP, "no namespace");
	cr_assert_eq(fake_ld(&F.ctr.admin[0x06]), 1, "identified past NN 0");
}

Test(nvme, refuses_a_controller_without_an_active_namespace, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.nsid = 0;
	refused(&cfg, -EOPNOTSUPP, "no active namespace");
}

Test(nvme, times_out_a_controller_that_never_gets_ready, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	uint64_t t0 = now_ms(), ms;

	fake_nvme_cfg_default(&cfg);
	cfg.to = 1;			/* 500 ms */
	cfg.never_ready = true;
	refused(&cfg, -ETIMEDOUT, "not ready");
	ms = now_ms() - t0;
	/* No upper bound: tests never assert on how fast; only that it waited. */
	cr_assert(ms >= 450, "gave up after %llu ms, CAP.TO says 500",
		  (unsigned long long)ms);
	cr_assert_eq(fake_ld(&F.ctr.enables), 1);
}

Test(nvme, refuses_doorbells_in_the_msix_hole, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { 0 };
	int ret;

	fake_nvme_cfg_default(&cfg);
	cfg.dstrd = 2;			/* doorbells 0x1000..0x1040 */
	prepare(&cfg, &o);
	ret = init_with(FAKE_BAR_LEN, 0x1000, 0x1000, &o);
	cr_assert_eq(ret, -EOPNOTSUPP, "%d (%s)", ret, C.err);
	cr_assert_not_null(strstr(C.err, "MSI-X"), "%s", C.err);
	ret = init_with(FAKE_BAR_LEN, 0x1030, 0x10, &o);
	cr_assert_eq(ret, -EOPNOTSUPP, "a hole over queue 1's doorbells: %d", ret);
	cr_assert_eq(fake_ld(&F.ctr.enables), 0);
	/* Past the doorbells: fine, and I/O works. */
	ret = init_with(FAKE_BAR_LEN, 0x2000, 0x1000, &o);
	cr_assert_eq(ret, 0, "%d (%s)", ret, C.err);
	pattern(SRC, 512, 7);
	cr_assert_eq(io1(NVME_OPC_WRITE, 1, 1, SRC), 0);
	same(ns_at(1), SRC, 512, "namespace");
}

Test(nvme, refuses_bad_dma_memory_and_options, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { 0 }, bad;
	struct nvme_dma good;
	int ret;

	fake_nvme_cfg_default(&cfg);
	prepare(&cfg, &o);
	good = mem;

	mem.len = nvme_mem_need(&o) - 1;
	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, -EINVAL, "a byte short: %d", ret);
	cr_assert_not_null(strstr(C.err, "DMA memory"), "%s", C.err);

	mem = good;
	mem.va += 64;
	mem.iova += 64;
	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, -EINVAL, "misaligned: %d", ret);
	cr_assert_not_null(strstr(C.err, "page-aligned"), "%s", C.err);

	mem = good;
	mem.iova += 4;
	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, -EINVAL, "IOVA misaligned: %d", ret);

	mem = good;
	bad = o;
	bad.depth = 1;
	cr_assert_eq(init_with(FAKE_BAR_LEN, 0, 0, &bad), -EINVAL);
	cr_assert_not_null(strstr(C.err, "queue depth"), "%s", C.err);
	bad.depth = NVME_IO_DEPTH_MAX + 1;
	cr_assert_eq(init_with(FAKE_BAR_LEN, 0, 0, &bad), -EINVAL);
	bad = o;
	bad.max_pages = NVME_PAGE / 8 + 1;
	cr_assert_eq(init_with(FAKE_BAR_LEN, 0, 0, &bad), -EINVAL);
	cr_assert_eq(fake_ld(&F.ctr.enables), 0, "touched the controller");

	ret = init_with(FAKE_BAR_LEN, 0, 0, &o);
	cr_assert_eq(ret, 0, "the good memory: %d (%s)", ret, C.err);
}

Test(nvme, refuses_a_bar_too_small, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { 0 };
	int ret;

	fake_nvme_cfg_default(&cfg);
	cfg.dstrd = 1;			/* doorbells 0x1000..0x1020 */
	prepare(&cfg, &o);
	ret = init_with(0x1000, 0, 0, &o);
	cr_assert_eq(ret, -EOPNOTSUPP, "%d (%s)", ret, C.err);
	cr_assert_not_null(strstr(C.err, "no doorbells"), "%s", C.err);
	ret = init_with(0x1010, 0, 0, &o);
	cr_assert_eq(ret, -EOPNOTSUPP, "queue 1's doorbells outside: %d", ret);
	cr_assert_not_null(strstr(C.err, "stride"), "%s", C.err);
	cr_assert_eq(fake_ld(&F.ctr.enables), 0);
}

Test(nvme, refuses_a_stride_past_the_bar, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.dstrd = 10;			/* 4 KiB apart: past 16 KiB */
	refused(&cfg, -EOPNOTSUPP, "stride");
}

Test(nvme, a_controller_reading_all_ones_is_no_device, .timeout = 20)
{
	struct fake_nvme_cfg cfg;

	fake_nvme_cfg_default(&cfg);
	cfg.dead = true;
	refused(&cfg, -ENODEV, "does not answer");
}

/* ------------------------------------------------------------ submit */

Test(nvme, submit_refuses_what_it_cannot_send, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 8, .max_pages = 4 };
	int i;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	cr_assert_eq(C.max_pages, 4);

	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 2048, 1, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 2047, 2, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, ~0ull, 1, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 0, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_WRITE, 0, 65537, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_FLUSH, 0, 1, 0, 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, 0x05, 0, 1, iova(DST), 1), -EINVAL);
	/* 4 pages at most: 32 blocks fit page aligned, not 4 bytes in. */
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 33, iova(DST), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 32, iova(DST + 4), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 1, iova(DST + 2), 1), -EINVAL);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_WRITE, 0, 1, iova(SRC + 1), 1), -EINVAL);
	cr_assert_eq(C.st.submitted, 0);
	cr_assert_eq(C.inflight, 0);
	cr_assert_eq(nvme_poll(&C, done, 8), 0);
	cr_assert_eq(fake_ld(&F.ctr.io[0x01]) + fake_ld(&F.ctr.io[0x02]), 0,
		     "a refused command reached the controller");

	/* The edges that fit. */
	cr_assert_eq(io1(NVME_OPC_READ, 2047, 1, DST + 4), 0);
	cr_assert_eq(io1(NVME_OPC_READ, 0, 32, DST), 0);
	cr_assert_eq(io1(NVME_OPC_READ, 0, 31, DST + 4), 0);

	/* 8 entries: 7 commands, then the queue is full until they complete. */
	for (i = 0; i < 7; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST + i * 512), (uint64_t)i), 0, "command %d", i);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 7, 1, iova(DST), 7), -EAGAIN);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_FLUSH, 0, 0, 0, 7), -EAGAIN);
	cr_assert_eq(C.inflight, 7);
	cr_assert_eq(reap(7, 8, 5000), 7);
	for (i = 0; i < 7; i++)
		cr_assert_eq(find(7, (uint64_t)i)->status, 0);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 7, 1, iova(DST), 7), 0);
	cr_assert_eq(reap(1, 8, 5000), 1);
	cr_assert_eq(C.st.submitted, 3 + 7 + 1);
	cr_assert_eq(fake_ld(&F.ctr.io[0x02]), 3 + 7 + 1);
}

/* ------------------------------------------------------------ recovery */

Test(nvme, a_lost_command_times_out_and_is_resubmitted, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16, .io_timeout_ms = 200 };
	uint64_t t0, ms;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 512, 8);
	cr_assert_eq(io1(NVME_OPC_WRITE, 5, 1, SRC), 0);

	fake_nvme_drop_next(&F, 1);
	t0 = now_ms();
	cr_assert_eq(io1(NVME_OPC_READ, 5, 1, DST), 0, "%d (%s)", done[0].status, C.err);
	ms = now_ms() - t0;
	same(DST, SRC, 512, "the resubmitted read");
	cr_assert_geq(ms, 190, "completed after %llu ms, before its timeout",
		      (unsigned long long)ms);
	cr_assert_eq(C.st.timeouts, 1);
	cr_assert_eq(C.st.resets, 1);
	cr_assert_eq(C.st.retried, 1);
	cr_assert_eq(C.st.fatal + C.st.failed, 0);
	cr_assert_eq(fake_ld(&F.ctr.dropped), 1);
	cr_assert_eq(fake_ld(&F.ctr.enables), 2, "the controller was not reset");
	cr_assert_eq(fake_ld(&F.ctr.disables), 1);
	cr_assert_eq(fake_ld(&F.ctr.io[0x02]), 1);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x05]), 2, "the I/O CQ not re-created");
	cr_assert_eq(fake_ld(&F.ctr.admin[0x01]), 2, "the I/O SQ not re-created");

	/* A lost write: its retry lands. */
	pattern(SRC, 512, 9);
	fake_nvme_drop_next(&F, 1);
	cr_assert_eq(io1(NVME_OPC_WRITE, 6, 1, SRC), 0);
	same(ns_at(6), SRC, 512, "the resubmitted write");
	cr_assert_eq(C.st.resets, 2);
	cr_assert_eq(C.st.retried, 2);
	cr_assert_eq(C.failed, false);
}

Test(nvme, a_command_lost_every_time_fails_after_three_submissions, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16, .io_timeout_ms = 200 };
	const struct nvme_done *d;
	uint64_t t0, ms;
	int i;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 16 * 512, 10);
	cr_assert_eq(io1(NVME_OPC_WRITE, 0, 16, SRC), 0);

	/* A at block 7 lost every time, B once, C and D answered. */
	fake_nvme_drop_slba(&F, 7);
	fake_nvme_drop_next(&F, 1);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 7, 1, iova(DST + 7 * 512), 'A'), 0);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 8, 1, iova(DST + 8 * 512), 'B'), 0);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 9, 1, iova(DST + 9 * 512), 'C'), 0);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 10, 1, iova(DST + 10 * 512), 'D'), 0);
	t0 = now_ms();
	cr_assert_eq(reap(4, 8, 10000), 4, "in flight: %u", C.inflight);
	ms = now_ms() - t0;
	d = find(4, 'A');
	cr_assert_eq(d->status, -EIO);
	cr_assert_eq(d->nvme_status, 0);
	for (i = 'B'; i <= 'D'; i++)
		cr_assert_eq(find(4, (uint64_t)i)->status, 0, "%c", i);
	same(DST + 8 * 512, SRC + 8 * 512, 3 * 512, "B, C and D");
	cr_assert_geq(ms, 3 * 190, "gave up after %llu ms", (unsigned long long)ms);
	cr_assert_eq(fake_ld(&F.ctr.dropped), 3 + 1, "A 3 times, B once");
	cr_assert_eq(C.st.timeouts, 3);
	cr_assert_eq(C.st.resets, 3);
	cr_assert_eq(C.st.retried, 3, "A twice, B once");
	cr_assert_eq(C.st.failed, 1);
	cr_assert_eq(fake_ld(&F.ctr.enables), 4);
	cr_assert_eq(C.inflight, 0);
	cr_assert_eq(C.failed, false);

	/* The controller is still driven. */
	cr_assert_eq(io1(NVME_OPC_READ, 11, 1, DST + 11 * 512), 0);
	same(DST + 11 * 512, SRC + 11 * 512, 512, "after");
}

Test(nvme, a_fatal_status_resets_and_resubmits, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16, .io_timeout_ms = 5000 };
	uint64_t end;
	int i;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 8 * 512, 11);
	cr_assert_eq(io1(NVME_OPC_WRITE, 0, 8, SRC), 0);

	/* Three answered, then CSTS.CFS with five in the SQ. */
	fake_nvme_cfs_after(&F, 3);
	for (i = 0; i < 8; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST + i * 512), (uint64_t)i), 0);
	nvme_ring(&C);
	end = now_ms() + 5000;
	while (!(fake_nvme_reg(&F, REG_CSTS) & 2) && now_ms() < end)
		sched_yield();
	cr_assert(fake_nvme_reg(&F, REG_CSTS) & 2, "no CFS");
	cr_assert_eq(reap(8, 8, 5000), 8, "in flight: %u", C.inflight);
	for (i = 0; i < 8; i++)
		cr_assert_eq(find(8, (uint64_t)i)->status, 0, "command %d", i);
	same(DST, SRC, 8 * 512, "read back across the reset");
	cr_assert_eq(C.st.fatal, 1);
	cr_assert_eq(C.st.resets, 1);
	cr_assert_eq(C.st.timeouts, 0);
	cr_assert_eq(C.st.retried, 5);
	cr_assert_eq(fake_ld(&F.ctr.enables), 2);
	cr_assert_eq(fake_ld(&F.ctr.io[0x02]), 8);
	cr_assert_eq(fake_nvme_reg(&F, REG_CSTS) & 3, 1, "ready, no CFS");
}

Test(nvme, a_failed_recovery_fails_everything_in_flight, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 64, .io_timeout_ms = 200 };
	int i, n;

	fake_nvme_cfg_default(&cfg);
	cfg.to = 1;
	up(&cfg, &o);

	/* 40 lost, and the reset's enable never gets ready. */
	fake_nvme_drop_next(&F, 40);
	fake_nvme_fail_enables(&F, 1);
	for (i = 0; i < 40; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST + i * 512), 1000 + (uint64_t)i), 0);
	n = reap(40, 8, 10000);
	cr_assert_eq(n, 40, "%d of 40 reported", n);
	for (i = 0; i < 40; i++) {
		const struct nvme_done *d = find(40, 1000 + (uint64_t)i);

		cr_assert_eq(d->status, -EIO, "command %d: %d", i, d->status);
	}
	cr_assert(C.failed);
	cr_assert_not_null(strstr(C.err, "not ready"), "%s", C.err);
	cr_assert_eq(C.st.resets, 1);
	cr_assert_eq(C.st.failed, 40);
	cr_assert_eq(C.inflight, 0);
	cr_assert_eq(C.nfree, 63);
	cr_assert_eq(fake_ld(&F.ctr.enables), 2);
	cr_assert_eq(fake_ld(&F.ctr.dropped), 40);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 1, iova(DST), 1), -EIO);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_FLUSH, 0, 0, 0, 1), -EIO);
	cr_assert_eq(nvme_poll(&C, done, 8), 0);

	/* Shutdown of a lost controller: no queue to delete, CC.SHN still. */
	cr_assert_eq(nvme_shutdown(&C), 0, "%s", C.err);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x00]) + fake_ld(&F.ctr.admin[0x04]), 0);
	cr_assert_eq(fake_ld(&F.ctr.shutdowns), 1);
}

/*
 * A reset while completions wait in the CQ unreaped (one a poll): they
 * are lost with the old queue, so each is resubmitted and reported once.
 */
Test(nvme, a_reset_with_completions_unreaped_reports_each_once, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 128, .io_timeout_ms = 200 };
	struct timespec ts = { 0, 300 * 1000000 };
	int i, k, n = 0, before = 0;
	uint64_t end;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 100 * 512, 17);
	cr_assert_eq(io1(NVME_OPC_WRITE, 0, 100, SRC), 0);
	fake_nvme_drop_next(&F, 1);
	for (i = 0; i < 100; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST + i * 512), (uint64_t)i), 0);
	nvme_ring(&C);
	cr_assert(fake_nvme_wait(&F.ctr.io[0x02], 99, 5000));
	nanosleep(&ts, NULL);		/* past the lost one's deadline */
	end = now_ms() + 5000;
	while (n < 100 && now_ms() < end) {
		uint64_t resets = C.st.resets;

		/* The poll that resets reaps what it found before it did. */
		k = nvme_poll(&C, done + n, 1);
		cr_assert(k >= 0 && k <= 1, "nvme_poll gave %d", k);
		n += k;
		if (!resets)
			before = n;
	}
	cr_assert_eq(n, 100, "in flight: %u", C.inflight);
	for (i = 0; i < 100; i++)
		cr_assert_eq(find(100, (uint64_t)i)->status, 0, "command %d", i);
	same(DST, SRC, 100 * 512, "read back across the reset");
	cr_assert_eq(C.st.resets, 1);
	cr_assert_eq(C.st.timeouts, 1);
	cr_assert_leq(before, 63, "%d reaped before the 64th poll's check", before);
	cr_assert_eq(C.st.retried, 100 - (uint64_t)before,
		     "%d reaped before the reset, %llu resubmitted", before,
		     (unsigned long long)C.st.retried);
	cr_assert_eq(C.st.completed, 1 + 100);
	cr_assert_eq(C.inflight, 0);
	cr_assert_eq(nvme_poll(&C, done, 8), 0, "reported again");
}

/*
 * nvme_recover() is public and says 0 when it reset the controller and
 * re-created the queues: after a recovery that failed, one that works
 * must leave a controller that takes commands again.
 */
Test(nvme, a_recovery_that_works_revives_a_lost_controller, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16, .io_timeout_ms = 200 };
	int ret;

	fake_nvme_cfg_default(&cfg);
	cfg.to = 1;
	up(&cfg, &o);
	pattern(SRC, 512, 16);
	cr_assert_eq(io1(NVME_OPC_WRITE, 4, 1, SRC), 0);
	/* Lost, and the reset's enable ends in a fatal status. */
	fake_nvme_drop_next(&F, 1);
	fake_nvme_fatal_enables(&F, 1);
	cr_assert_eq(io1(NVME_OPC_READ, 4, 1, DST), -EIO);
	cr_assert(C.failed);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 4, 1, iova(DST), 5), -EIO);

	/* The controller is back: a reset by hand works. */
	ret = nvme_recover(&C);
	cr_assert_eq(ret, 0, "%d (%s)", ret, C.err);
	cr_assert_eq(fake_ld(&F.ctr.enables), 3);
	cr_assert_eq(fake_ld(&F.live), 1u << 0 | 1u << 1 | 1u << 8 | 1u << 9);
	ret = nvme_submit(&C, NVME_OPC_READ, 4, 1, iova(DST), 5);
	cr_assert_eq(ret, 0, "nvme_recover() said 0, yet nvme_submit() says %d "
		     "(c->failed %d): the controller stays lost", ret, C.failed);
	cr_assert_eq(reap(1, 8, 5000), 1);
	cr_assert_eq(done[0].status, 0);
	same(DST, SRC, 512, "read after the reset");
}

Test(nvme, a_bogus_cid_is_counted_and_ignored, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 512, 12);
	cr_assert_eq(io1(NVME_OPC_WRITE, 3, 1, SRC), 0);

	fake_nvme_bogus_cqe(&F, 0xbeef, 1);	/* out of range */
	memset(DST, 0, 512);
	cr_assert_eq(io1(NVME_OPC_READ, 3, 1, DST), 0);
	same(DST, SRC, 512, "read with a bogus CQE before it");
	cr_assert_eq(fake_ld(&F.ctr.bogus_posted), 1);
	cr_assert_eq(C.st.bogus, 1);

	fake_nvme_bogus_cqe(&F, 5, 1);		/* in range, not in flight */
	memset(DST, 0, 512);
	cr_assert_eq(io1(NVME_OPC_READ, 3, 1, DST), 0);
	same(DST, SRC, 512, "read with a stale CQE before it");
	cr_assert_eq(fake_ld(&F.ctr.bogus_posted), 2);
	cr_assert_eq(C.st.bogus, 2);
	cr_assert_eq(C.st.completed, 3);
	cr_assert_eq(C.st.resets, 0);
	cr_assert_eq(nvme_poll(&C, done, 8), 0, "a bogus CQE reported");
}

Test(nvme, a_device_status_is_reported_without_a_reset, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	fake_nvme_set_nsze(&F, 100);		/* shrunk behind the driver */
	cr_assert_eq(io1(NVME_OPC_READ, 150, 1, DST), -ERANGE);
	cr_assert_eq(done[0].nvme_status, 0x0080);
	cr_assert_eq(C.st.failed, 1);
	cr_assert_eq(C.st.resets, 0);
	cr_assert_eq(fake_ld(&F.ctr.io_errors), 1);
	cr_assert_eq(io1(NVME_OPC_READ, 99, 1, DST), 0);
}

Test(nvme, a_vanished_controller_fails_what_is_in_flight, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };
	uint64_t end;
	int i;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	fake_nvme_drop_next(&F, 3);
	for (i = 0; i < 3; i++)
		cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, (uint64_t)i, 1,
					 iova(DST), (uint64_t)i), 0);
	nvme_ring(&C);
	cr_assert(fake_nvme_wait(&F.ctr.dropped, 3, 5000));
	fake_nvme_die(&F);
	end = now_ms() + 5000;
	while (fake_nvme_reg(&F, REG_CSTS) != 0xffffffffu && now_ms() < end)
		sched_yield();
	cr_assert_eq(reap(3, 8, 5000), 3);
	for (i = 0; i < 3; i++)
		cr_assert_eq(find(3, (uint64_t)i)->status, -EIO);
	cr_assert_eq(C.st.fatal, 1);
	cr_assert(C.failed);
	cr_assert_eq(nvme_submit(&C, NVME_OPC_READ, 0, 1, iova(DST), 1), -EIO);
}

/* ------------------------------------------------------------ shutdown */

Test(nvme, shutdown_deletes_the_queues_and_waits_for_shst, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };
	int ret;

	fake_nvme_cfg_default(&cfg);
	up(&cfg, &o);
	pattern(SRC, 512, 13);
	cr_assert_eq(io1(NVME_OPC_WRITE, 0, 1, SRC), 0);
	ret = nvme_shutdown(&C);
	cr_assert_eq(ret, 0, "%d (%s)", ret, C.err);
	cr_assert_eq(fake_ld(&F.ctr.admin[0x00]), 1, "Delete I/O SQ");
	cr_assert_eq(fake_ld(&F.ctr.admin[0x04]), 1, "Delete I/O CQ");
	cr_assert_eq(fake_ld(&F.live), 1u << 0 | 1u << 8, "queue 1 still there");
	cr_assert_eq(fake_ld(&F.ctr.shutdowns), 1);
	cr_assert_eq((fake_nvme_reg(&F, REG_CC) >> 14) & 3, 1, "CC.SHN normal");
	cr_assert_eq((fake_nvme_reg(&F, REG_CSTS) >> 2) & 3, 2, "CSTS.SHST complete");
}

/* The wait is max(CAP.TO, 5 s): this test takes 5 s. */
Test(nvme, shutdown_times_out_when_the_controller_never_finishes, .timeout = 20)
{
	struct fake_nvme_cfg cfg;
	struct nvme_opts o = { .depth = 16 };
	uint64_t t0, ms;
	int ret;

	fake_nvme_cfg_default(&cfg);
	cfg.to = 1;
	cfg.shn_never = true;
	up(&cfg, &o);
	t0 = now_ms();
	ret = nvme_shutdown(&C);
	ms = now_ms() - t0;
	cr_assert_eq(ret, -ETIMEDOUT, "%d (%s)", ret, C.err);
	cr_assert_not_null(strstr(C.err, "shutdown"), "%s", C.err);
	cr_assert(ms >= 4900, "gave up after %llu ms", (unsigned long long)ms);
	cr_assert_eq(fake_ld(&F.ctr.shutdowns), 1);
}
