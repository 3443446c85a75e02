/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the four pipeline stages do to each frame, apart from moving it:
 * generate, validate, route, record. Header only, like pkt.h: the shard
 * programs and the threaded builds of tests/bench/pipeline include it, so
 * every build of the pipeline runs this same code; each caller moves the
 * frames over its own transport.
 */
#ifndef PIPELINE_STAGE_H
#define PIPELINE_STAGE_H

#include <sched.h>
#include "pkt.h"
#include "lpm.h"

/* ------------------------------------------------------------ gen */
#define PKT_GEN_SEED	0x9e3779b97f4a7c15ULL	/* xorshift64 state */

struct pkt_flow {
	uint32_t dst;			/* host order */
	uint32_t seq;			/* next sequence number */
};

struct pkt_gen {
	uint64_t rng;			/* xorshift64 state, never 0 */
	struct pkt_flow *fl;
	unsigned int flows, size, permille;
};

static inline uint64_t pkt_gen_rng(struct pkt_gen *g)
{
	uint64_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return g->rng = x;
}

/*
 * @flows flows (1..PKT_MAX_FLOWS) of @size-byte frames, @permille of them
 * malformed, from the xorshift64 state @seed (non-zero): 0 or -errno.
 */
static inline int pkt_gen_init(struct pkt_gen *g, unsigned int flows,
			       unsigned int size, unsigned int permille,
			       uint64_t seed)
{
	unsigned int i;

	if (!flows || flows > PKT_MAX_FLOWS || permille > 1000 || !seed ||
	    size < PKT_MIN_FRAME || size > UINT16_MAX)
		return -EINVAL;
	g->rng = seed;
	g->flows = flows;
	g->size = size;
	g->permille = permille;
	g->fl = calloc(flows, sizeof(*g->fl));
	if (!g->fl)
		return -ENOMEM;
	for (i = 0; i < flows; i++) {
		/* Varied destinations, none in 0/8 or multicast. */
		do
			g->fl[i].dst = (uint32_t)pkt_gen_rng(g);
		while ((g->fl[i].dst >> 24) == 0 || (g->fl[i].dst >> 28) >= 0xe);
	}
	return 0;
}

static inline void pkt_gen_free(struct pkt_gen *g)
{
	free(g->fl);
	g->fl = NULL;
}

/* An Ethernet/IPv4/UDP frame of @size bytes, with fault @bad injected. */
static inline void pkt_build(void *slot, unsigned int size, uint32_t dst,
			     uint32_t flow, uint32_t seq, enum pkt_bad bad)
{
	struct pkt_slot *s = slot;
	struct pkt_eth *eth = pkt_eth(slot);
	struct pkt_ip *ip = pkt_ip(slot);
	struct pkt_udp *udp = (struct pkt_udp *)(ip + 1);
	struct pkt_payload *pl = pkt_payload(slot);
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	s->len = (uint16_t)size;
	memcpy(eth->dst, dmac, 6);
	memcpy(eth->src, smac, 6);
	eth->type = htons(PKT_ETH_IP);
	ip->ver_ihl = 0x45;
	ip->tos = 0;
	ip->tot_len = htons((uint16_t)(size - PKT_ETH_LEN));
	ip->id = htons((uint16_t)seq);
	ip->frag = 0;
	ip->ttl = 64;
	ip->proto = 17;
	ip->csum = 0;
	ip->src = htonl(0x0a000000u | (flow & 0xffff));
	ip->dst = htonl(dst);
	udp->sport = htons((uint16_t)(1024 + (flow & 0x3fff)));
	udp->dport = htons(9);
	udp->len = htons((uint16_t)(size - PKT_ETH_LEN - PKT_IP_LEN));
	udp->csum = 0;
	pl->ts_ns = 0;
	pl->flow = flow;
	pl->seq = seq;
	memset(s->frame + PKT_HDRS + sizeof(*pl), 0,
	       size - PKT_HDRS - sizeof(*pl));
	switch (bad) {
	case PKT_BAD_LENGTH:
		ip->tot_len = htons((uint16_t)(size - PKT_ETH_LEN + 64));
		break;
	case PKT_BAD_TTL:
		ip->ttl = 0;
		break;
	default:
		break;
	}
	ip->csum = pkt_csum(ip, PKT_IP_LEN);
	if (bad == PKT_BAD_CHECKSUM)
		ip->csum ^= htons(0x5a5a);
}

/*
 * The next frame into @slot, stamped @now: a random flow, and a random
 * fault at the configured share. Returns the fault injected, PKT_OK for a
 * good frame (which takes its flow's next sequence number).
 */
static inline enum pkt_bad pkt_gen_frame(struct pkt_gen *g, void *slot,
					 uint64_t now)
{
	uint32_t f = (uint32_t)(pkt_gen_rng(g) % g->flows);
	enum pkt_bad bad = PKT_OK;

	if (g->permille && pkt_gen_rng(g) % 1000 < g->permille)
		bad = PKT_BAD_CHECKSUM + (enum pkt_bad)(pkt_gen_rng(g) % 3);
	pkt_build(slot, g->size, g->fl[f].dst, f, bad ? 0 : g->fl[f].seq, bad);
	pkt_payload(slot)->ts_ns = now;
	if (!bad)
		g->fl[f].seq++;
	return bad;
}

/* The end-of-stream frame; its seq says how many frames came before. */
static inline void pkt_gen_eos(void *slot, uint64_t tx)
{
	memset(slot, 0, PKT_SLOT_HDR + PKT_MIN_FRAME);
	((struct pkt_slot *)slot)->len = PKT_MIN_FRAME;
	pkt_eth(slot)->type = htons(PKT_ETH_EOS);
	pkt_payload(slot)->seq = (uint32_t)tx;
}

/*
 * A set rate, frames per second. The schedule is absolute, as a wire's
 * would be: a late wake-up or a stall (downstream full, gen descheduled)
 * is made up by the next bursts at full speed instead of lowering the
 * rate, and latency measured at this rate is not flattered by the source
 * waiting for the pipeline. Only a stall longer than PKT_PACE_SLACK_NS (a
 * stage restarting) is forgotten rather than made up by a long flood.
 */
#define PKT_PACE_SLACK_NS	(100 * 1000 * 1000ULL)
#define PKT_PACE_SPIN_NS	(200 * 1000ULL)

struct pkt_pace {
	uint64_t base;			/* when frame base_n was due */
	uint64_t base_n;
	double rate;
};

static inline void pkt_pace_init(struct pkt_pace *p, uint64_t t0, double rate)
{
	p->base = t0;
	p->base_n = 0;
	p->rate = rate;
}

/* Sleep until frame @sent (counted from the start) is due, or @until (0: none). */
static inline void pkt_pace(struct pkt_pace *p, uint64_t sent, uint64_t until)
{
	uint64_t due = p->base + (uint64_t)((double)(sent - p->base_n) * 1e9 / p->rate);
	uint64_t now = pkt_now_ns();
	struct timespec ts;

	if (until && due > until)
		due = until;
	if (now >= due) {
		if (now - due > PKT_PACE_SLACK_NS) {
			p->base = now;
			p->base_n = sent;
		}
		return;
	}
	/*
	 * Sleep through long gaps, but wait out the last PKT_PACE_SPIN_NS
	 * handing the CPU to whatever shares it (the next stage, often):
	 * a timer wake-up is late by the timer slack (50 us by default) and
	 * would send the next bursts in clumps.
	 */
	if (due - now > PKT_PACE_SPIN_NS) {
		uint64_t wake = due - PKT_PACE_SPIN_NS;

		ts.tv_sec = (time_t)(wake / 1000000000ULL);
		ts.tv_nsec = (long)(wake % 1000000000ULL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (pkt_now_ns() < due)
		sched_yield();
}

/* ------------------------------------------------------------ parse */
/* Why the frame in @slot (of a channel of @slot_size) is bad, or PKT_OK. */
static inline enum pkt_bad pkt_validate(const void *slot,
					unsigned int slot_size)
{
	const struct pkt_slot *s = slot;
	const struct pkt_eth *eth = (const struct pkt_eth *)s->frame;
	const struct pkt_ip *ip = (const struct pkt_ip *)(s->frame + PKT_ETH_LEN);
	unsigned int ihl, tot;

	if (s->len < PKT_ETH_LEN + PKT_IP_LEN || s->len > slot_size - PKT_SLOT_HDR)
		return PKT_BAD_LENGTH;
	if (eth->type != htons(PKT_ETH_IP))
		return PKT_BAD_ETHERTYPE;
	ihl = (ip->ver_ihl & 0xf) * 4u;
	if ((ip->ver_ihl >> 4) != 4 || ihl < PKT_IP_LEN ||
	    PKT_ETH_LEN + ihl > s->len)
		return PKT_BAD_VERSION;
	if (pkt_csum(ip, ihl) != 0)
		return PKT_BAD_CHECKSUM;
	tot = ntohs(ip->tot_len);
	if (tot < ihl || PKT_ETH_LEN + tot > s->len)
		return PKT_BAD_LENGTH;
	if (ip->ttl == 0)
		return PKT_BAD_TTL;
	return PKT_OK;
}

/* ------------------------------------------------------------ route */
enum pkt_route {
	PKT_ROUTE_OK = 0,
	PKT_ROUTE_UNROUTABLE,		/* no prefix matches */
	PKT_ROUTE_TTL,			/* TTL would expire here */
};

/* The next hop of a validated frame, or why route drops it. */
static inline enum pkt_route pkt_route_lookup(const struct lpm *l,
					      const void *slot, uint16_t *nh)
{
	const struct pkt_ip *ip = pkt_ip((void *)(uintptr_t)slot);

	*nh = lpm_lookup(l, ntohl(ip->dst));
	if (!*nh)
		return PKT_ROUTE_UNROUTABLE;
	if (ip->ttl <= 1)
		return PKT_ROUTE_TTL;
	return PKT_ROUTE_OK;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), 16-bit one's complement. */
static inline uint16_t pkt_csum_update(uint16_t hc, uint16_t m, uint16_t m2)
{
	uint32_t s = (uint16_t)~hc + (uint32_t)(uint16_t)~m + m2;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Frame @s forwarded into @d towards next hop @nh on output @out: TTL
 * decremented with an incremental checksum update, MACs rewritten.
 */
static inline void pkt_route_out(void *d, const void *s, uint16_t nh,
				 unsigned int out)
{
	struct pkt_eth *eth = pkt_eth(d);
	struct pkt_ip *ip = pkt_ip(d);
	const uint8_t dm[6] = { 0x02, 0x00, 0x00, 0x00,
				(uint8_t)(nh >> 8), (uint8_t)nh };
	const uint8_t sm[6] = { 0x02, 0x00, 0x00, 0xff, 0x00, (uint8_t)out };
	uint16_t w;

	memcpy(d, s, PKT_SLOT_HDR + ((const struct pkt_slot *)s)->len);
	w = (uint16_t)(ip->ttl << 8 | ip->proto);
	ip->ttl--;
	ip->csum = htons(pkt_csum_update(ntohs(ip->csum), w,
					 (uint16_t)(ip->ttl << 8 | ip->proto)));
	memcpy(eth->dst, dm, 6);
	memcpy(eth->src, sm, 6);
}

/* ------------------------------------------------------------ sink */
/* Log-linear histogram: 64 sub-buckets per power of two (< 1.6% error). */
#define PKT_HIST_SUB_BITS	6
#define PKT_HIST_SUB		(1u << PKT_HIST_SUB_BITS)
#define PKT_HIST_BUCKETS	(2 * PKT_HIST_SUB + (64 - PKT_HIST_SUB_BITS - 1) * PKT_HIST_SUB)

struct pkt_hist {
	uint64_t b[PKT_HIST_BUCKETS];
	uint64_t n, max;
};

static inline unsigned int pkt_hist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < 2 * PKT_HIST_SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v);	/* >= SUB_BITS + 1 */
	return 2 * PKT_HIST_SUB + (e - PKT_HIST_SUB_BITS - 1) * PKT_HIST_SUB +
	       (unsigned int)((v >> (e - PKT_HIST_SUB_BITS)) & (PKT_HIST_SUB - 1));
}

/* The highest value bucket @b holds. */
static inline uint64_t pkt_hist_top(unsigned int b)
{
	unsigned int e, sub;

	if (b < 2 * PKT_HIST_SUB)
		return b;
	e = (b - 2 * PKT_HIST_SUB) / PKT_HIST_SUB + PKT_HIST_SUB_BITS + 1;
	sub = (b - 2 * PKT_HIST_SUB) % PKT_HIST_SUB;
	return ((uint64_t)(PKT_HIST_SUB + sub) << (e - PKT_HIST_SUB_BITS)) +
	       ((1ULL << (e - PKT_HIST_SUB_BITS)) - 1);
}

static inline void pkt_hist_add(struct pkt_hist *h, uint64_t v)
{
	h->b[pkt_hist_bucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

/* The @p-th percentile (0..100), as the top of its bucket, at most max. */
static inline uint64_t pkt_hist_percentile(const struct pkt_hist *h, double p)
{
	uint64_t want = (uint64_t)((double)h->n * p / 100.0 + 0.5), acc = 0;
	unsigned int b;

	if (!h->n)
		return 0;
	if (want < 1)
		want = 1;
	for (b = 0; b < PKT_HIST_BUCKETS; b++) {
		acc += h->b[b];
		if (acc >= want) {
			uint64_t t = pkt_hist_top(b);

			return t < h->max ? t : h->max;
		}
	}
	return h->max;
}

struct pkt_sink {
	uint64_t rx, delivered, lost, dup, csum_err;
	uint64_t lat_from;		/* latency of frames stamped from then */
	uint32_t *expect;		/* per flow: next sequence number */
	struct pkt_hist lat;		/* one-way latency, ns */
};

/* A zeroed @k (it is large: static or heap) made ready: 0 or -ENOMEM. */
static inline int pkt_sink_init(struct pkt_sink *k)
{
	k->expect = calloc(PKT_MAX_FLOWS, sizeof(*k->expect));
	return k->expect ? 0 : -ENOMEM;
}

static inline void pkt_sink_free(struct pkt_sink *k)
{
	free(k->expect);
	k->expect = NULL;
}

/*
 * Record a frame (not the end of stream) that arrived at @now: its
 * checksum (still right after route's update), its one-way latency (if it
 * was stamped at or after lat_from: 0 takes all, a later time leaves out
 * a warm-up), and its flow's sequence: lost is a gap, dup a number at or
 * below one already seen (a duplicate or a reordering).
 */
static inline void pkt_sink_frame(struct pkt_sink *k, const void *slot,
				  uint64_t now)
{
	const struct pkt_slot *s = slot;
	const struct pkt_ip *ip = (const struct pkt_ip *)(s->frame + PKT_ETH_LEN);
	const struct pkt_payload *pl = (const struct pkt_payload *)(s->frame + PKT_HDRS);
	uint32_t *exp;

	k->rx++;
	if (pkt_csum(ip, PKT_IP_LEN) != 0)
		k->csum_err++;
	if (pl->ts_ns >= k->lat_from)
		pkt_hist_add(&k->lat, now > pl->ts_ns ? now - pl->ts_ns : 0);
	if (pl->flow >= PKT_MAX_FLOWS) {
		k->csum_err++;
		return;
	}
	exp = &k->expect[pl->flow];
	if (pl->seq == *exp) {
		(*exp)++;
		k->delivered++;
	} else if (pl->seq > *exp) {
		k->lost += pl->seq - *exp;
		*exp = pl->seq + 1;
		k->delivered++;
	} else {
		k->dup++;
	}
}

#endif
