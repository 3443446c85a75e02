/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A userspace NVMe controller for the polled driver's unit tests
 * (examples/nvme/nvme.c): a register page the driver takes as its BAR,
 * a thread that watches CC and the doorbells, runs admin commands
 * (Identify, Set Features, queue creation and deletion) and I/O (Read,
 * Write, Flush against an in-memory namespace, PRPs walked per the spec)
 * and posts completions with their phase. The IOVA of a buffer is its
 * address here: the controller reaches only the windows the test maps.
 *
 * Faults the tests switch on while it runs (drops, a fatal status, a
 * bogus completion, an enable that never gets ready) and counters the
 * tests read, both atomics.
 */
#ifndef VANITY_UNIT_FAKE_NVME_H
#define VANITY_UNIT_FAKE_NVME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_BAR_LEN	16384u	/* registers, then doorbells */
#define FAKE_MAXQ	8u	/* queue ids 0 (admin) .. 7 */
#define FAKE_NWIN	4u
#define FAKE_PAGE	4096u

/* Status as the driver reports it: SCT << 8 | SC. */
#define FAKE_SC_INVALID_OPC	0x001
#define FAKE_SC_INVALID_FIELD	0x002
#define FAKE_SC_XFER_ERROR	0x004
#define FAKE_SC_INVALID_NS	0x00b
#define FAKE_SC_PRP_OFFSET	0x013
#define FAKE_SC_LBA_RANGE	0x080
#define FAKE_SC_CQ_INVALID	0x100
#define FAKE_SC_INVALID_QID	0x101
#define FAKE_SC_INVALID_QSIZE	0x102
#define FAKE_SC_INVALID_QDEL	0x10c

/* What the controller is; fake_nvme_cfg_default() then the test's edits. */
struct fake_nvme_cfg {
	/* CAP */
	uint32_t mqes;			/* 0's based */
	uint32_t dstrd;			/* stride 4 << dstrd bytes */
	uint32_t to;			/* 500 ms units */
	bool css_nvm;			/* CAP.CSS bit 37 */
	uint32_t mpsmin;
	bool dead;			/* every register reads all ones */
	/* Identify controller */
	uint8_t mdts;			/* 2^mdts pages, 0 no limit */
	uint32_t nn;
	uint8_t sqes, cqes;
	bool vwc;
	const char *sn, *mn, *fr;
	uint32_t max_ioq;		/* queue pairs granted, admin excluded */
	/* The namespace */
	uint32_t nsid;			/* the active one; 0: none is active */
	size_t ns_bytes;		/* nsze = ns_bytes >> lbads of flbas */
	uint8_t nlbaf;			/* 0's based */
	uint8_t flbas;
	struct {
		uint16_t ms;
		uint8_t lbads;
	} lbaf[4];
	/* Behaviour */
	uint32_t ready_delay_ms;	/* CSTS.RDY this long after CC.EN */
	bool never_ready;
	bool shn_never;			/* CSTS.SHST never says complete */
	/* What the controller may reach (IOVA == VA). */
	struct {
		const void *va;
		size_t len;
	} win[FAKE_NWIN];
};

/* A submission or completion queue as the controller sees it. */
struct fake_q {
	bool live;
	uint8_t *base;
	uint16_t size;
	uint16_t head, tail;
	uint16_t cqid;			/* SQ: its CQ */
	uint8_t phase;			/* CQ: of the entries it posts */
};

/* Counters (read them with fake_ld()). */
struct fake_nvme_ctr {
	uint32_t enables, disables, shutdowns, bad_enables;
	uint32_t admin[256], io[256];	/* executed, per opcode */
	uint32_t io_errors;		/* I/O completed with a status */
	uint32_t dropped;		/* consumed, never completed */
	uint32_t bogus_posted;
	uint32_t bad_doorbells;
	uint32_t ien_queues;		/* CQs created with interrupts on */
};

struct fake_nvme {
	uint8_t *bar;			/* FAKE_BAR_LEN, page aligned */
	struct fake_nvme_cfg cfg;
	uint8_t *ns;			/* the namespace's bytes */
	uint32_t lbads;			/* of the formatted LBA format */
	pthread_t thr;
	bool running;
	/* the thread's */
	bool en, rdy, cfs, stalled;	/* stalled: not ready (fault) */
	uint32_t shn;
	uint32_t granted;		/* I/O queue pairs, Set Features */
	uint64_t ready_at_ns;
	struct fake_q sq[FAKE_MAXQ], cq[FAKE_MAXQ];
	/* shared with the test: atomics */
	uint32_t stop;
	uint64_t nsze;			/* may shrink at run time */
	uint32_t drop_next;		/* drop the next N I/O commands */
	uint64_t drop_slba;		/* drop every Read/Write at it; ~0 none */
	uint32_t cfs_after;		/* CFS after N more I/O; 0 off */
	uint32_t bogus_next;		/* N extra CQEs with bogus_cid */
	uint32_t bogus_cid;
	uint32_t fail_enables;		/* the next N enables never get ready */
	uint32_t fatal_enables;		/* the next N: CSTS.RDY and CFS */
	uint32_t die;			/* surprise removal: all ones */
	uint32_t cc_at_enable;
	uint32_t io_cq_size, io_sq_size;	/* queue 1 as created */
	uint32_t live;			/* bit qid: SQ live, bit 8 + qid: CQ */
	struct fake_nvme_ctr ctr;
};

void fake_nvme_cfg_default(struct fake_nvme_cfg *cfg);
/* 0, or -errno when memory or the thread could not be had. */
int fake_nvme_start(struct fake_nvme *f, const struct fake_nvme_cfg *cfg);
/* Stop the thread and free what start took; safe twice. */
void fake_nvme_stop(struct fake_nvme *f);

static inline uint32_t fake_ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void fake_st(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* A register of the page, as the controller left it. */
uint32_t fake_nvme_reg(struct fake_nvme *f, uint32_t off);
/* Wait up to @ms for *@p >= @want: true when it got there. */
bool fake_nvme_wait(const uint32_t *p, uint32_t want, unsigned int ms);

/* Faults. */
void fake_nvme_drop_next(struct fake_nvme *f, uint32_t n);
void fake_nvme_drop_slba(struct fake_nvme *f, uint64_t slba);
void fake_nvme_cfs_after(struct fake_nvme *f, uint32_t n);
void fake_nvme_bogus_cqe(struct fake_nvme *f, uint16_t cid, uint32_t n);
/*
 * The next @n enables never get ready: CSTS.RDY stays 0. A reset that
 * follows may go unseen: the host's disable finds RDY 0 already and may
 * set CC.EN again before the thread saw it clear (a register page has no
 * write events). fake_nvme_fatal_enables() has the next @n come up with
 * CSTS.RDY and CFS both set instead, which a disable must clear.
 */
void fake_nvme_fail_enables(struct fake_nvme *f, uint32_t n);
void fake_nvme_fatal_enables(struct fake_nvme *f, uint32_t n);
/* The namespace shrinks behind the host's back (it cannot grow). */
void fake_nvme_set_nsze(struct fake_nvme *f, uint64_t nsze);
void fake_nvme_die(struct fake_nvme *f);

#endif
