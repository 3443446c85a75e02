// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The shard side of the hosted ring: maps the ring memfd the simulator
 * sent at attach, and plays the ENTER ioctl through the control page
 * (tools/sim/wire.h) with futexes on words of that memory: no socket round
 * trip per ENTER. The poller serving it is tools/sim/ring.c.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vanity.h"
#include "hosted.h"
#include "enter.h"

/* Spins before a sleep: a NOP batch is answered within them. */
#define SPINS 2048
/* Longest single sleep: then look whether the simulator is still there. */
#define SLICE_NS 100000000L

static struct vh_ring_ctl *ctl_of(const struct vanity_ring *r)
{
	return (struct vh_ring_ctl *)((uint8_t *)r->mem + r->size - VH_CTL_SIZE);
}

static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int vanity__hosted_map_ring(struct vanity_ring *r, int fd,
			    const struct vanity_ring_offsets *o, int sock,
			    uint32_t flags)
{
	uint32_t sqn = o->sq_entries, cqn = o->cq_entries;
	size_t total;
	uint8_t *p;

	/* The simulator's answer is checked as a reply, not trusted blindly. */
	if (fd < 0)
		return -EPROTO;
	if (!(o->features & VANITY_RING_F_STAMPS) ||
	    !sqn || sqn > VANITY_RING_ENTRIES_MAX || sqn & (sqn - 1) ||
	    !cqn || cqn & (cqn - 1) || cqn < sqn ||
	    o->size % VANITY_PAGE_SIZE || o->size > (1ULL << 30) ||
	    !fits(o->sq_head, 4, o->size) || !fits(o->sq_tail, 4, o->size) ||
	    !fits(o->sq_flags, 4, o->size) || !fits(o->cq_head, 4, o->size) ||
	    !fits(o->cq_tail, 4, o->size) || !fits(o->cq_overflow, 4, o->size) ||
	    o->sq_head % 4 || o->sq_tail % 4 || o->sq_flags % 4 ||
	    o->cq_head % 4 || o->cq_tail % 4 || o->cq_overflow % 4 ||
	    o->sqes % 8 || o->cqes % 8 ||
	    !fits(o->sqes, (uint64_t)sqn * sizeof(struct vanity_sqe), o->size) ||
	    !fits(o->cqes, (uint64_t)cqn * sizeof(struct vanity_cqe), o->size)) {
		close(fd);
		return -EPROTO;
	}
	total = (size_t)o->size + VH_CTL_SIZE;
	if (!vanity__fd_holds(fd, total)) {
		close(fd);
		return -EPROTO;		/* a touch past its end would SIGBUS */
	}
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	memset(r, 0, sizeof(*r));
	r->mem = p;
	r->size = total;
	r->fd = sock;
	r->sqpoll = !!(flags & VANITY_ATTACH_SQPOLL);
	r->sq_head = (uint32_t *)(p + o->sq_head);
	r->sq_tail = (uint32_t *)(p + o->sq_tail);
	r->sq_flags = (uint32_t *)(p + o->sq_flags);
	r->sq_entries = sqn;
	r->sq_mask = sqn - 1;
	r->sqes = (struct vanity_sqe *)(p + o->sqes);
	r->sqe_tail = *r->sq_tail;
	r->sq_head_seen = *r->sq_head;
	r->cq_head = (uint32_t *)(p + o->cq_head);
	r->cq_tail = (uint32_t *)(p + o->cq_tail);
	r->cq_overflow = (uint32_t *)(p + o->cq_overflow);
	r->cq_mask = cqn - 1;
	r->cqes = (struct vanity_cqe *)(p + o->cqes);
	return 0;
}

static uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* The simulator stopped serving the ring, or is gone altogether. */
static bool gone(const struct vanity_ring *r, bool look)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (ld(&ctl_of(r)->dead))
		return true;
	/* Its end of the attachment closed: it died without a word. */
	return look && poll(&pfd, 1, 0) == 1 &&
	       pfd.revents & (POLLHUP | POLLERR | POLLNVAL);
}

/*
 * Sleep while *@word reads @old, one slice at most: 0 (look again),
 * -EINTR (a signal: a timed futex wait is never restarted, as ENTER
 * never is), -ENODEV (no simulator any more).
 */
static int nap(const struct vanity_ring *r, uint32_t *word, uint32_t old)
{
	struct timespec ts = { 0, SLICE_NS };

	if (syscall(SYS_futex, word, FUTEX_WAIT, old, &ts, NULL, 0) == 0 ||
	    errno == EAGAIN)
		return gone(r, false) ? -ENODEV : 0;
	if (errno == ETIMEDOUT)
		return gone(r, true) ? -ENODEV : 0;
	if (errno == EINTR)
		return -EINTR;
	return -errno;
}

/* Have the poller consume up to @n SQEs as the module's ENTER would. */
static int submit(struct vanity_ring *r, struct vh_ring_ctl *c, uint32_t n,
		  bool *interrupted)
{
	uint32_t seq = c->req_seq + 1, d;
	unsigned int i;
	int ret;

	__atomic_store_n(&c->req_to_submit, n, __ATOMIC_RELAXED);
	/* Release: the request's fields (and the SQ tail) before its number. */
	st(&c->req_seq, seq);
	/* Our number before the poller's flag; pairs with its fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->poller_sleeping, __ATOMIC_RELAXED))
		wake(&c->req_seq, 1);
	for (i = 0;; i++) {
		/* Acquire: the CQEs and done_res before the answer's number. */
		if (ld(&c->done_seq) == seq)
			break;
		if (i < SPINS) {
			vanity_cpu_relax();
			continue;
		}
		__atomic_store_n(&c->done_waiting, 1, __ATOMIC_RELAXED);
		/* Our flag before our look; pairs with the poller's fence. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		d = ld(&c->done_seq);
		if (d == seq)
			break;
		ret = nap(r, &c->done_seq, d);
		if (ret == -EINTR) {
			/*
			 * No op blocks the poller: the answer comes anyway.
			 * GETEVENTS then only looks, as after the module's
			 * signal_pending().
			 */
			*interrupted = true;
		} else if (ret) {
			__atomic_store_n(&c->done_waiting, 0, __ATOMIC_RELAXED);
			return ret;
		}
	}
	__atomic_store_n(&c->done_waiting, 0, __ATOMIC_RELAXED);
	return __atomic_load_n(&c->done_res, __ATOMIC_RELAXED);
}

/*
 * Until @min CQEs are unseen: 0, -EINTR or -ENODEV. After a signal
 * (@interrupted) only a look, as wait_event_interruptible() does.
 */
static int wait_cq(struct vanity_ring *r, struct vh_ring_ctl *c, uint32_t min,
		   bool interrupted)
{
	unsigned int i;
	uint32_t t;
	int ret = 0;

	for (i = 0;; i++) {
		/* Acquire: pairs with the release that posted each CQE. */
		if (vanity_cq_ready(r) >= min)
			break;
		if (interrupted)
			return -EINTR;
		if (i < SPINS) {
			vanity_cpu_relax();
			continue;
		}
		__atomic_store_n(&c->cq_waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		t = ld(r->cq_tail);
		if ((int32_t)(t - *r->cq_head) >= (int32_t)min)
			break;
		ret = nap(r, r->cq_tail, t);
		if (ret)
			break;
	}
	__atomic_store_n(&c->cq_waiting, 0, __ATOMIC_RELAXED);
	return ret;
}

int vanity__hosted_enter(struct vanity_ring *r, uint32_t to_submit,
			 uint32_t min_complete, uint32_t flags)
{
	struct vanity_enter en = {
		.size = sizeof(en), .flags = flags, .to_submit = to_submit,
		.min_complete = min_complete,
	};
	struct vh_ring_ctl *c = ctl_of(r);
	struct vanity_enter_plan p;
	bool interrupted = false;
	int ret = 0, w = 0;

	/* The module's rules (kmod/core/enter.h), the module's errors. */
	if (vanity_enter_plan(&en, r->cq_mask + 1, r->sqpoll,
			      __atomic_load_n(r->sq_flags, __ATOMIC_RELAXED),
			      &p))
		return -EINVAL;
	if (gone(r, false))
		return -ENODEV;
	if (p.kick) {
		/* A new kick value: the poller's futex compare fails. */
		__atomic_fetch_add(&c->kick, 1, __ATOMIC_SEQ_CST);
		wake(&c->kick, 1);
	}
	if (p.submit) {
		ret = submit(r, c, p.submit, &interrupted);
		if (ret < 0)
			return ret;
	}
	if (p.getevents)
		w = wait_cq(r, c, p.min_complete, interrupted);
	/* The batch's YIELDs, once, as the module's ENTER runs them. */
	if (p.submit && __atomic_load_n(&c->done_yield, __ATOMIC_RELAXED))
		sched_yield();
	return (int)vanity_enter_result(ret, w);
}
