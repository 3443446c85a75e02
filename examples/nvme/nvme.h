/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small polled NVMe driver for a controller passed to a shard: bring-up
 * (disable, admin queue, enable, Identify, Set Features), one I/O queue
 * pair with its completion queue's interrupt off, Read/Write/Flush with
 * PRPs, completions found by their phase bit, a timeout on every command,
 * and recovery (controller reset, queues re-created, what was in flight
 * resubmitted) on a timeout or a fatal status; a clean shutdown (CC.SHN).
 *
 * The caller owns every resource the driver uses: the BAR mapping, and
 * memory the controller may DMA into with its I/O virtual address (the
 * shard's private region: vanity_device_iova()). The driver never
 * allocates, never prints (nvme_ctrl.err says why a call failed) and
 * never sleeps: it polls with bounded deadlines.
 */
#ifndef EXAMPLES_NVME_H
#define EXAMPLES_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVME_PAGE		4096u
#define NVME_ADMIN_DEPTH	64u	/* admin SQ and CQ entries */
#define NVME_IO_DEPTH_MAX	1024u

/* Memory the controller reaches: @va in this process, @iova for it. */
struct nvme_dma {
	uint8_t *va;
	uint64_t iova;
	size_t len;
};

/* A submission or completion queue in DMA memory, with its doorbell. */
struct nvme_queue {
	uint8_t *va;
	uint64_t iova;
	volatile uint32_t *db;
	uint16_t depth;			/* entries */
	uint16_t head, tail;
	uint8_t phase;			/* CQ: the phase of new entries */
};

/* One I/O command the driver tracks until it completes. */
struct nvme_cmd {
	uint64_t user;			/* the caller's cookie */
	uint64_t deadline_ns;
	uint64_t slba;
	uint64_t prp1, prp2;
	uint32_t nlb;			/* logical blocks, not 0's based */
	uint8_t opc;
	uint8_t busy;
	uint8_t tries;			/* submissions so far */
	uint8_t resv;
};

/* A finished I/O command. */
struct nvme_done {
	uint64_t user;
	int status;			/* 0 or -errno */
	uint16_t nvme_status;		/* SCT << 8 | SC, 0 when the device said nothing */
};

struct nvme_stats {
	uint64_t submitted, completed, failed;
	uint64_t resets, timeouts, fatal, retried, bogus;
};

struct nvme_ctrl {
	/* hot */
	volatile uint8_t *bar;
	struct nvme_queue sq, cq;	/* the I/O pair (queue id 1) */
	struct nvme_cmd *cmds;		/* depth entries, indexed by cid */
	uint16_t *free_cids;
	uint32_t nfree;
	uint32_t inflight;
	uint32_t depth;
	uint32_t lba_shift;
	uint64_t io_timeout_ns;
	uint32_t polls;
	uint32_t nfailed;		/* commands recovery gave up on, unreported */
	bool sq_dirty;			/* SQEs written, doorbell not rung */
	bool failed;			/* recovery failed: every call -EIO */
	/* cold */
	size_t bar_len;
	uint64_t hole_off, hole_len;	/* the BAR's unmapped MSI-X pages */
	struct nvme_queue asq, acq;
	uint16_t admin_cid;
	uint32_t dstrd;			/* doorbell stride, bytes */
	uint32_t mqes;			/* entries per queue at most */
	uint64_t ready_timeout_ns;	/* CAP.TO */
	uint32_t max_pages;		/* pages per command: MDTS, our PRP list */
	uint32_t nsid;
	uint64_t nsze;			/* namespace size, logical blocks */
	uint32_t vwc;			/* a volatile write cache is present */
	uint32_t vs;
	uint64_t cap;
	struct nvme_dma mem;
	uint8_t *idbuf;
	uint64_t idbuf_iova;
	uint8_t *prp_va;		/* one PRP list per cid */
	uint64_t prp_iova;
	uint32_t prp_bytes;		/* per cid */
	char sn[21], mn[41], fr[9];
	struct nvme_stats st;
	char err[160];
};

/* Options of nvme_init(); zeroed fields take the defaults. */
struct nvme_opts {
	uint32_t depth;			/* I/O queue entries (default 128) */
	uint32_t max_pages;		/* per command (default 32) */
	uint32_t io_timeout_ms;		/* default 5000 */
};

/* Bytes of DMA memory nvme_init() needs for @o. */
size_t nvme_mem_need(const struct nvme_opts *o);

/*
 * Bring the controller at @bar (@bar_len bytes mapped; the pages at
 * @hole_off..+@hole_len are not) up with one I/O queue pair in @mem
 * (zeroed by the driver). @cmds and @free_cids are the caller's arrays of
 * o->depth entries (from the private region or the heap). 0, or -errno
 * with c->err saying why: -ENODEV no answer, -EOPNOTSUPP a controller
 * this driver does not drive, -ETIMEDOUT it did not get ready, -EIO a
 * command failed, -EINVAL bad arguments.
 */
int nvme_init(struct nvme_ctrl *c, volatile void *bar, size_t bar_len,
	      uint64_t hole_off, uint64_t hole_len, const struct nvme_dma *mem,
	      const struct nvme_opts *o, struct nvme_cmd *cmds,
	      uint16_t *free_cids);

/*
 * Queue a Read or Write (@write) of @nlb logical blocks at @slba from or
 * into the @nlb << lba_shift bytes at @iova (dword aligned), or a Flush
 * (@opc NVME_OPC_FLUSH; @nlb 0). The doorbell rings at nvme_ring() or
 * nvme_poll(). 0, -EAGAIN (queue full), -EINVAL (too large, misaligned,
 * past the namespace), -EIO (the controller is lost).
 */
#define NVME_OPC_FLUSH	0x00
#define NVME_OPC_WRITE	0x01
#define NVME_OPC_READ	0x02
int nvme_submit(struct nvme_ctrl *c, uint8_t opc, uint64_t slba, uint32_t nlb,
		uint64_t iova, uint64_t user);

/* Ring the SQ doorbell for what nvme_submit() queued. */
void nvme_ring(struct nvme_ctrl *c);

/*
 * Ring, then reap up to @max completions into @out: how many. Checks the
 * deadlines now and then; a timed-out command or a fatal controller
 * status resets the controller and resubmits what was in flight (up to 3
 * submissions each, then it completes with -EIO).
 */
int nvme_poll(struct nvme_ctrl *c, struct nvme_done *out, int max);

/* Reset, re-create the queues and resubmit: 0 or -errno (c->err). */
int nvme_recover(struct nvme_ctrl *c);

/*
 * Delete the I/O queues and shut the controller down (CC.SHN normal):
 * 0, or -errno when it did not say it was done in time.
 */
int nvme_shutdown(struct nvme_ctrl *c);

/* Bytes of a logical block. */
static inline uint32_t nvme_lba_size(const struct nvme_ctrl *c)
{
	return 1u << c->lba_shift;
}

#endif /* EXAMPLES_NVME_H */
