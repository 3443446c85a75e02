// SPDX-License-Identifier: GPL-2.0
/*
 * The threaded builds of the pipeline: gen, parse, route and sink as four
 * threads of this process, pinned as the Vanity manifest places the
 * shards, connected by three ports (rte_ring or pipe). Each stage loop has
 * the shape of its shard program's and does its work per frame with the
 * same code (examples/pipeline/stage.h); only the transport differs.
 * Every wait is bounded by the run's hard deadline and the abort flag.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage.h"
#include "bp.h"

struct run {
	const struct bp_port_ops *ops;
	const struct bp_cfg *cfg;
	struct bp_port *q[3];		/* gen->parse, parse->route, route->sink */
	volatile int abort;
	int ready, done;		/* threads past the gate, threads ended */
	uint64_t hard_deadline;
	/* gen */
	uint64_t gen_tx, gen_good, gen_bad, gen_t0, gen_t1;
	int gen_eos;
	/* parse */
	uint64_t parse_rx, parse_tx, parse_drop;
	int parse_eos;
	/* route */
	uint64_t route_rx, route_tx, route_drop;
	int route_eos;
	/* sink */
	struct pkt_sink *sink;
	uint64_t sink_t0, sink_t1;
	int sink_eos;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Pinned, then wait for the other three: 0 to go, -1 when aborted. */
static int gate(struct run *r, int stage)
{
	pin(r->cfg->cpu[stage]);
	__atomic_add_fetch(&r->ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < BP_NSTAGES) {
		if (r->abort || bp_now_ns() > r->hard_deadline)
			return -1;
		sched_yield();		/* two stages share each CPU */
	}
	return 0;
}

static void finish(struct run *r)
{
	__atomic_add_fetch(&r->done, 1, __ATOMIC_ACQ_REL);
}

/* ------------------------------------------------------------ gen */
static void *gen_main(void *arg)
{
	struct run *r = arg;
	const struct bp_cfg *c = r->cfg;
	const struct bp_port_ops *ops = r->ops;
	struct bp_port *out = r->q[0];
	void *slots[BP_MAX_BURST];
	struct pkt_pace pace;
	struct pkt_gen g;
	uint64_t tx = 0, good = 0, bad = 0, t0, deadline;

	if (pkt_gen_init(&g, c->flows, c->size, 0, PKT_GEN_SEED)) {
		r->abort = 1;
		finish(r);
		return NULL;
	}
	if (gate(r, BP_GEN))
		goto out;
	t0 = bp_now_ns();
	pkt_pace_init(&pace, t0, c->rate);
	deadline = t0 + (uint64_t)(c->seconds * 1e9);
	r->gen_t0 = t0;
	while (!r->abort) {
		unsigned int k, i;
		uint64_t now;

		if (c->rate > 0)
			pkt_pace(&pace, tx, deadline);
		k = ops->reserve(out, c->burst, slots);
		if (!k) {
			if (ops->wait(out, 1))
				break;
			continue;
		}
		now = pkt_now_ns();
		if (now >= deadline)
			break;
		for (i = 0; i < k; i++) {
			if (pkt_gen_frame(&g, slots[i], now))
				bad++;
			else
				good++;
		}
		ops->commit(out, k);
		tx += k;
	}
	r->gen_t1 = bp_now_ns();
	/* The end of stream, while the run lasts. */
	while (!r->abort && bp_now_ns() < r->hard_deadline) {
		if (ops->reserve(out, 1, slots)) {
			pkt_gen_eos(slots[0], tx);
			ops->commit(out, 1);
			r->gen_eos = 1;
			break;
		}
		if (ops->wait(out, 1))
			break;
	}
out:
	r->gen_tx = tx;
	r->gen_good = good;
	r->gen_bad = bad;
	pkt_gen_free(&g);
	finish(r);
	return NULL;
}

/* ------------------------------------------------------------ parse */
static void *parse_main(void *arg)
{
	struct run *r = arg;
	const struct bp_port_ops *ops = r->ops;
	struct bp_port *in = r->q[0], *out = r->q[1];
	const void *islots[BP_MAX_BURST];
	void *oslots[BP_MAX_BURST];
	uint64_t rx = 0, tx = 0, drop = 0;
	unsigned int burst = r->cfg->burst;
	int eos = 0;

	if (gate(r, BP_PARSE))
		goto out;
	while (!eos && !r->abort) {
		unsigned int n = ops->peek(in, burst, islots), k, i, j = 0;

		if (!n) {
			if (ops->wait(in, 0))
				break;
			continue;
		}
		k = ops->reserve(out, n, oslots);
		if (!k) {
			if (ops->wait(out, 1))
				break;
			continue;
		}
		/* i frames consumed, j slots filled; stop when out is full. */
		for (i = 0; i < n; i++) {
			const struct pkt_slot *s = islots[i];

			if (pkt_is_eos(s)) {
				if (j == k)
					break;
				memcpy(oslots[j++], s, PKT_SLOT_HDR + s->len);
				eos = 1;
				i++;
				break;
			}
			if (pkt_validate(s, in->slot_size)) {
				drop++;
				rx++;
				continue;
			}
			if (j == k)
				break;
			memcpy(oslots[j++], s, PKT_SLOT_HDR + s->len);
			rx++;
			tx++;
		}
		ops->commit(out, j);
		ops->release(in, i);
	}
out:
	r->parse_rx = rx;
	r->parse_tx = tx;
	r->parse_drop = drop;
	r->parse_eos = eos;
	finish(r);
	return NULL;
}

/* ------------------------------------------------------------ route */
static void *route_main(void *arg)
{
	struct run *r = arg;
	const struct bp_port_ops *ops = r->ops;
	const struct lpm *lpm = r->cfg->lpm;
	struct bp_port *in = r->q[1], *out = r->q[2];
	const void *islots[BP_MAX_BURST];
	void *oslots[BP_MAX_BURST];
	uint64_t rx = 0, tx = 0, drop = 0;
	unsigned int burst = r->cfg->burst;
	int eos = 0;

	if (gate(r, BP_ROUTE))
		goto out;
	while (!eos && !r->abort) {
		unsigned int n = ops->peek(in, burst, islots), k, i, j = 0;
		int full = 0;

		if (!n) {
			if (ops->wait(in, 0))
				break;
			continue;
		}
		k = ops->reserve(out, n, oslots);
		for (i = 0; i < n; i++) {
			const struct pkt_slot *s = islots[i];
			uint16_t nh;

			if (pkt_is_eos(s)) {
				if (j == k) {
					full = 1;
					break;
				}
				memcpy(oslots[j++], s, PKT_SLOT_HDR + s->len);
				eos = 1;
				i++;
				break;
			}
			if (pkt_route_lookup(lpm, s, &nh) != PKT_ROUTE_OK) {
				drop++;
				rx++;
				continue;
			}
			if (j == k) {
				full = 1;
				break;
			}
			/* One output: next hop % 1. */
			pkt_route_out(oslots[j++], s, nh, 0);
			rx++;
			tx++;
		}
		if (!i) {
			/* The first frame's output is full: wait for room. */
			if (full && ops->wait(out, 1))
				break;
			continue;
		}
		ops->commit(out, j);
		ops->release(in, i);
	}
out:
	r->route_rx = rx;
	r->route_tx = tx;
	r->route_drop = drop;
	r->route_eos = eos;
	finish(r);
	return NULL;
}

/* ------------------------------------------------------------ sink */
static void *sink_main(void *arg)
{
	struct run *r = arg;
	const struct bp_port_ops *ops = r->ops;
	struct bp_port *in = r->q[2];
	struct pkt_sink *sk = r->sink;
	const void *islots[BP_MAX_BURST];
	unsigned int burst = r->cfg->burst;
	uint64_t t0 = 0, t1 = 0;
	int eos = 0;

	if (gate(r, BP_SINK))
		goto out;
	while (!eos && !r->abort) {
		unsigned int n = ops->peek(in, burst, islots), i;
		uint64_t now;

		if (!n) {
			if (ops->wait(in, 0))
				break;
			continue;
		}
		now = pkt_now_ns();
		if (!t0) {
			t0 = now;
			if (r->cfg->warmup_ms)
				sk->lat_from = t0 + (uint64_t)r->cfg->warmup_ms * 1000000;
		}
		for (i = 0; i < n; i++) {
			if (pkt_is_eos(islots[i])) {
				eos = 1;
				t1 = now;
				continue;
			}
			pkt_sink_frame(sk, islots[i], now);
		}
		ops->release(in, n);
	}
out:
	r->sink_t0 = t0;
	r->sink_t1 = t1 ? t1 : bp_now_ns();
	r->sink_eos = eos;
	finish(r);
	return NULL;
}

/* ------------------------------------------------------------ run */
int bp_threads_run(const struct bp_port_ops *ops, const struct bp_cfg *c,
		   struct bp_result *res)
{
	static void *(*const mains[BP_NSTAGES])(void *) = {
		gen_main, parse_main, route_main, sink_main,
	};
	pthread_t th[BP_NSTAGES];
	struct run *r = calloc(1, sizeof(*r));
	int started = 0, i, ret = -1;

	memset(res, 0, sizeof(*res));
	if (!r) {
		snprintf(res->note, sizeof(res->note), "out of memory");
		return -1;
	}
	r->ops = ops;
	r->cfg = c;
	r->sink = calloc(1, sizeof(*r->sink));
	if (!r->sink || pkt_sink_init(r->sink)) {
		snprintf(res->note, sizeof(res->note), "out of memory");
		goto out;
	}
	for (i = 0; i < 3; i++) {
		/* A frame and its length word: each port rounds as it must. */
		int err = ops->open(&r->q[i], (PKT_SLOT_HDR + c->size + 7) & ~7u,
				    BP_SLOTS, &r->abort);

		if (err) {
			snprintf(res->note, sizeof(res->note), "%s: open: %s",
				 ops->name, strerror(-err));
			goto out;
		}
	}
	r->hard_deadline = bp_now_ns() + (uint64_t)(c->seconds * 1e9) + BP_GRACE_NS;
	for (i = 0; i < BP_NSTAGES; i++) {
		if (pthread_create(&th[i], NULL, mains[i], r)) {
			r->abort = 1;
			snprintf(res->note, sizeof(res->note), "pthread_create failed");
			break;
		}
		started++;
	}
	/* Bounded: the stages end at the end of stream, or are told to. */
	while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) < started) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (bp_now_ns() > r->hard_deadline && !r->abort) {
			r->abort = 1;
			snprintf(res->note, sizeof(res->note),
				 "timed out: stopped %.0f s after the traffic",
				 (double)BP_GRACE_NS / 1e9);
		}
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < BP_NSTAGES)
		goto out;

	res->generated = r->gen_tx;
	res->delivered = r->sink->delivered;
	res->dropped = r->parse_drop + r->route_drop;
	res->lost = r->sink->lost;
	res->dup = r->sink->dup;
	res->csum_err = r->sink->csum_err;
	res->gen_mpps = pkt_mpps(r->gen_tx, r->gen_t1 - r->gen_t0);
	res->mpps = pkt_mpps(r->sink->rx, r->sink_t0 ? r->sink_t1 - r->sink_t0 : 0);
	res->p50 = pkt_hist_percentile(&r->sink->lat, 50);
	res->p99 = pkt_hist_percentile(&r->sink->lat, 99);
	res->p999 = pkt_hist_percentile(&r->sink->lat, 99.9);
	res->max = r->sink->lat.max;
	res->lat_n = r->sink->lat.n;
	res->ran = r->sink->rx > 0;
	res->ok = res->ran && !r->abort && r->gen_eos && r->parse_eos &&
		  r->route_eos && r->sink_eos && !res->lost && !res->dup &&
		  !res->csum_err &&
		  res->generated == res->delivered + res->dropped;
	if (res->ran && !res->ok && !res->note[0])
		snprintf(res->note, sizeof(res->note),
			 "unbalanced: generated %llu, delivered %llu, dropped %llu, lost %llu, dup %llu",
			 (unsigned long long)res->generated,
			 (unsigned long long)res->delivered,
			 (unsigned long long)res->dropped,
			 (unsigned long long)res->lost,
			 (unsigned long long)res->dup);
	ret = res->ran ? 0 : -1;
out:
	for (i = 0; i < 3; i++)
		if (r->q[i])
			ops->close(r->q[i]);
	if (r->sink)
		pkt_sink_free(r->sink);
	free(r->sink);
	free(r);
	return ret;
}
