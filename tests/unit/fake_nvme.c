// SPDX-License-Identifier: GPL-2.0
/*
 * The fake NVMe controller (fake_nvme.h): its register page, its thread
 * (CC transitions, doorbells, admin and I/O commands, completions), the
 * PRP walk with its checks, and the faults the tests switch on.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvme.h"

#define R_CAP		0x00
#define R_VS		0x08
#define R_CC		0x14
#define R_CSTS		0x1c
#define R_AQA		0x24
#define R_ASQ		0x28
#define R_ACQ		0x30
#define R_DBS		0x1000

#define CSTS_RDY	(1u << 0)
#define CSTS_CFS	(1u << 1)
#define CSTS_SHST_MASK	(3u << 2)
#define CSTS_SHST_DONE	(2u << 2)

#define NO_CQE		0xffffffffu	/* a command dropped: no completion */
#define STEP_CMDS	64		/* commands per queue per pass */

/* ------------------------------------------------------------ helpers */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t *reg(struct fake_nvme *f, uint32_t off)
{
	return (uint32_t *)(f->bar + off);
}

static uint32_t rd(struct fake_nvme *f, uint32_t off)
{
	return __atomic_load_n(reg(f, off), __ATOMIC_ACQUIRE);
}

static void wr(struct fake_nvme *f, uint32_t off, uint32_t v)
{
	__atomic_store_n(reg(f, off), v, __ATOMIC_RELEASE);
}

static void csts_set(struct fake_nvme *f, uint32_t set, uint32_t clear)
{
	wr(f, R_CSTS, (rd(f, R_CSTS) & ~clear) | set);
}

static void inc(uint32_t *p)
{
	__atomic_add_fetch(p, 1, __ATOMIC_ACQ_REL);
}

/* Take one from a fault's count: true when there was one. */
static bool take(uint32_t *p)
{
	uint32_t v = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	while (v && !__atomic_compare_exchange_n(p, &v, v - 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return v != 0;
}

static uint32_t db_off(struct fake_nvme *f, uint32_t qid, bool cq)
{
	return R_DBS + (2 * qid + (cq ? 1 : 0)) * (4u << f->cfg.dstrd);
}

/*
 * A queue's doorbells back to 0, as a reset or a queue's creation leaves
 * them: the host rings them only after, and a stale value would be taken
 * for its writes (a CQ head past the new tail reads as a full CQ).
 */
static void db_clear(struct fake_nvme *f, uint32_t qid)
{
	wr(f, db_off(f, qid, false), 0);
	wr(f, db_off(f, qid, true), 0);
}

static void set_live(struct fake_nvme *f)
{
	uint32_t m = 0, q;

	for (q = 0; q < FAKE_MAXQ; q++) {
		if (f->sq[q].live)
			m |= 1u << q;
		if (f->cq[q].live)
			m |= 1u << (8 + q);
	}
	fake_st(&f->live, m);
}

/* @len bytes at @addr inside a window the test mapped? */
static bool in_win(struct fake_nvme *f, uint64_t addr, size_t len)
{
	unsigned int i;

	for (i = 0; i < FAKE_NWIN; i++) {
		uint64_t b = (uintptr_t)f->cfg.win[i].va;
		uint64_t l = f->cfg.win[i].len;

		if (l && addr >= b && len <= l && addr - b <= l - len)
			return true;
	}
	return false;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_str(uint8_t *p, const char *s, size_t len)
{
	size_t n = strlen(s);

	memset(p, ' ', len);
	memcpy(p, s, n < len ? n : len);
}

/* ------------------------------------------------------------ PRPs */
/* One piece of a transfer: checked, then copied unless @dry. */
static bool seg(struct fake_nvme *f, uint64_t addr, uint8_t *buf, size_t len,
		bool to_host, bool dry)
{
	if (!in_win(f, addr, len))
		return false;
	if (!dry) {
		if (to_host)
			memcpy((void *)(uintptr_t)addr, buf, len);
		else
			memcpy(buf, (const void *)(uintptr_t)addr, len);
	}
	return true;
}

/*
 * Move @len bytes between @buf and the host along PRP1/PRP2 (NVMe 1.4,
 * 4.3): PRP1 may have a dword offset, every other entry is page aligned;
 * PRP2 is the second page, or a list (its last entry in a page a pointer
 * to the next list) when the transfer spans more than two pages.
 * 0 or the status of the first fault found.
 */
static uint16_t prp_xfer(struct fake_nvme *f, uint64_t prp1, uint64_t prp2,
			 uint8_t *buf, size_t len, bool to_host, bool dry)
{
	size_t done, chunk;
	uint64_t ent;
	unsigned int hops = 0;

	if (prp1 & 3)
		return FAKE_SC_PRP_OFFSET;
	chunk = FAKE_PAGE - (prp1 & (FAKE_PAGE - 1));
	if (chunk > len)
		chunk = len;
	if (!seg(f, prp1, buf, chunk, to_host, dry))
		return FAKE_SC_XFER_ERROR;
	done = chunk;
	if (done == len)
		return 0;
	if (len - done <= FAKE_PAGE) {
		if (prp2 & (FAKE_PAGE - 1))
			return FAKE_SC_PRP_OFFSET;
		return seg(f, prp2, buf + done, len - done, to_host, dry) ? 0 :
		       FAKE_SC_XFER_ERROR;
	}
	if (prp2 & 7)
		return FAKE_SC_PRP_OFFSET;
	ent = prp2;
	while (done < len) {
		uint64_t addr;

		if (!in_win(f, ent, 8))
			return FAKE_SC_XFER_ERROR;
		memcpy(&addr, (const void *)(uintptr_t)ent, 8);
		if ((ent & (FAKE_PAGE - 1)) == FAKE_PAGE - 8 && len - done > FAKE_PAGE) {
			/* the last entry of a list page: the next list */
			if ((addr & 7) || ++hops > 1024)
				return FAKE_SC_PRP_OFFSET;
			ent = addr;
			continue;
		}
		if (addr & (FAKE_PAGE - 1))
			return FAKE_SC_PRP_OFFSET;
		chunk = len - done < FAKE_PAGE ? len - done : FAKE_PAGE;
		if (!seg(f, addr, buf + done, chunk, to_host, dry))
			return FAKE_SC_XFER_ERROR;
		done += chunk;
		ent += 8;
	}
	return 0;
}

static uint16_t xfer(struct fake_nvme *f, const uint32_t *sqe, uint8_t *buf,
		     size_t len, bool to_host)
{
	uint64_t prp1 = sqe[6] | (uint64_t)sqe[7] << 32;
	uint64_t prp2 = sqe[8] | (uint64_t)sqe[9] << 32;
	uint16_t st = prp_xfer(f, prp1, prp2, buf, len, to_host, true);

	return st ? st : prp_xfer(f, prp1, prp2, buf, len, to_host, false);
}

/* ------------------------------------------------------------ admin */
static uint16_t identify(struct fake_nvme *f, const uint32_t *sqe)
{
	const struct fake_nvme_cfg *cfg = &f->cfg;
	uint8_t id[FAKE_PAGE];
	uint32_t cns = sqe[10] & 0xff, nsid = sqe[1], i;

	memset(id, 0, sizeof(id));
	switch (cns) {
	case 1:				/* controller */
		put_le(id, 0x1b36, 2);
		put_str(id + 4, cfg->sn, 20);
		put_str(id + 24, cfg->mn, 40);
		put_str(id + 64, cfg->fr, 8);
		id[77] = cfg->mdts;
		put_le(id + 80, 0x00010400, 4);
		id[512] = cfg->sqes;
		id[513] = cfg->cqes;
		put_le(id + 516, cfg->nn, 4);
		id[525] = cfg->vwc ? 1 : 0;
		break;
	case 2:				/* active namespaces past nsid */
		if (cfg->nn && cfg->nsid && cfg->nsid > nsid)
			put_le(id, cfg->nsid, 4);
		break;
	case 0:				/* a namespace */
		if (!cfg->nn || !cfg->nsid || nsid != cfg->nsid)
			return FAKE_SC_INVALID_NS;
		put_le(id, __atomic_load_n(&f->nsze, __ATOMIC_ACQUIRE), 8);
		put_le(id + 8, __atomic_load_n(&f->nsze, __ATOMIC_ACQUIRE), 8);
		put_le(id + 16, 0, 8);
		id[25] = cfg->nlbaf;
		id[26] = cfg->flbas;
		for (i = 0; i < 4; i++) {
			put_le(id + 128 + 4 * i, cfg->lbaf[i].ms, 2);
			id[130 + 4 * i] = cfg->lbaf[i].lbads;
		}
		break;
	default:
		return FAKE_SC_INVALID_FIELD;
	}
	return xfer(f, sqe, id, sizeof(id), true);
}

static uint16_t create_q(struct fake_nvme *f, const uint32_t *sqe, bool cq)
{
	uint32_t qid = sqe[10] & 0xffff, size = (sqe[10] >> 16) + 1;
	uint64_t base = sqe[6] | (uint64_t)sqe[7] << 32;
	uint32_t cc = rd(f, R_CC), es = cq ? 16 : 64;
	uint32_t ces = cq ? (cc >> 20) & 0xf : (cc >> 16) & 0xf;
	uint8_t ides = cq ? f->cfg.cqes : f->cfg.sqes;
	struct fake_q *q = cq ? &f->cq[qid] : &f->sq[qid];

	if (!qid || qid >= FAKE_MAXQ || qid > f->granted ||
	    db_off(f, qid, true) + 4 > FAKE_BAR_LEN)
		return FAKE_SC_INVALID_QID;
	if (q->live)
		return FAKE_SC_INVALID_QID;
	if (size < 2 || size > f->cfg.mqes + 1)
		return FAKE_SC_INVALID_QSIZE;
	/* CC.IOCQES/IOSQES: what Identify allows, and what we post and read */
	if (ces < (ides & 0xfu) || ces > (ides >> 4) || es != 1u << ces)
		return FAKE_SC_INVALID_QSIZE;
	if (!(sqe[11] & 1))
		return FAKE_SC_INVALID_FIELD;	/* CAP.CQR: contiguous only */
	if (base & (FAKE_PAGE - 1))
		return FAKE_SC_PRP_OFFSET;
	if (!in_win(f, base, (size_t)size * es))
		return FAKE_SC_XFER_ERROR;
	if (!cq) {
		uint32_t cqid = sqe[11] >> 16;

		if (!cqid || cqid >= FAKE_MAXQ || !f->cq[cqid].live)
			return FAKE_SC_CQ_INVALID;
		q->cqid = (uint16_t)cqid;
	} else if (sqe[11] & 2) {
		inc(&f->ctr.ien_queues);
	}
	wr(f, db_off(f, qid, cq), 0);
	q->base = (uint8_t *)(uintptr_t)base;
	q->size = (uint16_t)size;
	q->head = q->tail = 0;
	q->phase = 1;
	q->live = true;
	if (qid == 1)
		fake_st(cq ? &f->io_cq_size : &f->io_sq_size, size);
	set_live(f);
	return 0;
}

static uint16_t delete_q(struct fake_nvme *f, const uint32_t *sqe, bool cq)
{
	uint32_t qid = sqe[10] & 0xffff, i;

	if (!qid || qid >= FAKE_MAXQ || !(cq ? f->cq[qid].live : f->sq[qid].live))
		return FAKE_SC_INVALID_QID;
	if (cq) {
		for (i = 1; i < FAKE_MAXQ; i++)
			if (f->sq[i].live && f->sq[i].cqid == qid)
				return FAKE_SC_INVALID_QDEL;
		f->cq[qid].live = false;
	} else {
		f->sq[qid].live = false;
	}
	set_live(f);
	return 0;
}

static uint16_t admin_exec(struct fake_nvme *f, const uint32_t *sqe, uint32_t *dw0)
{
	uint8_t opc = sqe[0] & 0xff;

	inc(&f->ctr.admin[opc]);
	switch (opc) {
	case 0x06:
		return identify(f, sqe);
	case 0x09:
		if ((sqe[10] & 0xff) == 0x07) {
			uint32_t nsq = (sqe[11] & 0xffff) + 1, ncq = (sqe[11] >> 16) + 1;
			uint32_t max = f->cfg.max_ioq;

			if (nsq == 0x10000 || ncq == 0x10000)
				return FAKE_SC_INVALID_FIELD;
			nsq = nsq < max ? nsq : max;
			ncq = ncq < max ? ncq : max;
			f->granted = nsq < ncq ? nsq : ncq;
			*dw0 = (ncq - 1) << 16 | (nsq - 1);
			return 0;
		}
		return FAKE_SC_INVALID_FIELD;
	case 0x05:
		return create_q(f, sqe, true);
	case 0x01:
		return create_q(f, sqe, false);
	case 0x00:
		return delete_q(f, sqe, false);
	case 0x04:
		return delete_q(f, sqe, true);
	default:
		return FAKE_SC_INVALID_OPC;
	}
}

/* ------------------------------------------------------------ I/O */
static uint32_t io_exec(struct fake_nvme *f, const uint32_t *sqe)
{
	uint8_t opc = sqe[0] & 0xff;
	uint64_t slba = sqe[10] | (uint64_t)sqe[11] << 32;
	uint32_t nlb = (sqe[12] & 0xffff) + 1;
	uint64_t nsze = __atomic_load_n(&f->nsze, __ATOMIC_ACQUIRE);
	uint64_t drop = __atomic_load_n(&f->drop_slba, __ATOMIC_ACQUIRE);
	size_t bytes, max;
	uint16_t st;

	if ((opc == 0x01 || opc == 0x02) && slba == drop) {
		inc(&f->ctr.dropped);
		return NO_CQE;
	}
	if (take(&f->drop_next)) {
		inc(&f->ctr.dropped);
		return NO_CQE;
	}
	inc(&f->ctr.io[opc]);
	if (opc != 0x00 && opc != 0x01 && opc != 0x02)
		return FAKE_SC_INVALID_OPC;
	if (sqe[1] != f->cfg.nsid && !(opc == 0x00 && sqe[1] == 0xffffffffu))
		return FAKE_SC_INVALID_NS;
	if (opc == 0x00)
		return 0;
	if (slba >= nsze || nlb > nsze - slba)
		return FAKE_SC_LBA_RANGE;
	bytes = (size_t)nlb << f->lbads;
	max = f->cfg.mdts ? (size_t)FAKE_PAGE << f->cfg.mdts : (size_t)FAKE_PAGE << 10;
	if (bytes > max)
		return FAKE_SC_INVALID_FIELD;
	st = xfer(f, sqe, f->ns + (slba << f->lbads), bytes, opc == 0x02);
	return st;
}

/* ------------------------------------------------------------ queues */
static uint32_t cq_room(const struct fake_q *cq)
{
	uint32_t used = (uint32_t)(cq->tail + cq->size - cq->head) % cq->size;

	return cq->size - 1 - used;
}

static void cq_head_db(struct fake_nvme *f, uint32_t qid)
{
	struct fake_q *cq = &f->cq[qid];
	uint32_t v = rd(f, db_off(f, qid, true));

	if (v < cq->size)
		cq->head = (uint16_t)v;
	else
		inc(&f->ctr.bad_doorbells);
}

/* DW0-2 first, DW3 (with the phase) last and released. */
static void post(struct fake_q *cq, uint32_t dw0, uint16_t sqhd, uint16_t sqid,
		 uint16_t cid, uint16_t status)
{
	uint32_t *e = (uint32_t *)(cq->base + (size_t)cq->tail * 16);

	e[0] = dw0;
	e[1] = 0;
	e[2] = sqhd | (uint32_t)sqid << 16;
	__atomic_store_n(&e[3], cid | (uint32_t)cq->phase << 16 |
			 (uint32_t)(status & 0xff) << 17 |
			 (uint32_t)((status >> 8) & 7) << 25, __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
}

/* New SQEs of queue @qid, executed and completed: whether any was. */
static bool sq_step(struct fake_nvme *f, uint32_t qid)
{
	struct fake_q *sq = &f->sq[qid], *cq;
	uint32_t tail, n = 0;
	bool did = false;

	if (!sq->live)
		return false;
	cq = &f->cq[sq->cqid];
	if (!cq->live)
		return false;
	tail = rd(f, db_off(f, qid, false));
	if (tail >= sq->size) {
		inc(&f->ctr.bad_doorbells);
		return false;
	}
	while (sq->head != tail && n++ < STEP_CMDS && !f->cfs) {
		uint32_t sqe[16], dw0 = 0, res;
		uint32_t bogus = qid ? __atomic_load_n(&f->bogus_next, __ATOMIC_ACQUIRE) : 0;

		cq_head_db(f, sq->cqid);
		if (cq_room(cq) < (bogus ? 2u : 1u))
			break;		/* the host has not made room yet */
		memcpy(sqe, sq->base + (size_t)sq->head * 64, 64);
		sq->head = (uint16_t)((sq->head + 1) % sq->size);
		did = true;
		res = qid ? io_exec(f, sqe) : admin_exec(f, sqe, &dw0);
		if (res == NO_CQE)
			continue;
		if (qid && bogus && take(&f->bogus_next)) {
			post(cq, 0, sq->head, (uint16_t)qid,
			     (uint16_t)fake_ld(&f->bogus_cid), 0);
			inc(&f->ctr.bogus_posted);
		}
		if (qid && res)
			inc(&f->ctr.io_errors);
		post(cq, dw0, sq->head, (uint16_t)qid, (uint16_t)(sqe[0] >> 16),
		     (uint16_t)res);
		if (qid && take(&f->cfs_after) &&
		    !__atomic_load_n(&f->cfs_after, __ATOMIC_ACQUIRE)) {
			f->cfs = true;
			csts_set(f, CSTS_CFS, 0);
		}
	}
	return did;
}

/* ------------------------------------------------------------ CC */
static void forget_queues(struct fake_nvme *f)
{
	uint32_t q;

	for (q = 0; q < FAKE_MAXQ && db_off(f, q, true) + 4 <= FAKE_BAR_LEN; q++)
		db_clear(f, q);
	memset(f->sq, 0, sizeof(f->sq));
	memset(f->cq, 0, sizeof(f->cq));
	f->granted = 0;
	set_live(f);
}

static void do_enable(struct fake_nvme *f, uint32_t cc)
{
	uint32_t aqa = rd(f, R_AQA);
	uint64_t asq = rd(f, R_ASQ) | (uint64_t)rd(f, R_ASQ + 4) << 32;
	uint64_t acq = rd(f, R_ACQ) | (uint64_t)rd(f, R_ACQ + 4) << 32;
	uint32_t asqs = (aqa & 0xfff) + 1, acqs = ((aqa >> 16) & 0xfff) + 1;
	bool fail_enable = take(&f->fail_enables);
	bool fatal_enable = !fail_enable && take(&f->fatal_enables);

	f->en = true;
	f->cfs = false;
	inc(&f->ctr.enables);
	fake_st(&f->cc_at_enable, cc);
	csts_set(f, 0, CSTS_SHST_MASK | CSTS_CFS | CSTS_RDY);
	forget_queues(f);
	f->stalled = f->cfg.never_ready || fail_enable;
	/* NVM command set, 4 KiB pages, a sane admin queue: else fatal. */
	if (((cc >> 4) & 7) || ((cc >> 7) & 0xf) < f->cfg.mpsmin || asqs < 2 ||
	    acqs < 2 || (asq & (FAKE_PAGE - 1)) || (acq & (FAKE_PAGE - 1)) ||
	    !in_win(f, asq, (size_t)asqs * 64) || !in_win(f, acq, (size_t)acqs * 16)) {
		inc(&f->ctr.bad_enables);
		f->cfs = true;
		f->stalled = true;
		csts_set(f, CSTS_CFS, 0);
		return;
	}
	if (fatal_enable) {
		f->cfs = true;
		f->stalled = true;
		csts_set(f, CSTS_RDY | CSTS_CFS, 0);
		return;
	}
	f->sq[0] = (struct fake_q){ .live = true, .base = (uint8_t *)(uintptr_t)asq,
				    .size = (uint16_t)asqs, .cqid = 0 };
	f->cq[0] = (struct fake_q){ .live = true, .base = (uint8_t *)(uintptr_t)acq,
				    .size = (uint16_t)acqs, .phase = 1 };
	set_live(f);
	f->ready_at_ns = now_ns() + (uint64_t)f->cfg.ready_delay_ms * 1000000ull;
}

static void do_disable(struct fake_nvme *f)
{
	f->en = false;
	f->rdy = false;
	f->cfs = false;
	f->stalled = false;
	inc(&f->ctr.disables);
	forget_queues(f);
	csts_set(f, 0, CSTS_RDY | CSTS_CFS);
}

/* One pass: CC, readiness, every SQ. Whether anything happened. */
static bool step(struct fake_nvme *f)
{
	uint32_t cc = rd(f, R_CC), shn = (cc >> 14) & 3, q;
	bool did = false;

	if ((cc & 1) && !f->en) {
		do_enable(f, cc);
		did = true;
	} else if (!(cc & 1) && f->en) {
		do_disable(f);
		did = true;
	}
	if (shn != f->shn) {
		f->shn = shn;
		if (shn) {
			inc(&f->ctr.shutdowns);
			if (!f->cfg.shn_never)
				csts_set(f, CSTS_SHST_DONE, CSTS_SHST_MASK);
		}
		did = true;
	}
	if (f->en && !f->rdy && !f->stalled && now_ns() >= f->ready_at_ns) {
		f->rdy = true;
		csts_set(f, CSTS_RDY, 0);
		did = true;
	}
	if (!f->rdy || f->cfs)
		return did;
	for (q = 0; q < FAKE_MAXQ; q++)
		did |= sq_step(f, q);
	return did;
}

static void *fake_main(void *arg)
{
	struct fake_nvme *f = arg;
	unsigned int idle = 0;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&f->die, __ATOMIC_ACQUIRE)) {
			memset(f->bar, 0xff, FAKE_BAR_LEN);
			break;
		}
		if (step(f)) {
			idle = 0;
		} else if (++idle < 64) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ the API */
void fake_nvme_cfg_default(struct fake_nvme_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mqes = 1023;
	cfg->to = 2;
	cfg->css_nvm = true;
	cfg->mdts = 5;
	cfg->nn = 1;
	cfg->sqes = 0x66;
	cfg->cqes = 0x44;
	cfg->sn = "FAKE-SN-0001";
	cfg->mn = "Vanity fake NVMe";
	cfg->fr = "1.0";
	cfg->max_ioq = 4;
	cfg->nsid = 1;
	cfg->ns_bytes = 1u << 20;
	cfg->lbaf[0].lbads = 9;
}

int fake_nvme_start(struct fake_nvme *f, const struct fake_nvme_cfg *cfg)
{
	uint64_t cap;
	int ret;

	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->drop_slba = ~0ull;
	f->lbads = cfg->lbaf[cfg->flbas & 3].lbads;
	f->nsze = f->lbads < 32 ? cfg->ns_bytes >> f->lbads : 0;
	f->bar = aligned_alloc(FAKE_PAGE, FAKE_BAR_LEN);
	f->ns = calloc(1, cfg->ns_bytes ? cfg->ns_bytes : 1);
	if (!f->bar || !f->ns) {
		fake_nvme_stop(f);
		return -ENOMEM;
	}
	memset(f->bar, 0, FAKE_BAR_LEN);
	if (cfg->dead) {
		memset(f->bar, 0xff, FAKE_BAR_LEN);
		return 0;
	}
	cap = (cfg->mqes & 0xffff) | 1ull << 16 /* CQR */ |
	      (uint64_t)(cfg->to & 0xff) << 24 | (uint64_t)(cfg->dstrd & 0xf) << 32 |
	      (uint64_t)(cfg->css_nvm ? 1 : 0) << 37 | (uint64_t)(cfg->mpsmin & 0xf) << 48 |
	      (uint64_t)(cfg->mpsmin & 0xf) << 52;
	wr(f, R_CAP, (uint32_t)cap);
	wr(f, R_CAP + 4, (uint32_t)(cap >> 32));
	wr(f, R_VS, 0x00010400);
	ret = pthread_create(&f->thr, NULL, fake_main, f);
	if (ret) {
		fake_nvme_stop(f);
		return -ret;
	}
	f->running = true;
	return 0;
}

void fake_nvme_stop(struct fake_nvme *f)
{
	if (f->running) {
		__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
		pthread_join(f->thr, NULL);
		f->running = false;
	}
	free(f->bar);
	free(f->ns);
	f->bar = NULL;
	f->ns = NULL;
}

uint32_t fake_nvme_reg(struct fake_nvme *f, uint32_t off)
{
	return rd(f, off);
}

bool fake_nvme_wait(const uint32_t *p, uint32_t want, unsigned int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;

	while (fake_ld(p) < want) {
		struct timespec ts = { 0, 100000 };

		if (now_ns() > end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

void fake_nvme_drop_next(struct fake_nvme *f, uint32_t n)
{
	fake_st(&f->drop_next, n);
}

void fake_nvme_drop_slba(struct fake_nvme *f, uint64_t slba)
{
	__atomic_store_n(&f->drop_slba, slba, __ATOMIC_RELEASE);
}

void fake_nvme_cfs_after(struct fake_nvme *f, uint32_t n)
{
	fake_st(&f->cfs_after, n);
}

void fake_nvme_bogus_cqe(struct fake_nvme *f, uint16_t cid, uint32_t n)
{
	fake_st(&f->bogus_cid, cid);
	fake_st(&f->bogus_next, n);
}

void fake_nvme_fail_enables(struct fake_nvme *f, uint32_t n)
{
	fake_st(&f->fail_enables, n);
}

void fake_nvme_fatal_enables(struct fake_nvme *f, uint32_t n)
{
	fake_st(&f->fatal_enables, n);
}

void fake_nvme_set_nsze(struct fake_nvme *f, uint64_t nsze)
{
	uint64_t max = f->lbads < 32 ? f->cfg.ns_bytes >> f->lbads : 0;

	if (nsze > max)
		nsze = max;		/* no more than the bytes behind it */
	__atomic_store_n(&f->nsze, nsze, __ATOMIC_RELEASE);
}

void fake_nvme_die(struct fake_nvme *f)
{
	fake_st(&f->die, 1);
}
