// SPDX-License-Identifier: GPL-2.0
/*
 * sink: the end of the pipeline. Checks each flow's sequence numbers
 * (lost: a gap; dup: a number at or below one already seen, i.e. a
 * duplicate or a reordering), that the IPv4 checksum route updated still
 * verifies, and records the one-way latency from the generator's
 * timestamp in a log-linear histogram (64 sub-buckets per power of two:
 * under 1.6% error). Prints Mpps and p50/p99/p99.9/max at the end.
 * --warmup-ms N leaves out of the latency the frames stamped before N ms
 * after the first one arrived (benchmarks: not the start-up backlog).
 *
 * sink [--burst N] [--warmup-ms N]   (inputs: route2sink, or route2sink0..)
 */
#include <getopt.h>

#include "stage.h"

#define MAX_IN 16

static struct pkt_sink sk;

static uint64_t percentile(double p)
{
	return pkt_hist_percentile(&sk.lat, p);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "burst", required_argument, NULL, 'b' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t rx = 0, delivered = 0, lost = 0, dup = 0, csum_err = 0;
	uint64_t t0 = 0, t1 = 0, hist_max, warmup_ms = 0;
	struct vanity_channel *in[MAX_IN];
	unsigned int burst = 32, nin = 0, neos = 0, i, idx = 0;
	struct vanity *v;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': burst = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': warmup_ms = strtoull(optarg, NULL, 0); break;
		case 'h': printf("usage: sink [--burst N] [--warmup-ms N]\n"); return 0;
		default: fprintf(stderr, "usage: sink [--burst N] [--warmup-ms N]\n"); return 1;
		}
	}
	if (!burst || warmup_ms > 3600 * 1000) {
		fprintf(stderr, "sink: --burst wants 1.., --warmup-ms 0..3600000\n");
		return 1;
	}
	if (pkt_sink_init(&sk))
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
		vanity_log(v, VANITY_LOG_ERR, "sink: no channel route2sink or route2sink0");
		return 1;
	}
	for (i = 0; i < nin; i++)
		vanity_channel_set_spin(in[i], PKT_SPIN_NS);

	while (neos < nin && !pkt_stop) {
		struct vanity_channel *ch = in[idx];
		unsigned int n = vanity_peek(ch, burst), tried;
		uint64_t now;

		vanity_loop_tick();
		if (!n) {
			/* Next input with data; sleep on this one if none has. */
			for (tried = 1; tried < nin; tried++)
				if (vanity_peek(in[(idx + tried) % nin], 1))
					break;
			if (tried < nin) {
				idx = (idx + tried) % nin;
				continue;
			}
			vanity_loop_idle();
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
		if (!t0) {
			t0 = now;
			if (warmup_ms)
				sk.lat_from = t0 + warmup_ms * 1000000;
		}
		for (i = 0; i < n; i++) {
			const void *s = vanity_peek_slot(ch, i);

			if (pkt_is_eos(s)) {
				neos++;
				t1 = now;
				continue;
			}
			pkt_sink_frame(&sk, s, now);
		}
		vanity_release(ch, n);
	}
	if (!t1)
		t1 = pkt_now_ns();
	rx = sk.rx;
	delivered = sk.delivered;
	lost = sk.lost;
	dup = sk.dup;
	csum_err = sk.csum_err;
	hist_max = sk.lat.max;

	/* The final stats: one JSON record (run embeds it in its own line). */
	vanity_log(v, VANITY_LOG_INFO,
		   "{\"shard\":\"sink\",\"rx\":%" PRIu64 ",\"delivered\":%" PRIu64
		   ",\"lost\":%" PRIu64 ",\"dup\":%" PRIu64 ",\"csum_err\":%" PRIu64
		   ",\"inputs\":%u,\"eos\":%u,\"mpps\":%.3f,\"lat_ns\":{\"p50\":%" PRIu64
		   ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}}",
		   rx, delivered, lost, dup, csum_err, nin, neos,
		   pkt_mpps(rx, t0 ? t1 - t0 : 0), percentile(50), percentile(99),
		   percentile(99.9), hist_max);
	pkt_sink_free(&sk);
	vanity_detach(v);
	return 0;
}
