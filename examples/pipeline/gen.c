// SPDX-License-Identifier: GPL-2.0
/*
 * gen: synthetic Ethernet/IPv4/UDP frames onto channel "gen2parse", each
 * stamped with CLOCK_MONOTONIC and a per-flow sequence number, a chosen
 * share deliberately malformed; then an end-of-stream frame.
 *
 * gen [--count N | --duration S] [--size N] [--burst N] [--flows N]
 *     [--bad-permille N] [--seed N] [--channel NAME]
 */
#include <getopt.h>

#include "pkt.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gen [--count N | --duration S] [--size N] [--burst N] [--flows N]\n"
		   "           [--bad-permille N] [--seed N] [--channel NAME]\n");
}

struct flow {
	uint32_t dst;
	uint32_t seq;
};

static void build(void *slot, unsigned int size, const struct flow *fl,
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
	ip->dst = htonl(fl->dst);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "burst", required_argument, NULL, 'b' },
		{ "flows", required_argument, NULL, 'f' },
		{ "bad-permille", required_argument, NULL, 'x' },
		{ "seed", required_argument, NULL, 'r' },
		{ "channel", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t count = 0, tx = 0, good = 0, bad_n[PKT_BAD_NR] = { 0 };
	unsigned int size = PKT_MIN_FRAME, burst = 32, flows = 4096, permille = 0;
	double duration = 0;
	const char *chname = "gen2parse";
	struct vanity_channel *ch;
	struct flow *fl;
	struct vanity *v;
	uint64_t t0, t1, deadline = 0;
	int c, eos_sent = 0;
	unsigned int i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'd': duration = strtod(optarg, NULL); break;
		case 's': size = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': burst = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'f': flows = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'x': permille = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		case 'C': chname = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!count && duration <= 0)
		count = 1000000;
	if (!burst || !flows || flows > PKT_MAX_FLOWS || permille > 1000) {
		usage(stderr);
		return 1;
	}
	pkt_signals();
	v = pkt_attach("gen");
	ch = pkt_channel(v, "gen", chname);
	vanity_channel_set_spin(ch, 10000);
	if (size < PKT_MIN_FRAME || size > ch->slot_size - PKT_SLOT_HDR) {
		fprintf(stderr, "gen: --size %u: want %u..%u\n", size,
			PKT_MIN_FRAME, ch->slot_size - PKT_SLOT_HDR);
		return 1;
	}
	fl = calloc(flows, sizeof(*fl));
	if (!fl)
		return 1;
	for (i = 0; i < flows; i++) {
		/* Varied destinations, none in 0/8 or multicast. */
		do
			fl[i].dst = (uint32_t)rng();
		while ((fl[i].dst >> 24) == 0 || (fl[i].dst >> 28) >= 0xe);
	}

	t0 = pkt_now_ns();
	if (duration > 0)
		deadline = t0 + (uint64_t)(duration * 1e9);
	while (!pkt_stop) {
		unsigned int want = burst, k;
		uint64_t now;

		if (count && count - tx < want)
			want = (unsigned int)(count - tx);
		if (!want)
			break;
		k = vanity_reserve(ch, want);
		if (!k) {
			if (pkt_wait(ch, 1))
				break;
			continue;
		}
		now = pkt_now_ns();
		if (deadline && now >= deadline)
			break;
		for (i = 0; i < k; i++) {
			void *slot = vanity_slot(ch, i);
			uint32_t f = (uint32_t)(rng() % flows);
			enum pkt_bad bad = PKT_OK;

			if (permille && rng() % 1000 < permille)
				bad = PKT_BAD_CHECKSUM + (enum pkt_bad)(rng() % 3);
			build(slot, size, &fl[f], f, bad ? 0 : fl[f].seq, bad);
			pkt_payload(slot)->ts_ns = now;
			if (bad) {
				bad_n[bad]++;
			} else {
				fl[f].seq++;
				good++;
			}
		}
		vanity_commit(ch, i);
		tx += k;
	}
	t1 = pkt_now_ns();

	/* End of stream, even after a signal (give up after ~1 s). */
	for (i = 0; i < 10 && !eos_sent; i++) {
		if (vanity_reserve(ch, 1)) {
			void *slot = vanity_slot(ch, 0);

			memset(slot, 0, PKT_SLOT_HDR + PKT_MIN_FRAME);
			((struct pkt_slot *)slot)->len = PKT_MIN_FRAME;
			pkt_eth(slot)->type = htons(PKT_ETH_EOS);
			pkt_payload(slot)->seq = (uint32_t)tx;
			vanity_commit(ch, 1);
			eos_sent = 1;
			break;
		}
		vanity_wait_space(ch, PKT_WAIT_NS);
	}

	printf("{\"shard\":\"gen\",\"tx\":%" PRIu64 ",\"good\":%" PRIu64
	       ",\"bad\":{\"checksum\":%" PRIu64 ",\"length\":%" PRIu64
	       ",\"ttl\":%" PRIu64 "},\"eos\":%d,\"flows\":%u,\"size\":%u"
	       ",\"mpps\":%.3f}\n",
	       tx, good, bad_n[PKT_BAD_CHECKSUM], bad_n[PKT_BAD_LENGTH],
	       bad_n[PKT_BAD_TTL], eos_sent, flows, size, pkt_mpps(tx, t1 - t0));
	fflush(stdout);
	free(fl);
	vanity_detach(v);
	return 0;
}
