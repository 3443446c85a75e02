// SPDX-License-Identifier: GPL-2.0
/*
 * Vanity channels, hosted: a region of plain shared memory formatted with
 * vanity_channel_format and bound once per endpoint, each endpoint in its
 * own page so the two threads share nothing but the region. The blocking
 * cases use a futex doorbell: WAIT issues membarrier(PRIVATE_EXPEDITED)
 * (the module's barrier IPI) then FUTEX_WAIT on the watched index word.
 */
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vanity.h>

#include "bench.h"

/* ------------------------------------------------------ futex doorbell */
static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

int vanity_bell_setup(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		    0, 0))
		return -errno;
	return 0;
}

static int bell_wait(struct vanity_channel *ch, uint32_t expect,
		     int64_t timeout_ns)
{
	/* The consumer sleeps on head (data), the producer on tail (space). */
	uint32_t *w = ch->role == VANITY_ROLE_TO ? &ch->hdr->head :
						   &ch->hdr->tail;
	struct timespec ts, *tsp = NULL;

	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		return -errno;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	if (futex(w, FUTEX_WAIT_PRIVATE, expect, tsp) < 0) {
		if (errno == EAGAIN)
			return 0;	/* moved before we slept */
		return -errno;	/* ETIMEDOUT, EINTR */
	}
	return 0;
}

static int bell_wake(struct vanity_channel *ch)
{
	uint32_t *w = ch->role == VANITY_ROLE_FROM ? &ch->hdr->head :
						     &ch->hdr->tail;

	return futex(w, FUTEX_WAKE_PRIVATE, 1, NULL) < 0 ? -errno : 0;
}

static const struct vanity_bell_ops futex_bell = {
	.wait = bell_wait,
	.wake = bell_wake,
};

/* ------------------------------------------------------------ channels */
struct vchan {
	void *region;
	size_t bytes;
	struct vanity_channel *prod, *cons;	/* a page each */
};

static void vchan_close(struct vchan *c)
{
	if (c->region && c->region != MAP_FAILED)
		munmap(c->region, c->bytes);
	free(c->prod);
	free(c->cons);
	memset(c, 0, sizeof(*c));
}

static int vchan_open(struct vchan *c, uint32_t size, uint32_t slots)
{
	memset(c, 0, sizeof(*c));
	c->bytes = vanity_channel_region_bytes(size, slots);
	c->region = mmap(NULL, c->bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c->prod = bench_zalloc(sizeof(*c->prod));
	c->cons = bench_zalloc(sizeof(*c->cons));
	if (c->region == MAP_FAILED || !c->prod || !c->cons)
		goto fail;
	vanity_channel_format(c->region, size, slots, 0);
	if (vanity_channel_bind(c->prod, c->region, c->bytes, VANITY_ROLE_FROM,
				&futex_bell, NULL) ||
	    vanity_channel_bind(c->cons, c->region, c->bytes, VANITY_ROLE_TO,
				&futex_bell, NULL))
		goto fail;
	return 0;
fail:
	vchan_close(c);
	return -1;
}

/* ---------------------------------------------------------- throughput */
struct vtp {
	struct tp_ctl ctl;
	struct tp_case tc;
	struct vanity_channel *prod, *cons;
	_Alignas(BENCH_LINE) uint64_t t1, errors;
};

static inline __attribute__((always_inline)) void
vtp_prod_body(struct vtp *t, const int zc)
{
	struct vanity_channel *ch = t->prod;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t sent = 0;
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	t->ctl.t0 = now_ns();
	while (sent < n) {
		unsigned int want = n - sent < b ? (unsigned int)(n - sent) : b;
		unsigned int i, k;

		if (zc) {
			/* Build each message in place: only its stamp. */
			k = vanity_reserve(ch, want);
			for (i = 0; i < k; i++)
				*(uint64_t *)vanity_slot(ch, i) = sent + i;
			vanity_commit(ch, k);
		} else {
			stamp(buf, size, want, sent);
			k = vanity_send_burst(ch, buf, want);
		}
		sent += k;
		if (!k && !spin_ok(&s))
			break;
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) void
vtp_cons_body(struct vtp *t, const int zc)
{
	struct vanity_channel *ch = t->cons;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t got = 0, errors = 0;
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	while (got < n) {
		unsigned int i, k;

		if (zc) {
			k = vanity_peek(ch, b);
			for (i = 0; i < k; i++)
				errors += *(const uint64_t *)
					  vanity_peek_slot(ch, i) != got + i;
			vanity_release(ch, k);
		} else {
			k = vanity_recv_burst(ch, buf, b);
			errors += check(buf, size, k, got);
		}
		if (!k) {
			if (__atomic_load_n(&t->ctl.done, __ATOMIC_ACQUIRE) &&
			    got >= t->ctl.total)
				break;
			if (!spin_ok(&s))
				break;
			continue;
		}
		got += k;
	}
out:
	t->t1 = now_ns();
	t->errors = errors;
	t->ctl.got = got;
}

static void vtp_prod(void *p) { vtp_prod_body(p, 0); }
static void vtp_cons(void *p) { vtp_cons_body(p, 0); }
static void vtp_prod_zc(void *p) { vtp_prod_body(p, 1); }
static void vtp_cons_zc(void *p) { vtp_cons_body(p, 1); }

static int vtp_run(const struct tp_case *tc, struct tp_result *res, int zc)
{
	struct vchan c;
	struct vtp *t;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	t = bench_zalloc(sizeof(*t));
	if (!t || vchan_open(&c, tc->size, BENCH_SLOTS)) {
		free(t);
		res->failed = 1;
		return -1;
	}
	tp_ctl_init(&t->ctl, tc);
	t->tc = *tc;
	t->prod = c.prod;
	t->cons = c.cons;
	if (!run_pair(zc ? vtp_prod_zc : vtp_prod, zc ? vtp_cons_zc : vtp_cons,
		      t)) {
		res->moved = t->ctl.got;
		res->ns = t->t1 - t->ctl.t0;
		res->errors = t->errors;
		res->capped = t->ctl.got < tc->n;
		ret = 0;
	} else {
		res->failed = 1;
	}
	vchan_close(&c);
	free(t);
	return ret;
}

int vanity_tp(const struct tp_case *tc, struct tp_result *res)
{
	return vtp_run(tc, res, 0);
}

int vanity_tp_zc(const struct tp_case *tc, struct tp_result *res)
{
	return vtp_run(tc, res, 1);
}

/* ---------------------------------------------------------- round trip */
struct vrt {
	struct gate gate;
	struct vanity_channel *ap, *ac, *bp, *bc;	/* A: 0->1, B: 1->0 */
	size_t n, warm, done;
	uint64_t *samples, deadline, errors;
};

static void vrt_ping(void *p)
{
	struct vrt *t = p;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	/* Locals only in the loop: nothing the ponger reads is written. */
	struct vanity_channel *ap = t->ap, *bc = t->bc;
	const size_t warm = t->warm, total = t->warm + t->n;
	uint64_t *samples = t->samples, errors = 0;
	uint64_t m[BENCH_MAX_SIZE / 8] = { 0 }, r[BENCH_MAX_SIZE / 8];
	size_t done = 0;

	for (i = 0; i < total; i++) {
		uint64_t t0, t1;

		m[0] = i;
		t0 = ticks();
		while (vanity_send(ap, m))
			if (!spin_ok(&s))
				goto out;
		while (vanity_recv(bc, r))
			if (!spin_ok(&s))
				goto out;
		t1 = ticks();
		errors += r[0] != i;
		if (i >= warm) {
			samples[i - warm] = t1 - t0;
			done = i + 1 - warm;
		}
	}
out:
	t->done = done;
	t->errors = errors;
}

static void vrt_pong(void *p)
{
	struct vrt *t = p;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	struct vanity_channel *ac = t->ac, *bp = t->bp;
	const size_t total = t->warm + t->n;

	for (i = 0; i < total; i++) {
		uint64_t m[BENCH_MAX_SIZE / 8];

		while (vanity_recv(ac, m))
			if (!spin_ok(&s))
				return;
		while (vanity_send(bp, m))
			if (!spin_ok(&s))
				return;
	}
}

int vanity_rt(size_t n, uint64_t deadline, struct lat *out)
{
	struct vchan a, b;
	struct vrt *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	if (vchan_open(&a, 8, BENCH_SLOTS)) {
		free(t);
		return -1;
	}
	if (vchan_open(&b, 8, BENCH_SLOTS)) {
		vchan_close(&a);
		free(t);
		return -1;
	}
	t->samples = calloc(n, sizeof(*t->samples));
	if (t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->ap = a.prod;
		t->ac = a.cons;
		t->bp = b.prod;
		t->bc = b.cons;
		t->n = n;
		t->warm = n / 10 + 100;
		t->deadline = deadline;
		if (!run_pair(vrt_ping, vrt_pong, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	vchan_close(&a);
	vchan_close(&b);
	free(t);
	return ret;
}

/* -------------------------------------------------- blocking receiver */
struct vwk {
	struct gate gate;
	struct vanity_channel *prod, *cons;
	struct wake_case wc;
	size_t warm, done;
	uint64_t *samples, errors;
	_Alignas(BENCH_LINE) volatile uint64_t ack;
	_Alignas(BENCH_LINE) char pad[BENCH_LINE];
};

static void vwk_send(void *p)
{
	struct vwk *t = p;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->wc.deadline);
	struct vanity_channel *prod = t->prod;
	const size_t warm = t->warm, total = t->warm + t->wc.n;
	const uint64_t gap = t->wc.gap_ns;
	uint64_t *samples = t->samples;
	size_t done = 0;

	for (i = 0; i < total; i++) {
		uint64_t m[BENCH_MAX_SIZE / 8] = { i }, t0, t1;

		busy_wait_ns(gap);
		t0 = ticks();
		if (vanity_send(prod, m)) {
			bench_abort = 1;
			break;
		}
		while (__atomic_load_n(&t->ack, __ATOMIC_ACQUIRE) != i + 1)
			if (!spin_ok(&s))
				goto out;
		t1 = ticks();
		if (i >= warm) {
			samples[i - warm] = t1 - t0;
			done = i + 1 - warm;
		}
	}
out:
	t->done = done;
}

static void vwk_recv(void *p)
{
	struct vwk *t = p;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	struct vanity_channel *cons = t->cons;
	const size_t total = t->warm + t->wc.n;
	const uint64_t deadline = t->wc.deadline;
	uint64_t errors = 0;

	for (i = 0; i < total; i++) {
		uint64_t m[BENCH_MAX_SIZE / 8] = { ~0ULL }, now = now_ns();

		if (bench_abort || now >= deadline ||
		    vanity_recv_wait(cons, m, (int64_t)(deadline - now))) {
			bench_abort = 1;
			break;
		}
		errors += m[0] != i;
		__atomic_store_n(&t->ack, i + 1, __ATOMIC_RELEASE);
	}
	t->errors = errors;
}

int vanity_wake(const struct wake_case *wc, struct lat *out)
{
	struct vchan c;
	struct vwk *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	if (vchan_open(&c, 8, BENCH_SLOTS)) {
		free(t);
		return -1;
	}
	t->samples = calloc(wc->n, sizeof(*t->samples));
	if (t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, wc->deadline);
		t->prod = c.prod;
		t->cons = c.cons;
		t->wc = *wc;
		t->warm = 10;
		vanity_channel_set_spin(c.cons, wc->spin_ns);
		if (!run_pair(vwk_send, vwk_recv, t) && t->done &&
		    !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	vchan_close(&c);
	free(t);
	return ret;
}

/* ------------------------------------ the doorbell's barrier, measured */
/*
 * block() sleeps through bell->wait, which here (as the module's WAIT
 * does with its barrier IPI) makes the peer CPU's stores visible with
 * membarrier(PRIVATE_EXPEDITED): an IPI to every CPU running a thread of
 * this process. Time it with the peer thread busy on the other CPU, as a
 * producer is.
 */
struct mbm {
	struct gate gate;
	size_t n, done;
	uint64_t *samples, deadline;
	_Alignas(BENCH_LINE) volatile int stop;
	_Alignas(BENCH_LINE) char pad[BENCH_LINE];
};

static void mbm_busy(void *p)
{
	struct mbm *t = p;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	while (!t->stop && spin_ok(&s))
		;
}

static void mbm_time(void *p)
{
	struct mbm *t = p;
	size_t i;

	if (!gate_pass(&t->gate))
		goto out;
	for (i = 0; i < t->n && still_ok(t->deadline); i++) {
		uint64_t t0 = ticks();

		if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED,
			    0, 0))
			break;
		t->samples[i] = ticks() - t0;
		t->done = i + 1;
		busy_wait_ns(20000);
	}
out:
	t->stop = 1;
}

int membarrier_cost(size_t n, uint64_t deadline, struct lat *out)
{
	struct mbm *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->samples = calloc(n, sizeof(*t->samples));
	if (t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->n = n;
		t->deadline = deadline;
		if (!run_pair(mbm_busy, mbm_time, t) && t->done) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	free(t);
	return ret;
}
