// SPDX-License-Identifier: GPL-2.0
/*
 * The polled NVMe driver (nvme.h): registers, queues, commands, recovery.
 * Every fact about the controller (queue entries, doorbell stride,
 * timeouts, transfer size, block size) is read from it; what the driver
 * cannot drive is refused with the reason in c->err.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nvme.h"

/* Controller registers (NVMe 1.4, 3.1). */
#define REG_CAP		0x00
#define REG_VS		0x08
#define REG_CC		0x14
#define REG_CSTS	0x1c
#define REG_AQA		0x24
#define REG_ASQ		0x28
#define REG_ACQ		0x30
#define REG_DBS		0x1000

#define CC_EN		(1u << 0)
#define CC_SHN_NORMAL	(1u << 14)
#define CC_IOSQES	(6u << 16)	/* 64-byte SQEs */
#define CC_IOCQES	(4u << 20)	/* 16-byte CQEs */
#define CSTS_RDY	(1u << 0)
#define CSTS_CFS	(1u << 1)
#define CSTS_SHST(x)	(((x) >> 2) & 3)

#define CAP_MQES(c)	((uint32_t)((c) & 0xffff) + 1)
#define CAP_TO(c)	((uint32_t)((c) >> 24) & 0xff)
#define CAP_DSTRD(c)	((uint32_t)((c) >> 32) & 0xf)
#define CAP_CSS_NVM(c)	(((c) >> 37) & 1)
#define CAP_MPSMIN(c)	((uint32_t)((c) >> 48) & 0xf)

#define ADM_DELETE_SQ	0x00
#define ADM_CREATE_SQ	0x01
#define ADM_DELETE_CQ	0x04
#define ADM_CREATE_CQ	0x05
#define ADM_IDENTIFY	0x06
#define ADM_SET_FEAT	0x09
#define FEAT_NUM_QUEUES	0x07

#define SQE_SIZE	64u
#define CQE_SIZE	16u
#define MAX_TRIES	3
#define ADMIN_TIMEOUT_NS (10ull * 1000000000ull)

/* ------------------------------------------------------------ barriers */
/* The SQE and PRP stores (ordinary memory) before the doorbell (device). */
static inline void nvme_wmb(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#elif defined(__riscv)
	__asm__ __volatile__("fence w,o" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* A CQE's phase bit before the rest of it. */
static inline void nvme_rmb(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("dmb oshld" ::: "memory");
#elif defined(__riscv)
	__asm__ __volatile__("fence r,r" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* ------------------------------------------------------------ helpers */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(struct nvme_ctrl *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct nvme_ctrl *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

static uint32_t rd32(struct nvme_ctrl *c, uint32_t off)
{
	return *(volatile uint32_t *)(c->bar + off);
}

static void wr32(struct nvme_ctrl *c, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(c->bar + off) = v;
}

/* 64-bit registers as two 32-bit accesses, low first (any width works). */
static uint64_t rd64(struct nvme_ctrl *c, uint32_t off)
{
	uint32_t lo = rd32(c, off);

	return lo | (uint64_t)rd32(c, off + 4) << 32;
}

static void wr64(struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	wr32(c, off, (uint32_t)v);
	wr32(c, off + 4, (uint32_t)(v >> 32));
}

static uint32_t db_off(const struct nvme_ctrl *c, uint32_t qid, bool cq)
{
	return REG_DBS + (2 * qid + (cq ? 1 : 0)) * c->dstrd;
}

static size_t page_up(size_t n)
{
	return (n + NVME_PAGE - 1) & ~(size_t)(NVME_PAGE - 1);
}

/* Wait until CSTS & @mask == @want: 0, -ETIMEDOUT, or -ENODEV (all ones). */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want,
		     uint64_t timeout_ns)
{
	uint64_t end = now_ns() + timeout_ns;
	unsigned long spins = 0;

	for (;;) {
		uint32_t s = rd32(c, REG_CSTS);

		if (s == 0xffffffffu)
			return -ENODEV;
		if ((s & mask) == want)
			return 0;
		/* A bound in count too: a stuck clock cannot hang us. */
		if (now_ns() > end || ++spins > 2000000000ul)
			return -ETIMEDOUT;
	}
}

/* ------------------------------------------------------------ queues */
static void queue_set(struct nvme_queue *q, uint8_t *va, uint64_t iova,
		      uint16_t depth, volatile uint32_t *db)
{
	q->va = va;
	q->iova = iova;
	q->depth = depth;
	q->db = db;
	q->head = q->tail = 0;
	q->phase = 1;
}

static void queue_reset(struct nvme_queue *q, size_t entry)
{
	memset(q->va, 0, (size_t)q->depth * entry);
	q->head = q->tail = 0;
	q->phase = 1;
}

/* The CQE at the head if the controller posted it (phase matches), else NULL. */
static volatile uint32_t *cq_peek(struct nvme_queue *q)
{
	volatile uint32_t *e = (volatile uint32_t *)(q->va + (size_t)q->head * CQE_SIZE);

	if (((e[3] >> 16) & 1) != q->phase)
		return NULL;
	nvme_rmb();
	return e;
}

static void cq_advance(struct nvme_queue *q)
{
	if (++q->head == q->depth) {
		q->head = 0;
		q->phase ^= 1;
	}
}

/* NVMe status (SCT << 8 | SC) as an errno. */
static int status_errno(uint16_t st)
{
	uint8_t sct = st >> 8, sc = st & 0xff;

	if (!st)
		return 0;
	if (sct == 0 && sc == 0x80)
		return -ERANGE;		/* LBA out of range */
	if (sct == 0 && (sc == 0x01 || sc == 0x02 || sc == 0x0b))
		return -EINVAL;		/* opcode, field, namespace */
	if (sct == 2 && sc == 0x86)
		return -EACCES;		/* access denied */
	if (sct == 1 && sc == 0x82)
		return -EROFS;		/* write to a read-only range */
	return -EIO;
}

/* ------------------------------------------------------------ admin */
/*
 * Run one admin command to completion: 0 with *@dw0 set, or -errno
 * (c->err). The admin queue is only ever used one command at a time.
 */
static int admin(struct nvme_ctrl *c, uint32_t sqe[16], uint32_t *dw0,
		 const char *what)
{
	struct nvme_queue *sq = &c->asq, *cq = &c->acq;
	uint16_t cid = c->admin_cid++;
	uint64_t end;
	volatile uint32_t *e;

	sqe[0] = (sqe[0] & 0xffff) | (uint32_t)cid << 16;
	memcpy(sq->va + (size_t)sq->tail * SQE_SIZE, sqe, SQE_SIZE);
	sq->tail = (uint16_t)((sq->tail + 1) % sq->depth);
	nvme_wmb();
	*sq->db = sq->tail;
	end = now_ns() + ADMIN_TIMEOUT_NS;
	for (;;) {
		e = cq_peek(cq);
		if (e) {
			uint16_t got = (uint16_t)(e[3] & 0xffff);
			uint16_t st = (uint16_t)(e[3] >> 17) & 0x7ff;
			uint32_t r = e[0];

			cq_advance(cq);
			*cq->db = cq->head;
			if (got != cid)
				continue;	/* a stale one: not ours */
			if (st)
				return fail(c, status_errno((uint16_t)(((st >> 8) & 7) << 8 | (st & 0xff))),
					    "%s: the controller answered status type %u code 0x%02x",
					    what, (st >> 8) & 7, st & 0xff);
			if (dw0)
				*dw0 = r;
			return 0;
		}
		if (now_ns() > end)
			return fail(c, -ETIMEDOUT, "%s: no completion in %llu s", what,
				    (unsigned long long)(ADMIN_TIMEOUT_NS / 1000000000ull));
	}
}

static int identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid,
		    const char *what)
{
	uint32_t sqe[16] = { ADM_IDENTIFY };

	memset(c->idbuf, 0, NVME_PAGE);
	sqe[1] = nsid;
	sqe[6] = (uint32_t)c->idbuf_iova;
	sqe[7] = (uint32_t)(c->idbuf_iova >> 32);
	sqe[10] = cns;
	return admin(c, sqe, NULL, what);
}

/* A space-padded ASCII field as a C string. */
static void id_string(char *dst, size_t dlen, const uint8_t *src, size_t slen)
{
	size_t n = slen < dlen - 1 ? slen : dlen - 1, i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ------------------------------------------------------------ bring-up */
static int disable(struct nvme_ctrl *c)
{
	uint32_t cc = rd32(c, REG_CC);
	int ret;

	if (cc & CC_EN)
		wr32(c, REG_CC, cc & ~CC_EN);
	ret = wait_csts(c, CSTS_RDY, 0, c->ready_timeout_ns);
	if (ret)
		return fail(c, ret, "disable: CSTS.RDY still 1 after %llu ms",
			    (unsigned long long)(c->ready_timeout_ns / 1000000));
	return 0;
}

static int enable(struct nvme_ctrl *c)
{
	int ret;

	queue_reset(&c->asq, SQE_SIZE);
	queue_reset(&c->acq, CQE_SIZE);
	wr32(c, REG_AQA, (uint32_t)(c->acq.depth - 1) << 16 | (uint32_t)(c->asq.depth - 1));
	wr64(c, REG_ASQ, c->asq.iova);
	wr64(c, REG_ACQ, c->acq.iova);
	wr32(c, REG_CC, CC_EN | CC_IOSQES | CC_IOCQES);	/* NVM, 4 KiB pages, RR */
	ret = wait_csts(c, CSTS_RDY | CSTS_CFS, CSTS_RDY, c->ready_timeout_ns);
	if (ret)
		return fail(c, ret, "enable: not ready after %llu ms (CSTS 0x%x)",
			    (unsigned long long)(c->ready_timeout_ns / 1000000),
			    rd32(c, REG_CSTS));
	return 0;
}

/* Number of queues, then the I/O CQ and SQ (queue id 1), interrupts off. */
static int create_io(struct nvme_ctrl *c)
{
	uint32_t sqe[16], dw0 = 0;
	int ret;

	memset(sqe, 0, sizeof(sqe));
	sqe[0] = ADM_SET_FEAT;
	sqe[10] = FEAT_NUM_QUEUES;
	sqe[11] = 0;			/* one SQ, one CQ (0's based) */
	ret = admin(c, sqe, &dw0, "set features: number of queues");
	if (ret)
		return ret;
	if ((dw0 & 0xffff) == 0xffff || (dw0 >> 16) == 0xffff)
		return fail(c, -EOPNOTSUPP, "the controller grants no I/O queue (0x%x)", dw0);

	queue_reset(&c->cq, CQE_SIZE);
	queue_reset(&c->sq, SQE_SIZE);
	memset(sqe, 0, sizeof(sqe));
	sqe[0] = ADM_CREATE_CQ;
	sqe[6] = (uint32_t)c->cq.iova;
	sqe[7] = (uint32_t)(c->cq.iova >> 32);
	sqe[10] = (uint32_t)(c->cq.depth - 1) << 16 | 1;
	sqe[11] = 1;			/* physically contiguous, IEN 0 */
	ret = admin(c, sqe, NULL, "create I/O completion queue");
	if (ret)
		return ret;
	memset(sqe, 0, sizeof(sqe));
	sqe[0] = ADM_CREATE_SQ;
	sqe[6] = (uint32_t)c->sq.iova;
	sqe[7] = (uint32_t)(c->sq.iova >> 32);
	sqe[10] = (uint32_t)(c->sq.depth - 1) << 16 | 1;
	sqe[11] = 1u << 16 | 1;		/* CQ 1, contiguous, priority 0 */
	return admin(c, sqe, NULL, "create I/O submission queue");
}

size_t nvme_mem_need(const struct nvme_opts *o)
{
	uint32_t depth = o->depth ? o->depth : 128;
	uint32_t pages = o->max_pages ? o->max_pages : 32;
	uint32_t prp = 8;

	while (prp < pages * 8)
		prp <<= 1;
	return page_up(NVME_ADMIN_DEPTH * SQE_SIZE) + page_up(NVME_ADMIN_DEPTH * CQE_SIZE) +
	       NVME_PAGE + page_up((size_t)depth * SQE_SIZE) +
	       page_up((size_t)depth * CQE_SIZE) + page_up((size_t)depth * prp);
}

/* Identify the controller and the first active namespace. */
static int identify_all(struct nvme_ctrl *c)
{
	const uint8_t *id = c->idbuf;
	uint32_t nn, lbads, ms, mdts_pages;
	uint8_t flbas, nlbaf;
	int ret;

	ret = identify(c, 1, 0, "identify controller");
	if (ret)
		return ret;
	id_string(c->sn, sizeof(c->sn), id + 4, 20);
	id_string(c->mn, sizeof(c->mn), id + 24, 40);
	id_string(c->fr, sizeof(c->fr), id + 64, 8);
	if (id[512] & 0xf && (id[512] & 0xf) > 6)
		return fail(c, -EOPNOTSUPP, "the controller wants SQ entries of 2^%u bytes",
			    id[512] & 0xf);
	mdts_pages = id[77] ? 1u << (id[77] < 20 ? id[77] : 20) : 0;
	if (mdts_pages && mdts_pages < c->max_pages)
		c->max_pages = mdts_pages;
	c->vwc = id[525] & 1;
	nn = le32(id + 516);
	if (!nn)
		return fail(c, -EOPNOTSUPP, "the controller has no namespace");

	ret = identify(c, 2, 0, "identify active namespaces");
	if (ret)
		return ret;
	c->nsid = le32(id);
	if (!c->nsid)
		return fail(c, -EOPNOTSUPP, "the controller has no active namespace");

	ret = identify(c, 0, c->nsid, "identify namespace");
	if (ret)
		return ret;
	c->nsze = le64(id);
	nlbaf = id[25];
	flbas = id[26] & 0xf;
	if (flbas > nlbaf)
		return fail(c, -EOPNOTSUPP, "namespace %u: LBA format %u of %u", c->nsid,
			    flbas, nlbaf + 1);
	ms = id[128 + 4 * flbas] | (uint32_t)id[129 + 4 * flbas] << 8;
	lbads = id[130 + 4 * flbas];
	if (ms)
		return fail(c, -EOPNOTSUPP, "namespace %u: %u bytes of metadata per block",
			    c->nsid, ms);
	if (lbads < 9 || lbads > 12)
		return fail(c, -EOPNOTSUPP, "namespace %u: blocks of 2^%u bytes (9..12 driven)",
			    c->nsid, lbads);
	if (!c->nsze)
		return fail(c, -EOPNOTSUPP, "namespace %u is empty", c->nsid);
	c->lba_shift = lbads;
	return 0;
}

int nvme_init(struct nvme_ctrl *c, volatile void *bar, size_t bar_len,
	      uint64_t hole_off, uint64_t hole_len, const struct nvme_dma *mem,
	      const struct nvme_opts *o, struct nvme_cmd *cmds,
	      uint16_t *free_cids)
{
	uint32_t depth = o->depth ? o->depth : 128;
	uint32_t pages = o->max_pages ? o->max_pages : 32;
	uint32_t to = o->io_timeout_ms ? o->io_timeout_ms : 5000;
	uint64_t dbs_end;
	size_t off = 0;
	uint32_t i;
	int ret;

	memset(c, 0, sizeof(*c));
	c->bar = bar;
	c->bar_len = bar_len;
	c->hole_off = hole_off;
	c->hole_len = hole_len;
	c->mem = *mem;
	c->cmds = cmds;
	c->free_cids = free_cids;
	if (depth < 2 || depth > NVME_IO_DEPTH_MAX || pages < 1 || pages > NVME_PAGE / 8)
		return fail(c, -EINVAL, "queue depth %u (2..%u), pages per command %u (1..%u)",
			    depth, NVME_IO_DEPTH_MAX, pages, NVME_PAGE / 8);
	if (mem->len < nvme_mem_need(o) || (mem->iova & (NVME_PAGE - 1)) ||
	    ((uintptr_t)mem->va & (NVME_PAGE - 1)))
		return fail(c, -EINVAL, "DMA memory: %zu bytes at IOVA 0x%llx, %zu page-aligned wanted",
			    mem->len, (unsigned long long)mem->iova, nvme_mem_need(o));
	if (bar_len < REG_DBS + 16)
		return fail(c, -EOPNOTSUPP, "BAR 0 is %zu bytes: no doorbells", bar_len);

	c->cap = rd64(c, REG_CAP);
	c->vs = rd32(c, REG_VS);
	if (c->cap == ~0ull)
		return fail(c, -ENODEV, "the controller does not answer (CAP all ones)");
	if (!CAP_CSS_NVM(c->cap))
		return fail(c, -EOPNOTSUPP, "CAP 0x%llx: no NVM command set",
			    (unsigned long long)c->cap);
	if (CAP_MPSMIN(c->cap) > 0)
		return fail(c, -EOPNOTSUPP, "CAP.MPSMIN: pages of at least %u KiB, 4 driven",
			    4u << CAP_MPSMIN(c->cap));
	c->mqes = CAP_MQES(c->cap);
	c->dstrd = 4u << CAP_DSTRD(c->cap);
	c->ready_timeout_ns = (uint64_t)(CAP_TO(c->cap) ? CAP_TO(c->cap) : 1) * 500000000ull;
	if (depth > c->mqes)
		depth = c->mqes;
	if (depth < 2)
		return fail(c, -EOPNOTSUPP, "CAP.MQES: queues of %u entries", c->mqes);
	/* Doorbells of queues 0 and 1, in the BAR and outside its hole. */
	dbs_end = REG_DBS + 4ull * c->dstrd;
	if (dbs_end > bar_len)
		return fail(c, -EOPNOTSUPP, "doorbell stride %u: the doorbells pass BAR 0's %zu bytes",
			    c->dstrd, bar_len);
	if (hole_len && REG_DBS < hole_off + hole_len && hole_off < dbs_end)
		return fail(c, -EOPNOTSUPP, "the doorbells 0x%x..0x%llx fall in the MSI-X pages 0x%llx..0x%llx",
			    REG_DBS, (unsigned long long)dbs_end, (unsigned long long)hole_off,
			    (unsigned long long)(hole_off + hole_len));

	c->depth = depth;
	c->max_pages = pages;
	c->io_timeout_ns = (uint64_t)to * 1000000ull;
	c->prp_bytes = 8;
	while (c->prp_bytes < pages * 8)
		c->prp_bytes <<= 1;
	/* Quiet first: the controller may still be using memory we reuse. */
	ret = disable(c);
	if (ret)
		return ret;
	memset(mem->va, 0, nvme_mem_need(o));
	queue_set(&c->asq, mem->va + off, mem->iova + off, NVME_ADMIN_DEPTH,
		  (volatile uint32_t *)(c->bar + db_off(c, 0, false)));
	off += page_up(NVME_ADMIN_DEPTH * SQE_SIZE);
	queue_set(&c->acq, mem->va + off, mem->iova + off, NVME_ADMIN_DEPTH,
		  (volatile uint32_t *)(c->bar + db_off(c, 0, true)));
	off += page_up(NVME_ADMIN_DEPTH * CQE_SIZE);
	c->idbuf = mem->va + off;
	c->idbuf_iova = mem->iova + off;
	off += NVME_PAGE;
	queue_set(&c->sq, mem->va + off, mem->iova + off, (uint16_t)depth,
		  (volatile uint32_t *)(c->bar + db_off(c, 1, false)));
	off += page_up((size_t)depth * SQE_SIZE);
	queue_set(&c->cq, mem->va + off, mem->iova + off, (uint16_t)depth,
		  (volatile uint32_t *)(c->bar + db_off(c, 1, true)));
	off += page_up((size_t)depth * CQE_SIZE);
	c->prp_va = mem->va + off;
	c->prp_iova = mem->iova + off;

	/* One command slot fewer than entries: the SQ and CQ never fill. */
	memset(cmds, 0, sizeof(*cmds) * depth);
	c->nfree = 0;
	for (i = depth - 1; i-- > 0;)
		free_cids[c->nfree++] = (uint16_t)i;

	ret = enable(c);
	if (!ret)
		ret = identify_all(c);
	if (!ret)
		ret = create_io(c);
	return ret;
}

/* ------------------------------------------------------------ I/O */
static void write_sqe(struct nvme_ctrl *c, uint16_t cid, const struct nvme_cmd *m)
{
	uint32_t *s = (uint32_t *)(c->sq.va + (size_t)c->sq.tail * SQE_SIZE);

	memset(s, 0, SQE_SIZE);
	s[0] = m->opc | (uint32_t)cid << 16;
	s[1] = c->nsid;
	s[6] = (uint32_t)m->prp1;
	s[7] = (uint32_t)(m->prp1 >> 32);
	s[8] = (uint32_t)m->prp2;
	s[9] = (uint32_t)(m->prp2 >> 32);
	if (m->opc != NVME_OPC_FLUSH) {
		s[10] = (uint32_t)m->slba;
		s[11] = (uint32_t)(m->slba >> 32);
		s[12] = m->nlb - 1;
	}
	c->sq.tail = (uint16_t)((c->sq.tail + 1) % c->sq.depth);
	c->sq_dirty = true;
}

int nvme_submit(struct nvme_ctrl *c, uint8_t opc, uint64_t slba, uint32_t nlb,
		uint64_t iova, uint64_t user)
{
	struct nvme_cmd *m;
	uint16_t cid;

	if (c->failed)
		return -EIO;
	if (opc != NVME_OPC_FLUSH && opc != NVME_OPC_READ && opc != NVME_OPC_WRITE)
		return -EINVAL;
	if (opc == NVME_OPC_FLUSH ? nlb != 0 :
	    (nlb == 0 || nlb > 65536 || (iova & 3) || slba >= c->nsze ||
	     nlb > c->nsze - slba))
		return -EINVAL;
	if (opc != NVME_OPC_FLUSH) {
		uint64_t bytes = (uint64_t)nlb << c->lba_shift;
		uint64_t off = iova & (NVME_PAGE - 1);
		uint64_t pages = (off + bytes + NVME_PAGE - 1) / NVME_PAGE;

		if (pages > c->max_pages || iova + bytes < iova)
			return -EINVAL;
	}
	if (!c->nfree)
		return -EAGAIN;
	cid = c->free_cids[--c->nfree];
	m = &c->cmds[cid];
	m->user = user;
	m->opc = opc;
	m->slba = slba;
	m->nlb = nlb;
	m->tries = 1;
	m->busy = 1;
	m->prp1 = m->prp2 = 0;
	if (opc != NVME_OPC_FLUSH) {
		uint64_t bytes = (uint64_t)nlb << c->lba_shift;
		uint64_t off = iova & (NVME_PAGE - 1);
		uint64_t first = NVME_PAGE - off, rest, base = iova - off;

		m->prp1 = iova;
		rest = bytes > first ? bytes - first : 0;
		if (rest > NVME_PAGE) {
			uint64_t *list = (uint64_t *)(c->prp_va + (size_t)cid * c->prp_bytes);
			uint64_t n = (rest + NVME_PAGE - 1) / NVME_PAGE, k;

			for (k = 0; k < n; k++)
				list[k] = base + (k + 1) * NVME_PAGE;
			m->prp2 = c->prp_iova + (uint64_t)cid * c->prp_bytes;
		} else if (rest) {
			m->prp2 = base + NVME_PAGE;
		}
	}
	m->deadline_ns = now_ns() + c->io_timeout_ns;
	write_sqe(c, cid, m);
	c->inflight++;
	c->st.submitted++;
	return 0;
}

void nvme_ring(struct nvme_ctrl *c)
{
	if (!c->sq_dirty)
		return;
	c->sq_dirty = false;
	nvme_wmb();
	*c->sq.db = c->sq.tail;
}

static void cid_put(struct nvme_ctrl *c, uint16_t cid)
{
	c->cmds[cid].busy = 0;
	c->free_cids[c->nfree++] = cid;
	c->inflight--;
}

/* Commands recovery gave up on (busy == 2): report them. */
static int reap_failed(struct nvme_ctrl *c, struct nvme_done *out, int max)
{
	int n = 0;
	uint32_t i;

	for (i = 0; i < c->depth - 1 && n < max && c->nfailed; i++) {
		if (c->cmds[i].busy != 2)
			continue;
		c->nfailed--;
		out[n].user = c->cmds[i].user;
		out[n].status = -EIO;
		out[n].nvme_status = 0;
		n++;
		c->st.failed++;
		cid_put(c, (uint16_t)i);
	}
	return n;
}

/*
 * Every 64th poll, busy or not: a deadline passed, or the controller
 * failed? (One lost command among many completing is found too.)
 */
static int check_health(struct nvme_ctrl *c)
{
	uint64_t t;
	uint32_t csts, i;

	if (++c->polls & 63)
		return 0;
	csts = rd32(c, REG_CSTS);
	if (csts == 0xffffffffu || (csts & CSTS_CFS)) {
		c->st.fatal++;
		return 1;
	}
	if (!c->inflight)
		return 0;
	t = now_ns();
	for (i = 0; i < c->depth - 1; i++)
		if (c->cmds[i].busy == 1 && t > c->cmds[i].deadline_ns) {
			c->st.timeouts++;
			return 1;
		}
	return 0;
}

int nvme_poll(struct nvme_ctrl *c, struct nvme_done *out, int max)
{
	struct nvme_queue *cq = &c->cq;
	volatile uint32_t *e;
	uint16_t head = cq->head;
	int n = 0;

	nvme_ring(c);
	if (c->nfailed)
		n = reap_failed(c, out, max);
	if (c->failed)
		return n;
	while (n < max && (e = cq_peek(cq))) {
		uint16_t cid = (uint16_t)(e[3] & 0xffff);
		uint16_t raw = (uint16_t)(e[3] >> 17);
		uint16_t st = (uint16_t)(((raw >> 8) & 7) << 8 | (raw & 0xff));

		c->sq.head = (uint16_t)(e[2] & 0xffff);
		cq_advance(cq);
		if (cid >= c->depth - 1 || c->cmds[cid].busy != 1) {
			c->st.bogus++;	/* not a command of ours: ignored */
			continue;
		}
		out[n].user = c->cmds[cid].user;
		out[n].status = status_errno(st);
		out[n].nvme_status = st;
		if (st)
			c->st.failed++;
		c->st.completed++;
		cid_put(c, cid);
		n++;
	}
	/* Entries consumed, ours or not: the controller may reuse them. */
	if (cq->head != head)
		*cq->db = cq->head;
	if (check_health(c)) {
		nvme_recover(c);
		n += reap_failed(c, out + n, max - n);
	}
	return n;
}

int nvme_recover(struct nvme_ctrl *c)
{
	uint32_t i;
	int ret;

	c->st.resets++;
	ret = disable(c);
	if (!ret)
		ret = enable(c);
	if (!ret)
		ret = create_io(c);
	if (ret) {
		/* Lost: what was in flight fails, and so does all that follows. */
		c->failed = true;
		for (i = 0; i < c->depth - 1; i++)
			if (c->cmds[i].busy == 1) {
				c->cmds[i].busy = 2;
				c->nfailed++;
			}
		return ret;
	}
	/* Alive (again: a caller may retry a recovery that failed). */
	c->failed = false;
	/* The new queues are empty: resubmit what was in flight, in cid order. */
	for (i = 0; i < c->depth - 1; i++) {
		struct nvme_cmd *m = &c->cmds[i];

		if (m->busy != 1)
			continue;
		if (m->tries >= MAX_TRIES) {
			m->busy = 2;
			c->nfailed++;
			continue;
		}
		m->tries++;
		m->deadline_ns = now_ns() + c->io_timeout_ns;
		write_sqe(c, (uint16_t)i, m);
		c->st.retried++;
	}
	nvme_ring(c);
	return 0;
}

int nvme_shutdown(struct nvme_ctrl *c)
{
	uint32_t sqe[16];
	int ret = 0, wret;

	if (!c->failed) {
		memset(sqe, 0, sizeof(sqe));
		sqe[0] = ADM_DELETE_SQ;
		sqe[10] = 1;
		ret = admin(c, sqe, NULL, "delete I/O submission queue");
		memset(sqe, 0, sizeof(sqe));
		sqe[0] = ADM_DELETE_CQ;
		sqe[10] = 1;
		if (!ret)
			ret = admin(c, sqe, NULL, "delete I/O completion queue");
	}
	wr32(c, REG_CC, (rd32(c, REG_CC) & ~(3u << 14)) | CC_SHN_NORMAL);
	wret = wait_csts(c, 3u << 2, 2u << 2, c->ready_timeout_ns > 5000000000ull ?
			 c->ready_timeout_ns : 5000000000ull);
	if (wret == -ENODEV)
		return fail(c, wret, "shutdown: the controller does not answer (CSTS all ones)");
	if (wret)
		return fail(c, wret, "shutdown: CSTS.SHST 0x%x, not complete",
			    CSTS_SHST(rd32(c, REG_CSTS)));
	return ret;
}
