// SPDX-License-Identifier: GPL-2.0
/*
 * gen: synthetic Ethernet/IPv4/UDP frames onto channel "gen2parse", each
 * stamped with CLOCK_MONOTONIC and a per-flow sequence number, a chosen
 * share deliberately malformed, at full speed or at a set rate (--rate,
 * frames per second); then an end-of-stream frame.
 *
 * gen [--count N | --duration S] [--size N] [--burst N] [--flows N]
 *     [--bad-permille N] [--seed N] [--channel NAME] [--rate PPS]
 */
#include <getopt.h>

#include "stage.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gen [--count N | --duration S] [--size N] [--burst N] [--flows N]\n"
		   "           [--bad-permille N] [--seed N] [--channel NAME] [--rate PPS]\n");
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
		{ "rate", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t count = 0, tx = 0, good = 0, bad_n[PKT_BAD_NR] = { 0 };
	unsigned int size = PKT_MIN_FRAME, burst = 32, flows = 4096, permille = 0;
	double duration = 0, rate = 0;
	uint64_t seed = PKT_GEN_SEED;
	char *end;
	const char *chname = "gen2parse";
	struct vanity_channel *ch;
	struct pkt_pace pace;
	struct pkt_gen g;
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
		case 'r': seed = strtoull(optarg, NULL, 0) | 1; break;
		case 'C': chname = optarg; break;
		case 'R':
			rate = strtod(optarg, &end);
			if (end == optarg || *end)
				rate = -1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!count && duration <= 0)
		count = 1000000;
	if (!burst || !flows || flows > PKT_MAX_FLOWS || permille > 1000 ||
	    !(rate >= 0)) {
		usage(stderr);
		return 1;
	}
	pkt_signals();
	v = pkt_attach("gen");
	ch = pkt_channel(v, "gen", chname);
	vanity_channel_set_spin(ch, PKT_SPIN_NS);
	if (size < PKT_MIN_FRAME || size > ch->slot_size - PKT_SLOT_HDR) {
		vanity_log(v, VANITY_LOG_ERR, "gen: --size %u: want %u..%u", size,
			   PKT_MIN_FRAME, ch->slot_size - PKT_SLOT_HDR);
		return 1;
	}
	if (pkt_gen_init(&g, flows, size, permille, seed))
		return 1;

	t0 = pkt_now_ns();
	pkt_pace_init(&pace, t0, rate);
	if (duration > 0)
		deadline = t0 + (uint64_t)(duration * 1e9);
	while (!pkt_stop) {
		unsigned int want = burst, k;
		uint64_t now;

		vanity_loop_tick();
		if (count && count - tx < want)
			want = (unsigned int)(count - tx);
		if (!want)
			break;
		if (rate > 0)
			pkt_pace(&pace, tx, deadline);
		k = vanity_reserve(ch, want);
		if (!k) {
			vanity_loop_idle();
			if (pkt_wait(ch, 1))
				break;
			continue;
		}
		now = pkt_now_ns();
		if (deadline && now >= deadline)
			break;
		for (i = 0; i < k; i++) {
			enum pkt_bad bad = pkt_gen_frame(&g, vanity_slot(ch, i), now);

			if (bad)
				bad_n[bad]++;
			else
				good++;
		}
		vanity_commit(ch, i);
		tx += k;
	}
	t1 = pkt_now_ns();

	/* End of stream, even after a signal (give up after ~1 s). */
	for (i = 0; i < 10 && !eos_sent; i++) {
		if (vanity_reserve(ch, 1)) {
			pkt_gen_eos(vanity_slot(ch, 0), tx);
			vanity_commit(ch, 1);
			eos_sent = 1;
			break;
		}
		vanity_wait_space(ch, PKT_WAIT_NS);
	}

	/* The final stats: one JSON record (run embeds it in its own line). */
	vanity_log(v, VANITY_LOG_INFO,
		   "{\"shard\":\"gen\",\"tx\":%" PRIu64 ",\"good\":%" PRIu64
		   ",\"bad\":{\"checksum\":%" PRIu64 ",\"length\":%" PRIu64
		   ",\"ttl\":%" PRIu64 "},\"eos\":%d,\"flows\":%u,\"size\":%u"
		   ",\"mpps\":%.3f}",
		   tx, good, bad_n[PKT_BAD_CHECKSUM], bad_n[PKT_BAD_LENGTH],
		   bad_n[PKT_BAD_TTL], eos_sent, flows, size, pkt_mpps(tx, t1 - t0));
	pkt_gen_free(&g);
	vanity_detach(v);
	return 0;
}
