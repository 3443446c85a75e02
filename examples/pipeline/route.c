// SPDX-License-Identifier: GPL-2.0
/*
 * route: longest-prefix match of each frame's destination over a DIR-24-8
 * table loaded from a prefix file ("a.b.c.d/len nexthop" per line) or,
 * without one, built from the table mkroutes writes by default (routes.h),
 * TTL decrement with an incremental checksum update (RFC 1624), MAC
 * rewrite per next hop, out on channel "route2sink" or, when the manifest
 * has route2sink0.., on output (next hop % outputs). Unroutable frames and
 * frames whose TTL would expire are dropped and counted.
 *
 * Restart safety: a batch is recorded in the shard's private region
 * (which survives the process) before it is published: the input and
 * output positions before and after, and the counters after. A route
 * killed anywhere and started again rolls an interrupted batch forward
 * (its output slots are already written in the ring; only the commit or
 * the release may be missing), so every frame goes downstream exactly
 * once and the counters carry over.
 *
 * route [--routes FILE] [--burst N] [--in NAME] [--check N]
 */
#include <getopt.h>

#include "stage.h"
#include "routes.h"

#define MAX_OUT 16
#define MAX_NH LPM_MAX_NH

/* ------------------------------------------------------------ DIR-24-8 */
static struct lpm_prefix *loaded;
static size_t nloaded;

/*
 * The table (lpm.h) from the prefix file at @path, or mkroutes' default
 * table when @path is NULL, so the pipeline runs with no file to make
 * first; says why not.
 */
static int lpm_load(struct lpm *l, const char *path)
{
	struct lpm_prefix *p;
	size_t np;
	int lineno = 0, ret;

	if (path) {
		ret = lpm_read(path, &p, &np, &lineno);
	} else {
		path = "default routes";
		ret = routes_default(&p, &np);
	}
	if (ret && lineno) {
		fprintf(stderr, "route: %s:%d: want 'a.b.c.d/len nexthop' (nexthop 1..%u)\n",
			path, lineno, MAX_NH);
		return -1;
	}
	if (ret) {
		errno = -ret;
		fprintf(stderr, "route: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = lpm_build(l, p, np);
	if (ret) {
		fprintf(stderr, "route: %s: %s\n", path, strerror(-ret));
		free(p);
		return -1;
	}
	loaded = p;
	nloaded = np;
	return 0;
}

/* Compare the table with a linear longest match on @n random addresses. */
static int lpm_selfcheck(const struct lpm *l, unsigned long n)
{
	uint64_t x = 0x853c49e6748fea9bULL;
	unsigned long i, bad = 0;
	size_t k;

	for (i = 0; i < n; i++) {
		uint32_t a, best = 0;
		int blen = -1;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = (uint32_t)x;
		if (i & 1 && nloaded)	/* half of them inside a stored prefix */
			a = loaded[(x >> 32) % nloaded].addr | (a & 0xff);
		for (k = 0; k < nloaded; k++) {
			uint32_t mask = loaded[k].len ? ~0u << (32 - loaded[k].len) : 0;

			if ((a & mask) == loaded[k].addr && (int)loaded[k].len >= blen) {
				blen = loaded[k].len;
				best = loaded[k].nh;
			}
		}
		if (lpm_lookup(l, a) != best)
			bad++;
	}
	printf("{\"lpm_check\":%lu,\"mismatches\":%lu,\"routes\":%u,\"tbl8_groups\":%u}\n",
	       n, bad, l->nroutes, l->ngroups);
	return bad ? 1 : 0;
}

/* ------------------------------------------------------------ state */
struct ctrs {
	uint64_t rx, tx, unroutable, ttl, eos;
	uint64_t out_tx[MAX_OUT];
};

#define ROUTE_MAGIC 0x524f555445763031ULL	/* "ROUTEv01" */

/* In the private region: survives a killed process. */
struct route_state {
	uint64_t magic;
	uint32_t nout;
	uint32_t valid;			/* a batch is being published */
	uint32_t in_before, in_after;
	uint32_t out_before[MAX_OUT], out_after[MAX_OUT];
	struct ctrs cur, next;
	uint64_t starts, rolled_forward;
	uint64_t rolled_commits, rolled_releases;	/* what was missing */
};

#define fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "routes", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "in", required_argument, NULL, 'i' },
		{ "check", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *inname = "parse2route", *routes = NULL;
	struct vanity_channel *in, *out[MAX_OUT];
	struct route_state local, *st = &local;
	unsigned int burst = 32, nout = 0, o;
	struct lpm lpm = { 0 };
	uint64_t t0 = 0, t1, tl;
	struct vanity *v;
	size_t memlen;
	void *mem;
	unsigned long check = 0;
	int c, ret, eos = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': routes = optarg; break;
		case 'b': burst = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'i': inname = optarg; break;
		case 'k': check = strtoul(optarg, NULL, 0); break;
		case 'h':
			printf("usage: route [--routes FILE] [--burst N] [--in NAME] [--check N]\n"
			       "without --routes: the %u routes mkroutes writes by default\n",
			       ROUTES_COUNT + 1);
			return 0;
		default:
			fprintf(stderr, "usage: route [--routes FILE] [--burst N] [--in NAME] [--check N]\n");
			return 1;
		}
	}
	if (optind != argc || !burst) {
		fprintf(stderr, "usage: route [--routes FILE] [--burst N] [--in NAME] [--check N]\n");
		return 1;
	}
	tl = pkt_now_ns();
	if (lpm_load(&lpm, routes))
		return 1;
	tl = pkt_now_ns() - tl;
	if (check)
		return lpm_selfcheck(&lpm, check);
	free(loaded);
	pkt_signals();
	v = pkt_attach("route");
	in = pkt_channel(v, "route", inname);
	vanity_channel_set_spin(in, PKT_SPIN_NS);
	ret = vanity_channel_get(v, "route2sink", &out[0]);
	if (!ret) {
		nout = 1;
	} else {
		char name[32];

		for (nout = 0; nout < MAX_OUT; nout++) {
			snprintf(name, sizeof(name), "route2sink%u", nout);
			if (vanity_channel_get(v, name, &out[nout]))
				break;
		}
	}
	if (!nout) {
		vanity_log(v, VANITY_LOG_ERR, "route: no channel route2sink or route2sink0");
		return 1;
	}
	for (o = 0; o < nout; o++) {
		if (out[o]->slot_size < in->slot_size) {
			vanity_log(v, VANITY_LOG_ERR, "route: %s: slots smaller than %s's",
				   out[o]->name, in->name);
			return 1;
		}
		vanity_channel_set_spin(out[o], PKT_SPIN_NS);
	}

	/* The private region keeps the batch record and the counters. */
	memset(&local, 0, sizeof(local));
	if (!vanity_memory(v, &mem, &memlen) && mem && memlen >= sizeof(*st)) {
		st = mem;
		if (st->magic != ROUTE_MAGIC || st->nout != nout) {
			memset(st, 0, sizeof(*st));
			st->nout = nout;
			fence();
			st->magic = ROUTE_MAGIC;
		}
	} else {
		vanity_log(v, VANITY_LOG_WARN, "route: no private region: no restart safety");
	}
	st->starts++;
	if (st->valid) {
		/* Roll the interrupted batch forward. */
		for (o = 0; o < nout; o++) {
			uint32_t m = st->out_after[o] - st->out_before[o];

			if (out[o]->pos == st->out_before[o] && m) {
				if (vanity_reserve(out[o], m) != m) {
					vanity_log(v, VANITY_LOG_ERR,
						   "route: %s: recorded slots gone",
						   out[o]->name);
					return 1;
				}
				vanity_commit(out[o], m);
				st->rolled_commits += m;
			}
		}
		if (in->pos == st->in_before && st->in_after != st->in_before) {
			vanity_release(in, st->in_after - st->in_before);
			st->rolled_releases += st->in_after - st->in_before;
		}
		fence();
		st->cur = st->next;
		fence();
		st->valid = 0;
		st->rolled_forward++;
	}
	if (st->cur.eos)
		eos = 1;	/* died after forwarding the end: nothing left */

	while (!eos && !pkt_stop) {
		unsigned int n = vanity_peek(in, burst), i, k[MAX_OUT], j[MAX_OUT];
		struct ctrs nx;
		int full = -1;

		vanity_loop_tick();
		if (!n) {
			vanity_loop_idle();
			if (pkt_wait(in, 0))
				break;
			continue;
		}
		if (!t0)
			t0 = pkt_now_ns();
		nx = st->cur;
		for (o = 0; o < nout; o++) {
			k[o] = vanity_reserve(out[o], n);
			j[o] = 0;
		}
		for (i = 0; i < n; i++) {
			const struct pkt_slot *s = vanity_peek_slot(in, i);
			enum pkt_route r;
			uint16_t nh;

			if (pkt_is_eos(s)) {
				for (o = 0; o < nout; o++)
					if (j[o] == k[o])
						full = (int)o;
				if (full >= 0)
					break;
				for (o = 0; o < nout; o++)
					memcpy(vanity_slot(out[o], j[o]++), s,
					       PKT_SLOT_HDR + s->len);
				nx.eos = 1;
				eos = 1;
				i++;
				break;
			}
			r = pkt_route_lookup(&lpm, s, &nh);
			if (r == PKT_ROUTE_UNROUTABLE) {
				nx.unroutable++;
				nx.rx++;
				continue;
			}
			if (r == PKT_ROUTE_TTL) {
				nx.ttl++;
				nx.rx++;
				continue;
			}
			o = nh % nout;
			if (j[o] == k[o]) {
				full = (int)o;
				break;
			}
			pkt_route_out(vanity_slot(out[o], j[o]++), s, nh, o);
			nx.rx++;
			nx.tx++;
			nx.out_tx[o]++;
		}
		if (!i) {
			/* The first frame's output is full: wait for room. */
			vanity_loop_idle();
			if (full >= 0 && pkt_wait(out[full], 1))
				break;
			continue;
		}
		/* Record the batch, then publish it: commits, release. */
		st->next = nx;
		st->in_before = in->pos;
		st->in_after = in->pos + i;
		for (o = 0; o < nout; o++) {
			st->out_before[o] = out[o]->pos;
			st->out_after[o] = out[o]->pos + j[o];
		}
		fence();
		st->valid = 1;
		fence();
		for (o = 0; o < nout; o++)
			vanity_commit(out[o], j[o]);
		vanity_release(in, i);
		fence();
		st->cur = nx;
		fence();
		st->valid = 0;
		fence();
	}
	t1 = pkt_now_ns();

	{
		/* The final stats: one JSON record (run embeds it in its own line). */
		char outs[MAX_OUT * 24];
		size_t n = 0;

		outs[0] = '\0';
		for (o = 0; o < nout && n < sizeof(outs); o++)
			n += (size_t)snprintf(outs + n, sizeof(outs) - n, "%s%" PRIu64,
					      o ? "," : "", st->cur.out_tx[o]);
		vanity_log(v, VANITY_LOG_INFO,
			   "{\"shard\":\"route\",\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
			   ",\"dropped\":%" PRIu64 ",\"drops\":{\"unroutable\":%" PRIu64
			   ",\"ttl\":%" PRIu64 "},\"outputs\":%u,\"out_tx\":[%s]"
			   ",\"eos\":%d,\"routes\":%u,\"tbl8_groups\":%u,\"load_ms\":%.1f"
			   ",\"starts\":%" PRIu64 ",\"rolled_forward\":%" PRIu64
			   ",\"rolled_commits\":%" PRIu64 ",\"rolled_releases\":%" PRIu64
			   ",\"mpps\":%.3f}",
			   st->cur.rx, st->cur.tx, st->cur.unroutable + st->cur.ttl,
			   st->cur.unroutable, st->cur.ttl, nout, outs,
			   eos, lpm.nroutes, lpm.ngroups, (double)tl / 1e6, st->starts,
			   st->rolled_forward, st->rolled_commits, st->rolled_releases,
			   pkt_mpps(st->cur.rx, t0 ? t1 - t0 : 0));
	}
	/* A clean end: the next run on this system starts afresh. */
	if (eos && st != &local) {
		st->magic = 0;
		fence();
	}
	vanity_detach(v);
	lpm_free(&lpm);
	return 0;
}
