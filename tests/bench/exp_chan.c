// SPDX-License-Identifier: GPL-2.0
/*
 * EXPERIMENT, not libvanity: a re-implementation of the channel fast path
 * of lib/include/vanity.h with its design choices as compile-time
 * switches, to measure what each one costs (BENCH_EXP=1). x-replica keeps
 * every choice of vanity.h and should measure like "vanity"; each other
 * variant changes one or two things:
 *
 *   ctr       per-call counters in the shared header (msgs, bursts, stalls)
 *   lastfirst consumer checks the last slot of the asked-for range first:
 *             one acquire load when a whole burst is ready, and no load of
 *             the line the producer is still filling
 *   idx       publish by index instead of per-slot sequence words: the
 *             producer stores head with release after the burst, the
 *             consumer caches head and reloads it only when it runs out
 *             (rte_ring's scheme, with vanity's cached limit)
 *   packed    stride = slot_size (no 8-byte sequence word per slot); only
 *             with idx
 *   fence     a seq_cst fence between publishing and loading the peer's
 *             *_waiting flag, on both sides: the classic way to make the
 *             sleep handshake safe without the WAIT-side barrier IPI
 *
 * Layout otherwise as struct vanity_chan_hdr: each index, flag and counter
 * block on its own 128-byte block, slots after a 4 KiB header.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define X_HDR 4096

struct xhdr {
	_Alignas(128) uint32_t head;
	_Alignas(128) uint32_t tail;
	_Alignas(128) uint32_t cons_waiting;
	_Alignas(128) uint32_t prod_waiting;
	_Alignas(128) uint64_t prod[8];		/* msgs, bursts, stalls */
	_Alignas(128) uint64_t cons[8];
};

struct xend {			/* one endpoint's private state */
	uint8_t *data;
	struct xhdr *hdr;
	uint32_t mask, stride, size, pos, limit;
};

struct xcfg {
	int seq, ctr, lastfirst;
};

#define F_SEQ(f) ((f) & 1)
#define F_CTR(f) ((f) & 2)
#define F_LAST(f) ((f) & 4)
#define F_PACK(f) ((f) & 8)
#define F_FENCE(f) ((f) & 32)

static inline void x_ctr(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void x_copy(void *d, const void *s, uint32_t n)
{
	switch (n) {	/* as vanity__copy: the size is a runtime value */
	case 8: __builtin_memcpy(d, s, 8); break;
	case 16: __builtin_memcpy(d, s, 16); break;
	case 32: __builtin_memcpy(d, s, 32); break;
	case 64: __builtin_memcpy(d, s, 64); break;
	default: __builtin_memcpy(d, s, n);
	}
}

static inline uint8_t *x_slot(const struct xend *e, uint32_t pos)
{
	return e->data + (size_t)(pos & e->mask) * e->stride;
}

static inline __attribute__((always_inline)) unsigned int
x_send(struct xend *e, const void *msgs, unsigned int n, const int f)
{
	const uint32_t off = F_SEQ(f) ? 8 : 0;
	uint32_t room = e->limit - e->pos, pos = e->pos;
	unsigned int i, k;

	if (room < n) {
		e->limit = __atomic_load_n(&e->hdr->tail, __ATOMIC_ACQUIRE) +
			   e->mask + 1;
		room = e->limit - e->pos;
		if (!room && F_CTR(f))
			x_ctr(&e->hdr->prod[2], 1);
	}
	k = room < n ? room : n;
	if (!k)
		return 0;
	for (i = 0; i < k; i++)
		x_copy(x_slot(e, pos + i) + off,
		       (const uint8_t *)msgs + (size_t)i * e->size, e->size);
	if (F_SEQ(f)) {
		for (i = 0; i < k; i++)
			__atomic_store_n((uint32_t *)x_slot(e, pos + i),
					 pos + i + 1, __ATOMIC_RELEASE);
		e->pos = pos + k;
		__atomic_store_n(&e->hdr->head, e->pos, __ATOMIC_RELAXED);
	} else {
		e->pos = pos + k;
		__atomic_store_n(&e->hdr->head, e->pos, __ATOMIC_RELEASE);
	}
	if (F_CTR(f)) {
		x_ctr(&e->hdr->prod[0], k);
		x_ctr(&e->hdr->prod[1], 1);
	}
	if (F_FENCE(f))		/* Dekker: publish before reading the flag */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&e->hdr->cons_waiting,
					     __ATOMIC_RELAXED), 0))
		bench_abort = 1;	/* no doorbell in these variants */
	return k;
}

static inline __attribute__((always_inline)) unsigned int
x_recv(struct xend *e, void *msgs, unsigned int n, const int f)
{
	const uint32_t off = F_SEQ(f) ? 8 : 0;
	uint32_t pos = e->pos;
	unsigned int i, k = 0;

	if (F_SEQ(f)) {
		if (F_LAST(f) && n > 1 &&
		    __atomic_load_n((uint32_t *)x_slot(e, pos + n - 1),
				    __ATOMIC_ACQUIRE) == pos + n)
			k = n;
		else
			while (k < n &&
			       __atomic_load_n((uint32_t *)x_slot(e, pos + k),
					       __ATOMIC_ACQUIRE) == pos + k + 1)
				k++;
	} else {
		uint32_t avail = e->limit - pos;

		if (avail < n) {
			e->limit = __atomic_load_n(&e->hdr->head,
						   __ATOMIC_ACQUIRE);
			avail = e->limit - pos;
		}
		k = avail < n ? avail : n;
	}
	if (!k) {
		if (F_CTR(f))
			x_ctr(&e->hdr->cons[2], 1);
		return 0;
	}
	for (i = 0; i < k; i++)
		x_copy((uint8_t *)msgs + (size_t)i * e->size,
		       x_slot(e, pos + i) + off, e->size);
	e->pos = pos + k;
	__atomic_store_n(&e->hdr->tail, e->pos, __ATOMIC_RELEASE);
	if (F_CTR(f)) {
		x_ctr(&e->hdr->cons[0], k);
		x_ctr(&e->hdr->cons[1], 1);
	}
	if (F_FENCE(f))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&e->hdr->prod_waiting,
					     __ATOMIC_RELAXED), 0))
		bench_abort = 1;
	return k;
}

/*
 * x-tuned: the same protocol, layout and counters as vanity.h, coded for
 * the compiler: endpoint fields copied to locals (an acquire load or a
 * release store is a compiler barrier, so vanity.h re-reads ch->data,
 * ch->mask, ch->stride and ch->pos for every slot), one switch on the slot
 * size per call instead of per slot (so each copy is a constant-size move
 * and the loop can unroll), slot pointers walked by adding the stride
 * (no multiply per slot; the burst is split at the ring's wrap). Still two
 * passes on each side, as vanity.h: payloads then sequence words. (Fusing
 * them, each seq stored right after its payload, measured 3x slower at
 * 64 B: the consumer then steals each line while the producer is still
 * filling it.)
 */
static inline __attribute__((always_inline)) void
t_put(uint8_t *p, const uint8_t *src, unsigned int cnt, uint32_t seq,
      const uint32_t size, const uint32_t stride)
{
	uint8_t *q = p;
	unsigned int i;

	for (i = 0; i < cnt; i++, q += stride, src += size)
		__builtin_memcpy(q + 8, src, size);
	/* Then publish, as vanity_commit: the burst's seqs in a quick run. */
	for (i = 0; i < cnt; i++, p += stride)
		__atomic_store_n((uint32_t *)p, seq + i + 1, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) unsigned int
t_get(const uint8_t *p, uint8_t *dst, unsigned int cnt, uint32_t seq,
      const uint32_t size, const uint32_t stride)
{
	const uint8_t *q = p;
	unsigned int i, k;

	for (k = 0; k < cnt; k++, q += stride)
		if (__atomic_load_n((const uint32_t *)q, __ATOMIC_ACQUIRE) !=
		    seq + k + 1)
			break;
	for (i = 0; i < k; i++, p += stride, dst += size)
		__builtin_memcpy(dst, p + 8, size);
	return k;
}

static void t_put_any(uint8_t *p, const uint8_t *src, unsigned int cnt,
		      uint32_t seq, uint32_t size, uint32_t stride)
{
	switch (size) {
	case 8: t_put(p, src, cnt, seq, 8, 16); break;
	case 16: t_put(p, src, cnt, seq, 16, 24); break;
	case 32: t_put(p, src, cnt, seq, 32, 40); break;
	case 64: t_put(p, src, cnt, seq, 64, 72); break;
	default: {
		uint8_t *q = p;
		unsigned int i;

		for (i = 0; i < cnt; i++, q += stride, src += size)
			memcpy(q + 8, src, size);
		for (i = 0; i < cnt; i++, p += stride)
			__atomic_store_n((uint32_t *)p, seq + i + 1,
					 __ATOMIC_RELEASE);
	}
	}
}

static unsigned int t_get_any(const uint8_t *p, uint8_t *dst,
			      unsigned int cnt, uint32_t seq, uint32_t size,
			      uint32_t stride)
{
	switch (size) {
	case 8: return t_get(p, dst, cnt, seq, 8, 16);
	case 16: return t_get(p, dst, cnt, seq, 16, 24);
	case 32: return t_get(p, dst, cnt, seq, 32, 40);
	case 64: return t_get(p, dst, cnt, seq, 64, 72);
	default: {
		const uint8_t *q = p;
		unsigned int i, k;

		for (k = 0; k < cnt; k++, q += stride)
			if (__atomic_load_n((const uint32_t *)q,
					    __ATOMIC_ACQUIRE) != seq + k + 1)
				break;
		for (i = 0; i < k; i++, p += stride, dst += size)
			memcpy(dst, p + 8, size);
		return k;
	}
	}
}

static inline __attribute__((always_inline)) unsigned int
t_send(struct xend *e, const void *msgs, unsigned int n)
{
	struct xhdr *h = e->hdr;
	const uint32_t pos = e->pos, mask = e->mask, size = e->size;
	uint32_t room = e->limit - pos, idx = pos & mask, run;
	unsigned int k;

	if (room < n) {
		e->limit = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE) + mask + 1;
		room = e->limit - pos;
		if (!room)
			x_ctr(&h->prod[2], 1);
	}
	k = room < n ? room : n;
	if (!k)
		return 0;
	run = mask + 1 - idx < k ? mask + 1 - idx : k;
	t_put_any(e->data + (size_t)idx * e->stride, msgs, run, pos, size,
		  e->stride);
	if (run < k)
		t_put_any(e->data, (const uint8_t *)msgs + (size_t)run * size,
			  k - run, pos + run, size, e->stride);
	e->pos = pos + k;
	__atomic_store_n(&h->head, pos + k, __ATOMIC_RELAXED);
	x_ctr(&h->prod[0], k);
	x_ctr(&h->prod[1], 1);
	if (__builtin_expect(__atomic_load_n(&h->cons_waiting,
					     __ATOMIC_RELAXED), 0))
		bench_abort = 1;
	return k;
}

static inline __attribute__((always_inline)) unsigned int
t_recv(struct xend *e, void *msgs, unsigned int n)
{
	struct xhdr *h = e->hdr;
	const uint32_t pos = e->pos, mask = e->mask, size = e->size;
	uint32_t idx = pos & mask;
	uint32_t run = mask + 1 - idx < n ? mask + 1 - idx : n;
	unsigned int k;

	k = t_get_any(e->data + (size_t)idx * e->stride, msgs, run, pos, size,
		      e->stride);
	if (k == run && run < n)
		k += t_get_any(e->data, (uint8_t *)msgs + (size_t)run * size,
			       n - run, pos + run, size, e->stride);
	if (!k) {
		x_ctr(&h->cons[2], 1);
		return 0;
	}
	e->pos = pos + k;
	__atomic_store_n(&h->tail, pos + k, __ATOMIC_RELEASE);
	x_ctr(&h->cons[0], k);
	x_ctr(&h->cons[1], 1);
	if (__builtin_expect(__atomic_load_n(&h->prod_waiting,
					     __ATOMIC_RELAXED), 0))
		bench_abort = 1;
	return k;
}

#define F_TUNED(f) ((f) & 16)

static inline __attribute__((always_inline)) unsigned int
v_send(struct xend *e, const void *msgs, unsigned int n, const int f)
{
	return F_TUNED(f) ? t_send(e, msgs, n) : x_send(e, msgs, n, f);
}

static inline __attribute__((always_inline)) unsigned int
v_recv(struct xend *e, void *msgs, unsigned int n, const int f)
{
	return F_TUNED(f) ? t_recv(e, msgs, n) : x_recv(e, msgs, n, f);
}

/* ------------------------------------------------------------ regions */
struct xchan {
	void *region;
	size_t bytes;
	struct xend *prod, *cons;
};

static void xchan_close(struct xchan *c)
{
	if (c->region && c->region != MAP_FAILED)
		munmap(c->region, c->bytes);
	free(c->prod);
	free(c->cons);
}

static int xchan_open(struct xchan *c, uint32_t size, int f)
{
	uint32_t stride = F_PACK(f) ? size : 8 + size;
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->bytes = X_HDR + (size_t)stride * BENCH_SLOTS;
	c->region = mmap(NULL, c->bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c->prod = bench_zalloc(sizeof(*c->prod));
	c->cons = bench_zalloc(sizeof(*c->cons));
	if (c->region == MAP_FAILED || !c->prod || !c->cons) {
		xchan_close(c);
		return -1;
	}
	/* As vanity_chan_init: no slot reads as published at first. */
	for (i = 0; F_SEQ(f) && i < BENCH_SLOTS; i++)
		*(uint32_t *)((uint8_t *)c->region + X_HDR +
			      (size_t)i * stride) = i - BENCH_SLOTS + 1;
	for (i = 0; i < 2; i++) {
		struct xend *e = i ? c->cons : c->prod;

		e->hdr = c->region;
		e->data = (uint8_t *)c->region + X_HDR;
		e->mask = BENCH_SLOTS - 1;
		e->stride = stride;
		e->size = size;
		e->pos = 0;
		e->limit = i ? 0 : BENCH_SLOTS;
	}
	return 0;
}

/* ---------------------------------------------------------- throughput */
struct xtp {
	struct tp_ctl ctl;
	struct tp_case tc;
	struct xend *prod, *cons;
	_Alignas(BENCH_LINE) uint64_t t1, errors;
};

static inline __attribute__((always_inline)) void xtp_prod(struct xtp *t,
							   const int f)
{
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	struct xend *e = t->prod;
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
		k = v_send(e, buf, want, f);
		sent += k;
		if (!k && !spin_ok(&s))
			break;
	}
out:
	t->ctl.total = sent;
	__atomic_store_n(&t->ctl.done, 1, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) void xtp_cons(struct xtp *t,
							   const int f)
{
	uint64_t buf[BENCH_MAX_BURST * BENCH_MAX_SIZE / 8];
	const uint32_t size = t->tc.size, b = t->tc.burst;
	const uint64_t n = t->tc.n;
	struct xend *e = t->cons;
	uint64_t got = 0, errors = 0;
	struct spin s;

	if (!gate_pass(&t->ctl.gate))
		goto out;
	spin_init(&s, t->tc.deadline);
	while (got < n) {
		unsigned int k = v_recv(e, buf, b, f);

		if (!k) {
			if (__atomic_load_n(&t->ctl.done, __ATOMIC_ACQUIRE) &&
			    got >= t->ctl.total)
				break;
			if (!spin_ok(&s))
				break;
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

static int xtp_run(const struct tp_case *tc, struct tp_result *res, int f,
		   void (*p)(void *), void (*c)(void *))
{
	struct xtp *t = bench_zalloc(sizeof(*t));
	struct xchan ch;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->failed = 1;
	if (!t)
		return -1;
	if (!xchan_open(&ch, tc->size, f)) {
		tp_ctl_init(&t->ctl, tc);
		t->tc = *tc;
		t->prod = ch.prod;
		t->cons = ch.cons;
		if (!run_pair(p, c, t)) {
			res->failed = 0;
			res->moved = t->ctl.got;
			res->ns = t->t1 - t->ctl.t0;
			res->errors = t->errors;
			res->capped = t->ctl.got < tc->n;
			ret = 0;
		}
		xchan_close(&ch);
	}
	free(t);
	return ret;
}

/* ---------------------------------------------------------- round trip */
struct xrt {
	struct gate gate;
	struct xend *ap, *ac, *bp, *bc;
	size_t n, warm, done;
	uint64_t *samples, deadline, errors;
};

static inline __attribute__((always_inline)) void xrt_ping(struct xrt *t,
							   const int f)
{
	const size_t warm = t->warm, total = t->warm + t->n;
	uint64_t m[BENCH_MAX_SIZE / 8] = { 0 }, r[BENCH_MAX_SIZE / 8];
	uint64_t *samples = t->samples, errors = 0;
	struct xend *ap = t->ap, *bc = t->bc;
	size_t i, done = 0;
	struct spin s;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		uint64_t t0, t1;

		m[0] = i;
		t0 = ticks();
		while (!v_send(ap, m, 1, f))
			if (!spin_ok(&s))
				goto out;
		while (!v_recv(bc, r, 1, f))
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

static inline __attribute__((always_inline)) void xrt_pong(struct xrt *t,
							   const int f)
{
	const size_t total = t->warm + t->n;
	struct xend *ac = t->ac, *bp = t->bp;
	uint64_t m[BENCH_MAX_SIZE / 8];
	struct spin s;
	size_t i;

	if (!gate_pass(&t->gate))
		return;
	spin_init(&s, t->deadline);
	for (i = 0; i < total; i++) {
		while (!v_recv(ac, m, 1, f))
			if (!spin_ok(&s))
				return;
		while (!v_send(bp, m, 1, f))
			if (!spin_ok(&s))
				return;
	}
}

static int xrt_run(size_t n, uint64_t deadline, struct lat *out, int f,
		   void (*p)(void *), void (*q)(void *))
{
	struct xrt *t = bench_zalloc(sizeof(*t));
	struct xchan a, b;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!t)
		return -1;
	if (xchan_open(&a, 8, f)) {
		free(t);
		return -1;
	}
	if (xchan_open(&b, 8, f)) {
		xchan_close(&a);
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
		if (!run_pair(p, q, t) && t->done && !t->errors) {
			lat_from_ticks(out, t->samples, t->done);
			ret = 0;
		}
	}
	free(t->samples);
	xchan_close(&a);
	xchan_close(&b);
	free(t);
	return ret;
}

/* One set of entry points per variant. */
#define X_VARIANT(name, f)						\
static void name##_tp_p(void *t) { xtp_prod(t, f); }			\
static void name##_tp_c(void *t) { xtp_cons(t, f); }			\
static void name##_rt_p(void *t) { xrt_ping(t, f); }			\
static void name##_rt_q(void *t) { xrt_pong(t, f); }			\
static int name##_tp(const struct tp_case *tc, struct tp_result *res)	\
{									\
	return xtp_run(tc, res, f, name##_tp_p, name##_tp_c);		\
}									\
static int name##_rt(size_t n, uint64_t deadline, struct lat *out)	\
{									\
	return xrt_run(n, deadline, out, f, name##_rt_p, name##_rt_q);	\
}

X_VARIANT(x_replica, 1 | 2)
X_VARIANT(x_noctr, 1)
X_VARIANT(x_lastfirst, 1 | 2 | 4)
X_VARIANT(x_lean, 1 | 4)
X_VARIANT(x_idx, 2)
X_VARIANT(x_idx_packed, 2 | 8)
X_VARIANT(x_tuned, 1 | 2 | 16)
X_VARIANT(x_fence, 1 | 2 | 32)

const struct exp_variant exp_variants[] = {
	{ "x-replica", "vanity.h's choices, re-implemented (sanity check)",
	  x_replica_tp, x_replica_rt },
	{ "x-noctr", "replica without the per-call shared-header counters",
	  x_noctr_tp, x_noctr_rt },
	{ "x-lastfirst", "replica, consumer checks the last slot of the "
	  "burst first", x_lastfirst_tp, x_lastfirst_rt },
	{ "x-lean", "no counters + last-slot-first", x_lean_tp, x_lean_rt },
	{ "x-idx", "publish by head index (release), per-slot seq dropped, "
	  "stride kept", x_idx_tp, x_idx_rt },
	{ "x-idx-packed", "x-idx with stride = slot size (8 B, 64 B)",
	  x_idx_packed_tp, x_idx_packed_rt },
	{ "x-tuned", "vanity.h's protocol, layout and counters, coded for "
	  "the compiler (see exp_chan.c)", x_tuned_tp, x_tuned_rt },
	{ "x-fence", "replica + a full fence before each *_waiting load "
	  "(what sleeping without the barrier IPI would cost the fast path)",
	  x_fence_tp, x_fence_rt },
};
const size_t exp_variant_count = sizeof(exp_variants) /
				 sizeof(exp_variants[0]);
