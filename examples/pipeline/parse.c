// SPDX-License-Identifier: GPL-2.0
/*
 * parse: validate the frames of "gen2parse" (ethertype, IPv4 version and
 * IHL, header checksum, total length against the frame, TTL), drop bad
 * ones with a per-reason counter, forward good ones to "parse2route":
 * peek in place, copy into reserved slots, commit, then release upstream.
 *
 * parse [--burst N] [--in NAME] [--out NAME]
 */
#include <getopt.h>

#include "pkt.h"

static enum pkt_bad validate(const void *slot, unsigned int slot_size)
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "burst", required_argument, NULL, 'b' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *inname = "gen2parse", *outname = "parse2route";
	uint64_t rx = 0, tx = 0, drops[PKT_BAD_NR] = { 0 }, ndrops = 0;
	uint64_t t0 = 0, t1 = 0;
	unsigned int burst = 32;
	struct vanity_channel *in, *out;
	struct vanity *v;
	int c, eos = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': burst = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'i': inname = optarg; break;
		case 'o': outname = optarg; break;
		case 'h':
			printf("usage: parse [--burst N] [--in NAME] [--out NAME]\n");
			return 0;
		default:
			fprintf(stderr, "usage: parse [--burst N] [--in NAME] [--out NAME]\n");
			return 1;
		}
	}
	if (!burst)
		return 1;
	pkt_signals();
	v = pkt_attach("parse");
	in = pkt_channel(v, "parse", inname);
	out = pkt_channel(v, "parse", outname);
	vanity_channel_set_spin(in, 10000);
	vanity_channel_set_spin(out, 10000);

	while (!eos && !pkt_stop) {
		unsigned int n = vanity_peek(in, burst), k, i, j = 0;

		if (!n) {
			if (pkt_wait(in, 0))
				break;
			continue;
		}
		k = vanity_reserve(out, n);
		if (!k) {
			if (pkt_wait(out, 1))
				break;
			continue;
		}
		if (!t0)
			t0 = pkt_now_ns();
		/* i frames consumed, j slots filled; stop when out is full. */
		for (i = 0; i < n; i++) {
			const void *f = vanity_peek_slot(in, i);
			const struct pkt_slot *s = f;
			enum pkt_bad r;

			if (pkt_is_eos(f)) {
				if (j == k)
					break;
				memcpy(vanity_slot(out, j++), f, PKT_SLOT_HDR + s->len);
				eos = 1;
				i++;
				break;
			}
			r = validate(f, in->slot_size);
			if (r) {
				drops[r]++;
				ndrops++;
				rx++;
				continue;
			}
			if (j == k)
				break;
			memcpy(vanity_slot(out, j++), f, PKT_SLOT_HDR + s->len);
			rx++;
			tx++;
		}
		vanity_commit(out, j);
		vanity_release(in, i);
	}
	t1 = pkt_now_ns();

	printf("{\"shard\":\"parse\",\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
	       ",\"dropped\":%" PRIu64 ",\"drops\":{", rx, tx, ndrops);
	for (c = 1; c < PKT_BAD_NR; c++)
		printf("%s\"%s\":%" PRIu64, c > 1 ? "," : "", pkt_bad_name[c],
		       drops[c]);
	printf("},\"eos\":%d,\"mpps\":%.3f}\n", eos, pkt_mpps(rx, t0 ? t1 - t0 : 0));
	fflush(stdout);
	vanity_detach(v);
	return 0;
}
