// SPDX-License-Identifier: GPL-2.0
/*
 * client: a storage service client shard. Owns the client side of the
 * protocol in proto.h: its request ring NAME_req, its completion ring
 * NAME_cpl and its buffer arena NAME_data. Asks the capacity, optionally
 * fills a block range with verifiable patterns (pattern.h), runs a random
 * read/write phase at a queue depth checking every block it reads against
 * the generation it last wrote there, optionally re-reads the whole range,
 * reads blocks it never wrote expecting zeros, and sends malformed
 * requests expecting set errors; then FLUSH, CLOSE and one JSON line.
 *
 * client [--name NAME] [--first LBA] [--blocks N] [--qd N] [--nblocks K]
 *        [--duration S | --ops N] [--read-pct P] [--fill] [--verify]
 *        [--zeros N] [--malformed] [--seed S] [--timeout S] [--allow-errors]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vanity.h>

#include "proto.h"
#include "pattern.h"
#include "lat.h"

_Static_assert(STOR_PAT_BLOCK == STOR_BLOCK, "pattern block is the service's");

/*
 * The malformed requests of --malformed, one at a time, and the status
 * the storage shard must answer each with. Every entry breaks exactly
 * one rule, so the order the storage checks them in does not matter as
 * long as it checks: op known (else -EOPNOTSUPP); flags and resv 0; for
 * READ/WRITE nblocks 1..STOR_MAX_BLOCKS and buf + nblocks within the
 * arena (else -EINVAL); lba + nblocks within the capacity, without
 * overflow (else -ERANGE); for FLUSH/INFO/CLOSE nblocks 0 (else -EINVAL).
 * Keep in step with the storage shard.
 */
enum mal_lba { L_FIRST, L_ZERO, L_CAP, L_CAP_1, L_MAX };
enum mal_buf { B_ZERO, B_ARENA, B_ARENA_1, B_U32MAX };

static const struct mal_req {
	const char *what;
	uint8_t op;
	uint8_t lba;			/* enum mal_lba */
	uint8_t buf;			/* enum mal_buf */
	uint8_t flags;
	uint16_t nblocks;
	uint64_t resv;
	int32_t status;
} mal_table[] = {
	{ "READ lba=capacity", STOR_OP_READ, L_CAP, B_ZERO, 0, 1, 0, -ERANGE },
	{ "READ lba=capacity-1 nblocks=2", STOR_OP_READ, L_CAP_1, B_ZERO, 0, 2, 0, -ERANGE },
	{ "READ lba=UINT64_MAX", STOR_OP_READ, L_MAX, B_ZERO, 0, 1, 0, -ERANGE },
	{ "READ nblocks=0", STOR_OP_READ, L_FIRST, B_ZERO, 0, 0, 0, -EINVAL },
	{ "READ nblocks=MAX+1", STOR_OP_READ, L_FIRST, B_ZERO, 0, STOR_MAX_BLOCKS + 1, 0, -EINVAL },
	{ "WRITE buf=arena", STOR_OP_WRITE, L_FIRST, B_ARENA, 0, 1, 0, -EINVAL },
	{ "WRITE buf=arena-1 nblocks=2", STOR_OP_WRITE, L_FIRST, B_ARENA_1, 0, 2, 0, -EINVAL },
	{ "READ buf=UINT32_MAX", STOR_OP_READ, L_FIRST, B_U32MAX, 0, 1, 0, -EINVAL },
	{ "op 0", 0, L_FIRST, B_ZERO, 0, 1, 0, -EOPNOTSUPP },
	{ "op 200", 200, L_FIRST, B_ZERO, 0, 1, 0, -EOPNOTSUPP },
	{ "READ flags=1", STOR_OP_READ, L_FIRST, B_ZERO, 1, 1, 0, -EINVAL },
	{ "READ resv=1", STOR_OP_READ, L_FIRST, B_ZERO, 0, 1, 1, -EINVAL },
	{ "FLUSH nblocks=1", STOR_OP_FLUSH, L_ZERO, B_ZERO, 0, 1, 0, -EINVAL },
};

#define NSEC		1000000000ULL
#define WAIT_NS		100000000LL	/* one wait: 100 ms */
#define BURST		64		/* requests or completions per turn */
#define SLOT_BITS	16		/* tag: slot | seq << SLOT_BITS */
#define SEQ_MASK	((1ULL << (64 - SLOT_BITS)) - 1)
#define QD_MAX		((1u << SLOT_BITS) - 1)
#define GEN_UNKNOWN	UINT64_MAX	/* a write failed: contents unknown */
#define LOG_FIRST	8		/* log this many of each kind of fault */
#define POISON		0x5a		/* read buffers before the read */

enum phase_kind { PH_ONE, PH_FILL, PH_RAND, PH_VERIFY, PH_ZEROS };

/* One phase: what pump() issues until it is done and all has completed. */
struct phase {
	enum phase_kind kind;
	bool done;			/* nothing more to issue */
	uint64_t next, end;		/* FILL/VERIFY/ZEROS: next lba, end */
	uint64_t ops, issued;		/* RAND: requests to issue (0: no limit) */
	uint64_t deadline;		/* RAND: stop issuing then (0: none) */
	unsigned int read_pct;		/* RAND */
	struct stor_req one;		/* ONE: the request */
	int32_t status;			/* ONE: its completion */
	uint64_t value;
};

/* An in-flight slot: owns arena buffers [i * k, i * k + k). */
struct slot {
	uint64_t seq;			/* of its current (or last) request */
	uint64_t lba;
	uint64_t t0;			/* committed, ns */
	uint16_t nblocks;
	uint8_t op;
	uint8_t kind;			/* enum phase_kind */
	bool busy;
};

struct client {
	struct vanity *v;
	const char *name;
	struct vanity_channel *req, *cpl, *data;
	uint8_t *arena;
	unsigned int nbufs;
	unsigned int qd, k;
	uint64_t cap, first, blocks;
	uint64_t *gen;			/* per block of the range */
	uint8_t *busy;			/* per block of the range: in flight */
	struct slot *slots;
	unsigned int *free_slots, nfree, outstanding;
	uint64_t rng;
	uint64_t timeout_ns, last_progress;
	bool space_blocked;
	struct lat_hist lat_all, lat_rand;
	uint64_t writes, reads, verified, zero_reads, mismatches, errors;
	uint64_t refused, refused_wrong, dup_cpl, rand_ops, all_ops;
	unsigned int logged_mismatch, logged_error, logged_dup;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Uniform in [0, n). */
static uint64_t rng_below(uint64_t *x, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(x) * n) >> 64);
}

static const char *op_name(unsigned int op)
{
	switch (op) {
	case STOR_OP_READ: return "READ";
	case STOR_OP_WRITE: return "WRITE";
	case STOR_OP_FLUSH: return "FLUSH";
	case STOR_OP_INFO: return "INFO";
	case STOR_OP_CLOSE: return "CLOSE";
	default: return "op?";
	}
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fatal(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vanity_vlog(c->v, VANITY_LOG_ERR, fmt, ap);
	va_end(ap);
	if (c->v)
		vanity_detach(c->v);
	exit(1);
}

static uint8_t *slot_buf(struct client *c, unsigned int s, unsigned int j)
{
	return c->arena + ((size_t)s * c->k + j) * STOR_BLOCK;
}

/* ------------------------------------------------------------------ */
/* Verification.                                                       */

static void describe(const void *buf, uint64_t block, int res, uint64_t got,
		     char *out, size_t len)
{
	struct stor_pat_hdr h;

	memcpy(&h, buf, sizeof(h));
	if (res == STOR_PAT_ZERO)
		snprintf(out, len, "zeros");
	else if (res == STOR_PAT_OK)
		snprintf(out, len, "gen %" PRIu64, got);
	else if (h.magic != STOR_PAT_MAGIC)
		snprintf(out, len, "garbage (first word %#" PRIx64 ")", h.magic);
	else if (h.block != block)
		snprintf(out, len, "block %" PRIu64 " gen %" PRIu64, h.block, h.gen);
	else
		snprintf(out, len, "gen %" PRIu64 " with a bad payload", h.gen);
}

/* Block @b read into @buf; @want: generation (0: zeros). */
static bool check_block(struct client *c, uint64_t b, const void *buf,
			uint64_t want, const char *phase)
{
	uint64_t got = 0;
	int res = stor_pattern_check(buf, b, &got);
	char what[96];

	if (want ? res == STOR_PAT_OK && got == want : res == STOR_PAT_ZERO)
		return true;
	c->mismatches++;
	if (c->logged_mismatch++ < LOG_FIRST) {
		describe(buf, b, res, got, what, sizeof(what));
		if (want)
			vanity_log(c->v, VANITY_LOG_ERR,
				   "client: %s: block %" PRIu64 ": expected gen %" PRIu64
				   ", found %s", phase, b, want, what);
		else
			vanity_log(c->v, VANITY_LOG_ERR,
				   "client: %s: block %" PRIu64 ": expected zeros, found %s",
				   phase, b, what);
	}
	return false;
}

static const char *phase_name(unsigned int kind)
{
	switch (kind) {
	case PH_FILL: return "fill";
	case PH_RAND: return "random";
	case PH_VERIFY: return "verify";
	case PH_ZEROS: return "zeros";
	default: return "request";
	}
}

/* ------------------------------------------------------------------ */
/* Issuing.                                                            */

/* Whether [start, start + k) of the range may be chosen now. */
static bool range_free(struct client *c, uint64_t idx)
{
	unsigned int j;

	for (j = 0; j < c->k; j++)
		if (c->busy[idx + j] || c->gen[idx + j] == GEN_UNKNOWN)
			return false;
	return true;
}

/* A start for the random phase (index in the range), or -1 for none now. */
static int64_t pick(struct client *c, struct phase *ph)
{
	uint64_t span = c->blocks - c->k + 1, idx;
	unsigned int tries;

	for (tries = 0; tries < 64; tries++) {
		idx = rng_below(&c->rng, span);
		if (range_free(c, idx))
			return (int64_t)idx;
	}
	if (c->outstanding)
		return -1;		/* busy blocks free up as they complete */
	/* Nothing in flight: only unknown blocks are in the way. Any left? */
	for (idx = 0; idx < span; idx++)
		if (range_free(c, idx))
			return (int64_t)idx;
	vanity_log(c->v, VANITY_LOG_WARN,
		   "client: no %u-block range left without a failed write: random phase ends",
		   c->k);
	ph->done = true;
	return -1;
}

/* Build the next request of @ph on slot @s into @r: false if none now. */
static bool build(struct client *c, struct phase *ph, unsigned int s,
		  struct stor_req *r)
{
	struct slot *sl = &c->slots[s];
	uint64_t lba, idx;
	unsigned int n, j;
	uint8_t op;

	memset(r, 0, sizeof(*r));
	switch (ph->kind) {
	case PH_ONE:
		*r = ph->one;
		ph->done = true;
		sl->lba = r->lba;
		sl->nblocks = r->nblocks;
		sl->op = r->op;
		goto tag;
	case PH_RAND: {
		int64_t i;

		if (ph->ops && ph->issued >= ph->ops) {
			ph->done = true;
			return false;
		}
		if (ph->deadline && now_ns() >= ph->deadline) {
			ph->done = true;
			return false;
		}
		i = pick(c, ph);
		if (i < 0)
			return false;
		ph->issued++;
		lba = c->first + (uint64_t)i;
		n = c->k;
		op = rng_below(&c->rng, 100) < ph->read_pct ? STOR_OP_READ :
							      STOR_OP_WRITE;
		break;
	}
	default:
		if (ph->next >= ph->end) {
			ph->done = true;
			return false;
		}
		lba = ph->next;
		n = ph->end - lba < c->k ? (unsigned int)(ph->end - lba) : c->k;
		ph->next += n;
		op = ph->kind == PH_FILL ? STOR_OP_WRITE : STOR_OP_READ;
		break;
	}

	for (j = 0; j < n; j++) {
		uint8_t *buf = slot_buf(c, s, j);

		if (ph->kind == PH_ZEROS) {
			memset(buf, POISON, STOR_BLOCK);
			continue;
		}
		idx = lba - c->first + j;
		c->busy[idx] = 1;
		if (op == STOR_OP_WRITE)
			stor_pattern_fill(buf, lba + j, c->gen[idx] + 1);
		else
			memset(buf, POISON, STOR_BLOCK);
	}
	r->lba = lba;
	r->buf = s * c->k;
	r->nblocks = (uint16_t)n;
	r->op = op;
	sl->lba = lba;
	sl->nblocks = (uint16_t)n;
	sl->op = op;
tag:
	sl->seq = (sl->seq + 1) & SEQ_MASK;
	sl->kind = ph->kind;
	sl->busy = true;
	r->tag = s | (sl->seq << SLOT_BITS);
	return true;
}

/* Issue what @ph has, as far as free slots and ring room go. */
static unsigned int submit(struct client *c, struct phase *ph)
{
	unsigned int want = c->nfree < BURST ? c->nfree : BURST, room, i, s;
	unsigned int used[BURST];
	struct stor_req r;
	uint64_t t;

	c->space_blocked = false;
	if (!want)
		return 0;
	room = vanity_reserve(c->req, want);
	if (!room) {
		c->space_blocked = true;
		return 0;
	}
	for (i = 0; i < room && !ph->done; i++) {
		s = c->free_slots[c->nfree - 1];
		if (!build(c, ph, s, &r))
			break;
		memcpy(vanity_slot(c->req, i), &r, sizeof(r));
		used[i] = s;
		c->nfree--;
		c->outstanding++;	/* pick() counts these as in flight */
	}
	if (!i)
		return 0;
	t = now_ns();
	for (s = 0; s < i; s++)
		c->slots[used[s]].t0 = t;
	vanity_commit(c->req, i);
	return i;
}

/* ------------------------------------------------------------------ */
/* Completing.                                                         */

static void data_done(struct client *c, struct slot *sl, unsigned int s,
		      int32_t status, uint64_t t)
{
	const char *phase = phase_name(sl->kind);
	uint64_t idx, b;
	unsigned int j;

	lat_add(&c->lat_all, t - sl->t0);
	c->all_ops++;
	if (sl->kind == PH_RAND) {
		lat_add(&c->lat_rand, t - sl->t0);
		c->rand_ops++;
	}
	if (sl->op == STOR_OP_WRITE)
		c->writes++;
	else
		c->reads++;
	if (status) {
		c->errors++;
		if (c->logged_error++ < LOG_FIRST)
			vanity_log(c->v, VANITY_LOG_ERR,
				   "client: %s: %s lba %" PRIu64 " nblocks %u: status %d (%s)",
				   phase, op_name(sl->op), sl->lba, sl->nblocks,
				   status, strerror(status < 0 ? -status : status));
	}
	for (j = 0; j < sl->nblocks; j++) {
		b = sl->lba + j;
		if (sl->kind == PH_ZEROS) {
			if (!status && check_block(c, b, slot_buf(c, s, j), 0, phase))
				c->zero_reads++;
			continue;
		}
		idx = b - c->first;
		c->busy[idx] = 0;
		if (sl->op == STOR_OP_WRITE) {
			c->gen[idx] = status ? GEN_UNKNOWN : c->gen[idx] + 1;
		} else if (!status && c->gen[idx] != GEN_UNKNOWN) {
			if (check_block(c, b, slot_buf(c, s, j), c->gen[idx], phase))
				c->verified++;
		}
	}
}

static void complete(struct client *c, struct phase *ph,
		     const struct stor_cpl *cp, uint64_t t)
{
	unsigned int s = (unsigned int)(cp->tag & ((1u << SLOT_BITS) - 1));
	uint64_t seq = cp->tag >> SLOT_BITS;
	struct slot *sl = s < c->qd ? &c->slots[s] : NULL;

	if (!sl || !sl->busy || sl->seq != seq || !ph) {
		c->dup_cpl++;
		if (c->logged_dup++ < LOG_FIRST)
			vanity_log(c->v, VANITY_LOG_ERR,
				   "client: completion for no request in flight: tag %#" PRIx64
				   " status %d (slot %u%s)", cp->tag, cp->status, s,
				   !sl ? " out of range" :
				   !sl->busy ? " idle" : ", stale sequence");
		return;
	}
	sl->busy = false;
	c->free_slots[c->nfree++] = s;
	c->outstanding--;
	if (sl->kind == PH_ONE) {
		ph->status = cp->status;
		ph->value = cp->value;
		return;
	}
	data_done(c, sl, s, cp->status, t);
}

static unsigned int reap(struct client *c, struct phase *ph)
{
	struct stor_cpl cp[BURST];
	unsigned int n, i;
	uint64_t t;

	n = vanity_recv_burst(c->cpl, cp, BURST);
	if (!n)
		return 0;
	t = now_ns();
	for (i = 0; i < n; i++)
		complete(c, ph, &cp[i], t);
	return n;
}

/*
 * Run @ph to its end: issue, take completions, sleep when neither moves,
 * and give up (exit 1) when nothing moves for the timeout.
 */
static void pump(struct client *c, struct phase *ph)
{
	c->last_progress = now_ns();
	for (;;) {
		unsigned int moved = 0;
		uint64_t t;
		int ret;

		vanity_loop_tick();
		if (stop && ph->kind == PH_RAND)
			ph->done = true;
		if (!ph->done)
			moved += submit(c, ph);
		moved += reap(c, ph);
		if (ph->done && !c->outstanding)
			return;
		t = now_ns();
		if (moved) {
			c->last_progress = t;
			continue;
		}
		vanity_loop_idle();
		if (t - c->last_progress >= c->timeout_ns) {
			if (c->outstanding)
				fatal(c, "client: no completion for %.0f s with %u outstanding",
				      (double)(t - c->last_progress) / NSEC,
				      c->outstanding);
			fatal(c, "client: %s_req full for %.0f s", c->name,
			      (double)(t - c->last_progress) / NSEC);
		}
		if (c->outstanding)
			ret = vanity_wait_data(c->cpl, WAIT_NS);
		else if (c->space_blocked)
			ret = vanity_wait_space(c->req, WAIT_NS);
		else
			continue;	/* the random phase found nothing: pick again */
		if (ret == -ENODEV)
			fatal(c, "client: the system went down");
		if (ret && ret != -ETIME && ret != -EINTR)
			fatal(c, "client: waiting on %s: %s",
			      c->outstanding ? c->cpl->name : c->req->name,
			      strerror(-ret));
	}
}

/* Send one request and wait for its completion: its status. */
static int32_t one(struct client *c, const struct stor_req *r, uint64_t *value)
{
	struct phase ph = { .kind = PH_ONE, .one = *r };

	pump(c, &ph);
	if (value)
		*value = ph.value;
	return ph.status;
}

static void run_seq(struct client *c, enum phase_kind kind, uint64_t from,
		    uint64_t count)
{
	struct phase ph = { .kind = kind, .next = from, .end = from + count };

	pump(c, &ph);
}

static void run_malformed(struct client *c)
{
	unsigned int i;

	for (i = 0; i < sizeof(mal_table) / sizeof(mal_table[0]); i++) {
		const struct mal_req *m = &mal_table[i];
		struct stor_req r = {
			.op = m->op, .flags = m->flags, .nblocks = m->nblocks,
			.resv = m->resv,
		};
		int32_t st;

		switch (m->lba) {
		case L_FIRST: r.lba = c->first; break;
		case L_ZERO: r.lba = 0; break;
		case L_CAP: r.lba = c->cap; break;
		case L_CAP_1: r.lba = c->cap - 1; break;
		default: r.lba = UINT64_MAX; break;
		}
		switch (m->buf) {
		case B_ZERO: r.buf = 0; break;
		case B_ARENA: r.buf = c->nbufs; break;
		case B_ARENA_1: r.buf = c->nbufs - 1; break;
		default: r.buf = UINT32_MAX; break;
		}
		st = one(c, &r, NULL);
		if (st == m->status) {
			c->refused++;
			continue;
		}
		c->refused_wrong++;
		vanity_log(c->v, VANITY_LOG_ERR,
			   "client: malformed %s (lba %" PRIu64 " buf %u): status %d (%s), want %d (%s)",
			   m->what, r.lba, r.buf, st, st ? strerror(-st) : "accepted",
			   m->status, strerror(-m->status));
	}
}

/* ------------------------------------------------------------------ */
/* Set-up.                                                             */

static struct vanity_channel *channel(struct client *c, const char *suffix,
				      uint32_t role, uint32_t slot_size)
{
	struct vanity_channel *ch;
	char name[VANITY_NAME_MAX];
	int ret;

	if ((size_t)snprintf(name, sizeof(name), "%s_%s", c->name, suffix) >=
	    sizeof(name))
		fatal(c, "client: channel name %s_%s is too long", c->name, suffix);
	ret = vanity_channel_get(c->v, name, &ch);
	if (ret)
		fatal(c, "client: channel %s: %s", name, strerror(-ret));
	if (ch->role != role)
		fatal(c, "client: channel %s: this shard is its %s end, want the %s end",
		      name, ch->role == VANITY_ROLE_FROM ? "sending" : "receiving",
		      role == VANITY_ROLE_FROM ? "sending" : "receiving");
	if (ch->slot_size != slot_size)
		fatal(c, "client: channel %s has %u-byte slots, want %u", name,
		      ch->slot_size, slot_size);
	return ch;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: client [--name NAME] [--first LBA] [--blocks N] [--qd N] [--nblocks K]\n"
		"              [--duration S | --ops N] [--read-pct P] [--fill] [--verify]\n"
		"              [--zeros N] [--malformed] [--seed S] [--timeout S]\n"
		"              [--allow-errors]\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

static bool parse_secs(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end != s && !*end && *out >= 0 && *out < 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "first", required_argument, NULL, 'f' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "nblocks", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },
		{ "read-pct", required_argument, NULL, 'r' },
		{ "fill", no_argument, NULL, 'F' },
		{ "verify", no_argument, NULL, 'V' },
		{ "zeros", required_argument, NULL, 'z' },
		{ "malformed", no_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "allow-errors", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t first = 0, blocks = 0, qd = 32, k = 1, ops = 0, read_pct = 50;
	uint64_t zeros = 0, seed = 1, x, t0, t1, tr0 = 0, tr1 = 0, ops_n;
	double duration = 0, timeout = 60, secs;
	bool fill = false, verify = false, malformed = false, allow_errors = false;
	bool rand_phase, have_blocks = false;
	const char *name = NULL;
	const struct lat_hist *lat;
	struct stor_req r;
	struct sigaction sa;
	static struct client cl;
	struct client *c = &cl;
	unsigned int cap_qd, i;
	int32_t st;
	int opt, li = 0, ret;

	while ((opt = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'N': name = optarg; ok = *optarg; break;
		case 'f': ok = parse_u64(optarg, &first); break;
		case 'b': ok = parse_u64(optarg, &blocks) && blocks; have_blocks = true; break;
		case 'q': ok = parse_u64(optarg, &qd) && qd && qd <= QD_MAX; break;
		case 'k': ok = parse_u64(optarg, &k) && k && k <= STOR_MAX_BLOCKS; break;
		case 'd': ok = parse_secs(optarg, &duration); break;
		case 'o': ok = parse_u64(optarg, &ops); break;
		case 'r': ok = parse_u64(optarg, &read_pct) && read_pct <= 100; break;
		case 'F': fill = true; break;
		case 'V': verify = true; break;
		case 'z': ok = parse_u64(optarg, &zeros); break;
		case 'M': malformed = true; break;
		case 's': ok = parse_u64(optarg, &seed); break;
		case 't': ok = parse_secs(optarg, &timeout) && timeout > 0; break;
		case 'E': allow_errors = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!ok) {
			fprintf(stderr, "client: bad value for --%s: %s\n",
				opts[li].name, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (duration > 0 && ops)) {
		if (optind < argc)
			fprintf(stderr, "client: unexpected argument %s\n", argv[optind]);
		else
			fprintf(stderr, "client: --duration and --ops exclude each other\n");
		usage(stderr);
		return 2;
	}
	rand_phase = duration > 0 || ops;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	ret = vanity_attach(NULL, &c->v);
	if (ret) {
		vanity_log(NULL, VANITY_LOG_ERR, "client: attach $VANITY_SHARD: %s",
			   strerror(-ret));
		return 1;
	}
	c->name = name ? name : vanity_shard_name(c->v);
	c->req = channel(c, "req", VANITY_ROLE_FROM, STOR_SLOT);
	c->cpl = channel(c, "cpl", VANITY_ROLE_TO, STOR_SLOT);
	c->data = channel(c, "data", VANITY_ROLE_FROM, STOR_BLOCK);
	/*
	 * The arena: region + data_off, from the library's checked copy of
	 * the header (ch->data) rather than the live one the peer can write.
	 */
	c->arena = c->data->data;
	c->nbufs = stor_arena_bufs(c->data->size,
				   (size_t)(c->data->data - (uint8_t *)c->data->region));
	c->k = (unsigned int)k;
	if (c->nbufs < c->k)
		fatal(c, "client: %s has %u buffers, --nblocks %u needs at least that many",
		      c->data->name, c->nbufs, c->k);
	if (malformed && c->nbufs < 2)
		fatal(c, "client: --malformed needs 2 buffers, %s has %u",
		      c->data->name, c->nbufs);

	/* Queue depth: each slot owns k buffers and at most one ring slot. */
	cap_qd = c->nbufs / c->k;
	if (cap_qd > c->req->slots)
		cap_qd = c->req->slots;
	c->qd = qd < cap_qd ? (unsigned int)qd : cap_qd;
	if (c->qd < qd)
		vanity_log(c->v, VANITY_LOG_INFO,
			   "client: --qd %" PRIu64 " capped to %u (%u buffers / nblocks %u, %s has %u slots)",
			   qd, c->qd, c->nbufs, c->k, c->req->name, c->req->slots);
	c->slots = calloc(c->qd, sizeof(*c->slots));
	c->free_slots = calloc(c->qd, sizeof(*c->free_slots));
	if (!c->slots || !c->free_slots)
		fatal(c, "client: out of memory");
	/* Sequences start somewhere new each run: a stale tag stays stale. */
	x = now_ns() ^ ((uint64_t)getpid() << 32);
	for (i = 0; i < c->qd; i++) {
		c->slots[i].seq = rng_next(&x) & SEQ_MASK;
		c->free_slots[c->nfree++] = c->qd - 1 - i;
	}
	c->timeout_ns = (uint64_t)(timeout * NSEC);
	c->rng = stor_pattern_seed(seed, 0);
	lat_init(&c->lat_all);
	lat_init(&c->lat_rand);

	/* Completions left from an earlier run of this shard are not ours. */
	{
		struct stor_cpl junk[BURST];
		unsigned int n, left = 0;

		while ((n = vanity_recv_burst(c->cpl, junk, BURST)))
			left += n;
		if (left)
			vanity_log(c->v, VANITY_LOG_WARN,
				   "client: dropped %u completions left in %s",
				   left, c->cpl->name);
	}

	t0 = now_ns();
	memset(&r, 0, sizeof(r));
	r.op = STOR_OP_INFO;
	st = one(c, &r, &c->cap);
	if (st)
		fatal(c, "client: INFO: status %d (%s)", st, strerror(-st));
	if (!c->cap)
		fatal(c, "client: the device has no blocks");
	if (first >= c->cap)
		fatal(c, "client: --first %" PRIu64 " is past the capacity of %" PRIu64
		      " blocks", first, c->cap);
	if (!have_blocks)
		blocks = c->cap - first < 4096 ? c->cap - first : 4096;
	if (blocks > c->cap - first)
		fatal(c, "client: blocks %" PRIu64 "..%" PRIu64 " run past the capacity of %"
		      PRIu64 " blocks", first, first + blocks - 1, c->cap);
	if (zeros > c->cap - first - blocks)
		fatal(c, "client: --zeros %" PRIu64 " from block %" PRIu64
		      " runs past the capacity of %" PRIu64 " blocks",
		      zeros, first + blocks, c->cap);
	if (rand_phase && blocks < c->k)
		fatal(c, "client: %" PRIu64 " blocks is fewer than --nblocks %u",
		      blocks, c->k);
	c->first = first;
	c->blocks = blocks;
	c->gen = calloc(blocks, sizeof(*c->gen));
	c->busy = calloc(blocks, 1);
	if (!c->gen || !c->busy)
		fatal(c, "client: out of memory for %" PRIu64 " blocks", blocks);
	vanity_log(c->v, VANITY_LOG_INFO,
		   "client: %s: capacity %" PRIu64 " blocks, range %" PRIu64 "..%" PRIu64
		   ", qd %u, nblocks %u, %u buffers, seed %" PRIu64,
		   c->name, c->cap, first, first + blocks - 1, c->qd, c->k,
		   c->nbufs, seed);

	if (fill)
		run_seq(c, PH_FILL, first, blocks);
	if (rand_phase) {
		struct phase ph = {
			.kind = PH_RAND, .ops = ops, .read_pct = (unsigned int)read_pct,
		};

		tr0 = now_ns();
		if (duration > 0)
			ph.deadline = tr0 + (uint64_t)(duration * NSEC);
		pump(c, &ph);
		tr1 = now_ns();
		if (stop)
			vanity_log(c->v, VANITY_LOG_INFO,
				   "client: stopped by a signal after %" PRIu64 " requests",
				   ph.issued);
	}
	if (verify)
		run_seq(c, PH_VERIFY, first, blocks);
	if (zeros)
		run_seq(c, PH_ZEROS, first + blocks, zeros);
	if (malformed)
		run_malformed(c);
	t1 = now_ns();

	memset(&r, 0, sizeof(r));
	r.op = STOR_OP_FLUSH;
	st = one(c, &r, NULL);
	if (st) {
		c->errors++;
		vanity_log(c->v, VANITY_LOG_ERR, "client: FLUSH: status %d (%s)",
			   st, strerror(-st));
	}
	memset(&r, 0, sizeof(r));
	r.op = STOR_OP_CLOSE;
	st = one(c, &r, NULL);
	if (st) {
		c->errors++;
		vanity_log(c->v, VANITY_LOG_ERR, "client: CLOSE: status %d (%s)",
			   st, strerror(-st));
	}
	/* Anything after CLOSE answers nothing we sent. */
	reap(c, NULL);

	if (rand_phase) {
		lat = &c->lat_rand;
		secs = (double)(tr1 - tr0) / NSEC;
		ops_n = c->rand_ops;
	} else {
		lat = &c->lat_all;
		secs = (double)(t1 - t0) / NSEC;
		ops_n = c->all_ops;
	}
	vanity_log(c->v, VANITY_LOG_INFO,
		   "{\"shard\":\"%s\",\"capacity\":%" PRIu64 ",\"blocks\":%" PRIu64
		   ",\"qd\":%u,\"writes\":%" PRIu64 ",\"reads\":%" PRIu64
		   ",\"verified\":%" PRIu64 ",\"zero_reads\":%" PRIu64
		   ",\"mismatches\":%" PRIu64 ",\"errors\":%" PRIu64
		   ",\"refused\":%" PRIu64 ",\"refused_wrong\":%" PRIu64
		   ",\"dup_cpl\":%" PRIu64 ",\"seconds\":%.3f,\"iops\":%.0f"
		   ",\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}",
		   c->name, c->cap, c->blocks, c->qd, c->writes, c->reads,
		   c->verified, c->zero_reads, c->mismatches, c->errors,
		   c->refused, c->refused_wrong, c->dup_cpl, secs,
		   secs > 0 ? (double)ops_n / secs : 0.0,
		   (double)lat_pct(lat, 0.50) / 1000, (double)lat_pct(lat, 0.99) / 1000,
		   (double)lat_pct(lat, 0.999) / 1000, (double)lat_max(lat) / 1000);
	ret = c->mismatches || c->refused_wrong || c->dup_cpl ||
	      (c->errors && !allow_errors);
	free(c->gen);
	free(c->busy);
	free(c->slots);
	free(c->free_slots);
	vanity_detach(c->v);
	return ret;
}
