// SPDX-License-Identifier: GPL-2.0
/*
 * sink: the end of the pipeline. Checks each flow's sequence numbers
 * (lost: a gap; dup: a number at or below one already seen, i.e. a
 * duplicate or a reordering), that the IPv4 checksum route updated still
 * verifies, and records the one-way latency from the generator's
 * timestamp in a log-linear histogram (64 sub-buckets per power of two:
 * under 1.6% error). Prints Mpps and p50/p99/p99.9/max at the end.
 *
 * sink [--burst N]      (inputs: route2sink, or route2sink0..)
 */
#include <getopt.h>

#include "pkt.h"

#define MAX_IN 16
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define NBUCKETS (2 * SUB + (64 - SUB_BITS - 1) * SUB)

static uint64_t hist[NBUCKETS];
static uint64_t hist_n, hist_max;

static unsigned int bucket(uint64_t v)
{
	unsigned int e;

	if (v < 2 * SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v);	/* >= SUB_BITS + 1 */
	return 2 * SUB + (e - SUB_BITS - 1) * SUB +
	       (unsigned int)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The highest value a bucket holds. */
static uint64_t bucket_top(unsigned int b)
{
	unsigned int e, sub;

	if (b < 2 * SUB)
		return b;
	e = (b - 2 * SUB) / SUB + SUB_BITS + 1;
	sub = (b - 2 * SUB) % SUB;
	return ((uint64_t)(SUB + sub) << (e - SUB_BITS)) +
	       ((1ULL << (e - SUB_BITS)) - 1);
}

static uint64_t percentile(double p)
{
	uint64_t want = (uint64_t)((double)hist_n * p / 100.0 + 0.5), acc = 0;
	unsigned int b;

	if (!hist_n)
		return 0;
	if (want < 1)
		want = 1;
	for (b = 0; b < NBUCKETS; b++) {
		acc += hist[b];
		if (acc >= want) {
			uint64_t t = bucket_top(b);

			return t < hist_max ? t : hist_max;
		}
	}
	return hist_max;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t rx = 0, delivered = 0, lost = 0, dup = 0, csum_err = 0;
	uint64_t t0 = 0, t1 = 0;
	struct vanity_channel *in[MAX_IN];
	unsigned int burst = 32, nin = 0, neos = 0, i, idx = 0;
	uint32_t *expect;
	struct vanity *v;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': burst = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'h': printf("usage: sink [--burst N]\n"); return 0;
		default: fprintf(stderr, "usage: sink [--burst N]\n"); return 1;
		}
	}
	if (!burst)
		return 1;
	expect = calloc(PKT_MAX_FLOWS, sizeof(*expect));
	if (!expect)
		return 1;
	pkt_signals();
	v = pkt_attach("sink");
	if (!vanity_channel_get(v, "route2sink", &in[0])) {
		nin = 1;
	} else {
		char name[32];

		for (nin = 0; nin < MAX_IN; nin++) {
			snprintf(name, sizeof(name), "route2sink%u", nin);
			if (vanity_channel_get(v, name, &in[nin]))
				break;
		}
	}
	if (!nin) {
		fprintf(stderr, "sink: no channel route2sink or route2sink0\n");
		return 1;
	}
	for (i = 0; i < nin; i++)
		vanity_channel_set_spin(in[i], 10000);

	while (neos < nin && !pkt_stop) {
		struct vanity_channel *ch = in[idx];
		unsigned int n = vanity_peek(ch, burst), tried;
		uint64_t now;

		if (!n) {
			/* Next input with data; sleep on this one if none has. */
			for (tried = 1; tried < nin; tried++)
				if (vanity_peek(in[(idx + tried) % nin], 1))
					break;
			if (tried < nin) {
				idx = (idx + tried) % nin;
				continue;
			}
			if (nin == 1) {
				if (pkt_wait(ch, 0))
					break;
			} else if (!pkt_stop) {
				vanity_wait_data(ch, 1000000);
			}
			idx = (idx + 1) % nin;
			continue;
		}
		now = pkt_now_ns();
		if (!t0)
			t0 = now;
		for (i = 0; i < n; i++) {
			const struct pkt_slot *s = vanity_peek_slot(ch, i);
			const struct pkt_payload *pl;
			const struct pkt_ip *ip;
			uint64_t lat;

			if (pkt_is_eos(s)) {
				neos++;
				t1 = now;
				continue;
			}
			rx++;
			ip = (const struct pkt_ip *)(s->frame + PKT_ETH_LEN);
			if (pkt_csum(ip, PKT_IP_LEN) != 0)
				csum_err++;
			pl = (const struct pkt_payload *)(s->frame + PKT_HDRS);
			lat = now > pl->ts_ns ? now - pl->ts_ns : 0;
			hist[bucket(lat)]++;
			hist_n++;
			if (lat > hist_max)
				hist_max = lat;
			if (pl->flow >= PKT_MAX_FLOWS) {
				csum_err++;
				continue;
			}
			if (pl->seq == expect[pl->flow]) {
				expect[pl->flow]++;
				delivered++;
			} else if (pl->seq > expect[pl->flow]) {
				lost += pl->seq - expect[pl->flow];
				expect[pl->flow] = pl->seq + 1;
				delivered++;
			} else {
				dup++;
			}
		}
		vanity_release(ch, n);
	}
	if (!t1)
		t1 = pkt_now_ns();

	printf("{\"shard\":\"sink\",\"rx\":%" PRIu64 ",\"delivered\":%" PRIu64
	       ",\"lost\":%" PRIu64 ",\"dup\":%" PRIu64 ",\"csum_err\":%" PRIu64
	       ",\"inputs\":%u,\"eos\":%u,\"mpps\":%.3f,\"lat_ns\":{\"p50\":%" PRIu64
	       ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}}\n",
	       rx, delivered, lost, dup, csum_err, nin, neos,
	       pkt_mpps(rx, t0 ? t1 - t0 : 0), percentile(50), percentile(99),
	       percentile(99.9), hist_max);
	fflush(stdout);
	free(expect);
	vanity_detach(v);
	return 0;
}
