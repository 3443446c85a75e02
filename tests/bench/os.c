// SPDX-License-Identifier: GPL-2.0
/*
 * Operating-system peers: a pipe (one write of burst x size per burst, the
 * reader blocking in read), eventfd + shared memory (a plain SPSC ring,
 * one eventfd write per burst, the reader blocking in read when the ring
 * is empty), a bare futex (wakeup cases), and the floor: two threads
 * bouncing one cache line.
 *
 * Blocking loops cannot check a deadline while asleep; the harness's
 * watchdog (alarm) bounds them instead, and a side that gives up kicks
 * the descriptor its peer may sleep on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

/* ------------------------------------------------ plain SPSC shm ring */
struct sring {
	_Alignas(BENCH_LINE) uint32_t head;	/* producer's */
	_Alignas(BENCH_LINE) uint32_t tail;	/* consumer's */
	_Alignas(BENCH_LINE) uint8_t data[BENCH_SLOTS * BENCH_MAX_SIZE];
};

struct send {			/* one side's private view */
	struct sring *r;
	uint32_t pos, cache, size;
};

static inline void copy_msg(void *d, const void *s, uint32_t size)
{
	if (size == 8)
		__builtin_memcpy(d, s, 8);
	else
		__builtin_memcpy(d, s, 64);
}

static inline unsigned int sring_put(struct send *e, const void *src,
				     unsigned int n)
{
	uint32_t room = e->cache + BENCH_SLOTS - e->pos;
	unsigned int i;

	if (room < n) {
		e->cache = __atomic_load_n(&e->r->tail, __ATOMIC_ACQUIRE);
		room = e->cache + BENCH_SLOTS - e->pos;
	}
	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		copy_msg(e->r->data + ((e->pos + i) & (BENCH_SLOTS - 1)) * e->size,
			 (const uint8_t *)src + i * e->size, e->size);
	e->pos += n;
	if (n)
		__atomic_store_n(&e->r->head, e->pos, __ATOMIC_RELEASE);
	return n;
}

static inline unsigned int sring_get(struct send *e, void *dst, unsigned int n)
{
	uint32_t avail = e->cache - e->pos;
	unsigned int i;

	if (avail < n) {
		e->cache = __atomic_load_n(&e->r->head, __ATOMIC_ACQUIRE);
		avail = e->cache - e->pos;
	}
	if (n > avail)
		n = avail;
	for (i = 0; i < n; i++)
		copy_msg((uint8_t *)dst + i * e->size,
			 e->r->data + ((e->pos + i) & (BENCH_SLOTS - 1)) * e->size,
			 e->size);
	e->pos += n;
	if (n)
		__atomic_store_n(&e->r->tail, e->pos, __ATOMIC_RELEASE);
	return n;
}

static void efd_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, 8) != 8)
		bench_abort = 1;
}

static void efd_sleep(int fd)
{
	uint64_t v;

	if (read(fd, &v, 8) != 8 && errno != EINTR)
		bench_abort = 1;
}

/* ------------------------------------------------ throughput: eventfd */
struct etp {
	struct tp_ctl ctl;
	struct tp_case tc;
	struct sring *r;
	int efd;
	_Alignas(BENCH_LINE) uint64_t t1, errors;
};

static void etp_prod(void *p)
{
	struct etp *t = p;
	struct send e = { t->r, 0, 0, t->tc.size };
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
		unsigned int k;

		stamp(buf, size, want, sent);
		k = sring_put(&e, buf, want);
		if (k) {
			efd_kick(t->efd);
			sent += k;
		} else if (!spin_ok(&s)) {
			break;
		}
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
	efd_kick(t->efd);
}

static void etp_cons(void *p)
{
	struct etp *t = p;
	struct send e = { t->r, 0, 0, t->tc.size };
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t got = 0, errors = 0;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	while (got < n) {
		unsigned int k = sring_get(&e, buf, b);

		if (!k) {
			if (__atomic_load_n(&t->ctl.done, __ATOMIC_ACQUIRE) &&
			    got >= t->ctl.total)
				break;
			if (!still_ok(t->tc.deadline))
				break;
			efd_sleep(t->efd);
			continue;
		}
		errors += check(buf, size, k, got);
		got += k;
	}
out:
	t->t1 = now_ns();
	t->errors = errors;
	t->ctl.got = got;
}

int evfd_tp(const struct tp_case *tc, struct tp_result *res)
{
	struct etp *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->failed = 1;
	if (!t)
		return -1;
	t->r = bench_zalloc(sizeof(*t->r));
	t->efd = eventfd(0, 0);
	if (t->r && t->efd >= 0) {
		tp_ctl_init(&t->ctl, tc);
		t->tc = *tc;
		if (!run_pair(etp_prod, etp_cons, t)) {
			res->failed = 0;
			res->moved = t->ctl.got;
			res->ns = t->t1 - t->ctl.t0;
			res->errors = t->errors;
			res->capped = t->ctl.got < tc->n;
			ret = 0;
		}
	}
	if (t->efd >= 0)
		close(t->efd);
	free(t->r);
	free(t);
	return ret;
}

/* --------------------------------------------------- throughput: pipe */
struct ptp {
	struct tp_ctl ctl;
	struct tp_case tc;
	int rfd, wfd;
	_Alignas(BENCH_LINE) uint64_t t1, errors;
};

static void ptp_prod(void *p)
{
	struct ptp *t = p;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t sent = 0;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	t->ctl.t0 = now_ns();
	while (sent < n) {
		unsigned int want = n - sent < b ? (unsigned int)(n - sent) : b;
		size_t off = 0, len = (size_t)want * size;

		stamp(buf, size, want, sent);
		while (off < len) {
			ssize_t w = write(t->wfd, (char *)buf + off, len - off);

			if (w < 0 && errno != EINTR)
				goto out;
			off += w > 0 ? (size_t)w : 0;
		}
		sent += want;
		if (!(sent & 1023) && !still_ok(t->tc.deadline))
			break;
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
	close(t->wfd);		/* the reader sees end of file */
	t->wfd = -1;
}

static void ptp_cons(void *p)
{
	struct ptp *t = p;
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	uint64_t got = 0, errors = 0;
	size_t carry = 0;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	while (got < n) {
		ssize_t r = read(t->rfd, (char *)buf + carry,
				 (size_t)b * size - carry);
		size_t have, whole;

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;		/* end of file: the writer stopped */
		}
		have = carry + (size_t)r;
		whole = have / size;
		errors += check(buf, size, (unsigned int)whole, got);
		got += whole;
		carry = have - whole * size;
		if (carry)
			memmove(buf, (char *)buf + whole * size, carry);
	}
out:
	t->t1 = now_ns();
	t->errors = errors;
	t->ctl.got = got;
}

int pipe_tp(const struct tp_case *tc, struct tp_result *res)
{
	struct ptp *t = bench_zalloc(sizeof(*t));
	int fds[2], ret = -1;

	memset(res, 0, sizeof(*res));
	res->failed = 1;
	if (!t)
		return -1;
	if (pipe(fds)) {
		free(t);
		return -1;
	}
	/* Depth like the rings': BENCH_SLOTS messages (a page at least). */
	fcntl(fds[1], F_SETPIPE_SZ, BENCH_SLOTS * tc->size);
	t->rfd = fds[0];
	t->wfd = fds[1];
	tp_ctl_init(&t->ctl, tc);
	t->tc = *tc;
	if (!run_pair(ptp_prod, ptp_cons, t)) {
		res->failed = 0;
		res->moved = t->ctl.got;
		res->ns = t->t1 - t->ctl.t0;
		res->errors = t->errors;
		res->capped = t->ctl.got < tc->n;
		ret = 0;
	}
	if (t->wfd >= 0)
		close(t->wfd);
	close(t->rfd);
	free(t);
	return ret;
}

/* --------------------------------------- round trips: eventfd, pipe */
struct ort {
	struct gate gate;
	int kind;			/* 0 eventfd, 1 pipe */
	int a[2], b[2];			/* eventfd: a[0], b[0]; pipe: r, w */
	struct sring *ra, *rb;
	size_t n, warm, done;
	uint64_t *samples, deadline, errors;
};

/* Send one 8 B message on direction @d (0: A, 1: B). */
static void ort_send(struct ort *t, struct send *e, int d, uint64_t v)
{
	uint64_t m[BENCH_MAX_SIZE / 8] = { v };
	int *fd = d ? t->b : t->a;

	if (t->kind == 0) {
		while (!sring_put(e, m, 1))
			bench_relax();	/* one in flight: never full */
		efd_kick(fd[0]);
	} else if (write(fd[1], m, 8) != 8) {
		bench_abort = 1;
	}
}

/* Receive one 8 B message on direction @d, sleeping while none. */
static uint64_t ort_recv(struct ort *t, struct send *e, int d)
{
	int *fd = d ? t->b : t->a;
	uint64_t m[BENCH_MAX_SIZE / 8] = { ~0ULL };

	if (t->kind == 0) {
		while (!sring_get(e, m, 1) && !bench_abort)
			efd_sleep(fd[0]);
	} else if (read(fd[0], m, 8) != 8) {
		bench_abort = 1;
	}
	return m[0];
}

static void ort_ping(void *p)
{
	struct ort *t = p;
	struct send ea = { t->ra, 0, 0, 8 }, eb = { t->rb, 0, 0, 8 };
	const size_t warm = t->warm, total = t->warm + t->n;
	uint64_t *samples = t->samples, errors = 0;
	size_t i, done = 0;

	if (!gate_pass(&t->gate))
		return;
	for (i = 0; i < total && !bench_abort; i++) {
		uint64_t r, t0, t1;

		t0 = ticks();
		ort_send(t, &ea, 0, i);
		r = ort_recv(t, &eb, 1);
		t1 = ticks();
		errors += r != i;
		if (i >= warm) {
			samples[i - warm] = t1 - t0;
			done = i + 1 - warm;
		}
		if (!(i & 255) && !still_ok(t->deadline))
			break;
	}
	t->done = done;
	t->errors = errors;
	if (bench_abort) {		/* release a ponger asleep on A */
		if (t->kind == 0)
			efd_kick(t->a[0]);
		else
			close(t->a[1]);
	}
}

static void ort_pong(void *p)
{
	struct ort *t = p;
	struct send ea = { t->ra, 0, 0, 8 }, eb = { t->rb, 0, 0, 8 };
	const size_t total = t->warm + t->n;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	for (i = 0; i < total && !bench_abort; i++)
		ort_send(t, &eb, 1, ort_recv(t, &ea, 0));
}

static int ort_run(int kind, size_t n, uint64_t deadline, struct lat *out)
{
	struct ort *t = bench_zalloc(sizeof(*t));
	int ret = -1, ok;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->kind = kind;
	t->a[0] = t->a[1] = t->b[0] = t->b[1] = -1;
	t->ra = bench_zalloc(sizeof(*t->ra));
	t->rb = bench_zalloc(sizeof(*t->rb));
	t->samples = calloc(n, sizeof(*t->samples));
	if (kind == 0) {
		t->a[0] = eventfd(0, 0);
		t->b[0] = eventfd(0, 0);
		ok = t->a[0] >= 0 && t->b[0] >= 0;
	} else {
		ok = !pipe(t->a) && !pipe(t->b);
	}
	if (ok && t->ra && t->rb && t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->n = n;
		t->warm = n / 10 + 100;
		t->deadline = deadline;
		if (!run_pair(ort_ping, ort_pong, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (t->a[i] >= 0)
			close(t->a[i]);
		if (t->b[i] >= 0)
			close(t->b[i]);
	}
	free(t->ra);
	free(t->rb);
	free(t->samples);
	free(t);
	return ret;
}

int evfd_rt(size_t n, uint64_t deadline, struct lat *out)
{
	return ort_run(0, n, deadline, out);
}

int pipe_rt(size_t n, uint64_t deadline, struct lat *out)
{
	return ort_run(1, n, deadline, out);
}

/* ------------------------------ wakeup round trips: eventfd, futex */
struct owk {
	struct gate gate;
	int kind;			/* 0 eventfd, 1 futex */
	int efd;
	struct sring *r;
	struct wake_case wc;
	size_t warm, done;
	uint64_t *samples, errors;
	_Alignas(BENCH_LINE) uint32_t word;	/* futex: last sequence sent */
	_Alignas(BENCH_LINE) volatile uint64_t ack;
	_Alignas(BENCH_LINE) char pad[BENCH_LINE];
};

static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void owk_send(void *p)
{
	struct owk *t = p;
	struct send e = { t->r, 0, 0, 8 };
	const size_t warm = t->warm, total = t->warm + t->wc.n;
	const uint64_t gap = t->wc.gap_ns;
	uint64_t *samples = t->samples;
	size_t i, done = 0;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->wc.deadline);
	for (i = 0; i < total; i++) {
		uint64_t m[BENCH_MAX_SIZE / 8] = { i }, t0, t1;

		busy_wait_ns(gap);
		t0 = ticks();
		if (t->kind == 0) {
			sring_put(&e, m, 1);
			efd_kick(t->efd);
		} else {
			__atomic_store_n(&t->word, (uint32_t)(i + 1),
					 __ATOMIC_RELEASE);
			futex(&t->word, FUTEX_WAKE_PRIVATE, 1, NULL);
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
	if (bench_abort) {
		if (t->kind == 0)
			efd_kick(t->efd);
		else
			futex(&t->word, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

static void owk_recv(void *p)
{
	struct owk *t = p;
	struct send e = { t->r, 0, 0, 8 };
	const size_t total = t->warm + t->wc.n;
	uint64_t errors = 0;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	for (i = 0; i < total && !bench_abort; i++) {
		uint64_t m[BENCH_MAX_SIZE / 8] = { ~0ULL };

		if (t->kind == 0) {
			while (!sring_get(&e, m, 1) && !bench_abort)
				efd_sleep(t->efd);
		} else {
			struct timespec ts = { 0, 100000000 };	/* 100 ms */
			uint32_t v;

			while ((v = __atomic_load_n(&t->word, __ATOMIC_ACQUIRE)) ==
			       (uint32_t)i && !bench_abort)
				futex(&t->word, FUTEX_WAIT_PRIVATE, v, &ts);
			m[0] = v - 1;
		}
		errors += m[0] != i;
		__atomic_store_n(&t->ack, i + 1, __ATOMIC_RELEASE);
	}
	t->errors = errors;
}

static int owk_run(int kind, const struct wake_case *wc, struct lat *out)
{
	struct owk *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->kind = kind;
	t->efd = kind == 0 ? eventfd(0, 0) : -1;
	t->r = bench_zalloc(sizeof(*t->r));
	t->samples = calloc(wc->n, sizeof(*t->samples));
	if ((kind || t->efd >= 0) && t->r && t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, wc->deadline);
		t->wc = *wc;
		t->warm = 10;
		if (!run_pair(owk_send, owk_recv, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	if (t->efd >= 0)
		close(t->efd);
	free(t->r);
	free(t->samples);
	free(t);
	return ret;
}

int evfd_wake(const struct wake_case *wc, struct lat *out)
{
	return owk_run(0, wc, out);
}

int futex_wake_lat(const struct wake_case *wc, struct lat *out)
{
	return owk_run(1, wc, out);
}

/* ------------------------------------------------- the floor: one line */
struct flr {
	struct gate gate;
	size_t n, warm, done;
	uint64_t *samples, deadline;
	uint64_t *ab, *ba;	/* the line each way: the same, or two */
	_Alignas(BENCH_LINE) uint64_t line;
	_Alignas(BENCH_LINE) uint64_t line2;
	_Alignas(BENCH_LINE) char pad[BENCH_LINE];
};

static void flr_ping(void *p)
{
	struct flr *t = p;
	const size_t warm = t->warm, total = t->warm + t->n;
	uint64_t *samples = t->samples;
	size_t i, done = 0;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t t0, t1;

		t0 = ticks();
		__atomic_store_n(t->ab, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(t->ba, __ATOMIC_ACQUIRE) != 2 * i + 2)
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

static void flr_pong(void *p)
{
	struct flr *t = p;
	const size_t total = t->warm + t->n;
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		while (__atomic_load_n(t->ab, __ATOMIC_ACQUIRE) != 2 * i + 1)
			if (!spin_ok(&s))
				return;
		__atomic_store_n(t->ba, 2 * i + 2, __ATOMIC_RELEASE);
	}
}

static int floor_run(size_t n, uint64_t deadline, struct lat *out, int two)
{
	struct flr *t = bench_zalloc(sizeof(*t));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	t->samples = calloc(n, sizeof(*t->samples));
	if (t->samples) {
		bench_abort = 0;
		gate_init(&t->gate, deadline);
		t->n = n;
		t->warm = n / 10 + 100;
		t->deadline = deadline;
		t->ab = &t->line;
		t->ba = two ? &t->line2 : &t->line;
		if (!run_pair(flr_ping, flr_pong, t) && t->done) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	free(t);
	return ret;
}

int floor_rt(size_t n, uint64_t deadline, struct lat *out)
{
	return floor_run(n, deadline, out, 0);
}

/* The same with one line each way: what any two-queue ping-pong costs. */
int floor2_rt(size_t n, uint64_t deadline, struct lat *out)
{
	return floor_run(n, deadline, out, 1);
}
