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

#include "stage.h"

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
	vanity_channel_set_spin(in, PKT_SPIN_NS);
	vanity_channel_set_spin(out, PKT_SPIN_NS);

	while (!eos && !pkt_stop) {
		unsigned int n = vanity_peek(in, burst), k, i, j = 0;

		vanity_loop_tick();
		if (!n) {
			vanity_loop_idle();
			if (pkt_wait(in, 0))
				break;
			continue;
		}
		k = vanity_reserve(out, n);
		if (!k) {
			vanity_loop_idle();
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
			r = pkt_validate(f, in->slot_size);
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

	{
		/* The final stats: one JSON record (run embeds it in its own line). */
		char reasons[256];
		size_t o = 0;

		for (c = 1; c < PKT_BAD_NR && o < sizeof(reasons); c++)
			o += (size_t)snprintf(reasons + o, sizeof(reasons) - o,
					      "%s\"%s\":%" PRIu64, c > 1 ? "," : "",
					      pkt_bad_name[c], drops[c]);
		vanity_log(v, VANITY_LOG_INFO,
			   "{\"shard\":\"parse\",\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
			   ",\"dropped\":%" PRIu64 ",\"drops\":{%s},\"eos\":%d,\"mpps\":%.3f}",
			   rx, tx, ndrops, reasons, eos,
			   pkt_mpps(rx, t0 ? t1 - t0 : 0));
	}
	vanity_detach(v);
	return 0;
}
