/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The packet pipeline's shared frame format and helpers (header only: each
 * stage is one translation unit).
 *
 * A channel slot holds a struct pkt_slot: a 16-bit frame length, then the
 * Ethernet frame itself. A frame is Ethernet/IPv4/UDP with a struct
 * pkt_payload right after the UDP header. The end of the stream is a frame
 * of ethertype PKT_ETH_EOS, forwarded by every stage.
 */
#ifndef PIPELINE_PKT_H
#define PIPELINE_PKT_H

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vanity.h>

#define PKT_SLOT_HDR	8		/* len + pad before the frame */
#define PKT_ETH_IP	0x0800
#define PKT_ETH_EOS	0x88b5		/* IEEE local experimental: end of stream */
#define PKT_ETH_LEN	14
#define PKT_IP_LEN	20
#define PKT_UDP_LEN	8
#define PKT_HDRS	(PKT_ETH_LEN + PKT_IP_LEN + PKT_UDP_LEN)
#define PKT_MIN_FRAME	64
#define PKT_MAX_FLOWS	65536
#define PKT_WAIT_NS	(100 * 1000 * 1000LL)	/* idle stages sleep this long */
/*
 * How long an idle stage polls its channel (handing its CPU to a stage
 * that shares it between polls) before it sleeps on the doorbell: long
 * enough that a CPU of a busy pipeline never idles, as waking one costs
 * far more than a hand-over.
 */
#define PKT_SPIN_NS	200000

struct pkt_slot {
	uint16_t len;			/* frame bytes */
	uint16_t pad[3];
	uint8_t frame[];
};

struct pkt_eth {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;			/* network order */
} __attribute__((packed));

struct pkt_ip {
	uint8_t ver_ihl;
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag;
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

struct pkt_udp {
	uint16_t sport, dport, len, csum;
} __attribute__((packed));

/* After the UDP header: generator timestamp, flow and per-flow sequence. */
struct pkt_payload {
	uint64_t ts_ns;			/* CLOCK_MONOTONIC at generation */
	uint32_t flow;
	uint32_t seq;			/* per flow, from 0, good frames only */
} __attribute__((packed));

/* Drop reasons, shared by gen (injected) and parse (detected). */
enum pkt_bad {
	PKT_OK = 0,
	PKT_BAD_ETHERTYPE,
	PKT_BAD_VERSION,
	PKT_BAD_CHECKSUM,
	PKT_BAD_LENGTH,
	PKT_BAD_TTL,
	PKT_BAD_NR,
};

static const char *const pkt_bad_name[PKT_BAD_NR] __attribute__((unused)) = {
	[PKT_OK] = "ok",
	[PKT_BAD_ETHERTYPE] = "ethertype",
	[PKT_BAD_VERSION] = "version",
	[PKT_BAD_CHECKSUM] = "checksum",
	[PKT_BAD_LENGTH] = "length",
	[PKT_BAD_TTL] = "ttl",
};

static inline uint64_t pkt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Internet checksum of @len bytes (even), folded and complemented. */
static inline uint16_t pkt_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static inline struct pkt_eth *pkt_eth(void *slot)
{
	return (struct pkt_eth *)((struct pkt_slot *)slot)->frame;
}

static inline struct pkt_ip *pkt_ip(void *slot)
{
	return (struct pkt_ip *)(((struct pkt_slot *)slot)->frame + PKT_ETH_LEN);
}

static inline struct pkt_payload *pkt_payload(void *slot)
{
	return (struct pkt_payload *)(((struct pkt_slot *)slot)->frame + PKT_HDRS);
}

static inline int pkt_is_eos(const void *slot)
{
	const struct pkt_slot *s = slot;

	return s->len >= PKT_ETH_LEN &&
	       ((const struct pkt_eth *)s->frame)->type == htons(PKT_ETH_EOS);
}

/* SIGINT/SIGTERM set pkt_stop; blocking calls then return -EINTR. */
static volatile sig_atomic_t pkt_stop __attribute__((unused));

static inline void pkt_on_signal(int sig)
{
	(void)sig;
	pkt_stop = 1;
}

static inline void pkt_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pkt_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Attach to $VANITY_SHARD, retrying while a killed predecessor lets go. */
static inline struct vanity *pkt_attach(const char *prog)
{
	struct vanity *v;
	int ret, tries;

	for (tries = 0; tries < 200; tries++) {
		ret = vanity_attach(NULL, &v);
		if (ret != -EBUSY)
			break;
		usleep(10000);
	}
	if (ret) {
		vanity_log(NULL, VANITY_LOG_ERR, "%s: attach %s: %s", prog,
			   getenv("VANITY_SHARD") ? getenv("VANITY_SHARD") : "(unset)",
			   strerror(-ret));
		exit(1);
	}
	return v;
}

static inline struct vanity_channel *pkt_channel(struct vanity *v,
						 const char *prog,
						 const char *name)
{
	struct vanity_channel *ch;
	int ret = vanity_channel_get(v, name, &ch);

	if (ret) {
		vanity_log(v, VANITY_LOG_ERR, "%s: channel %s: %s", prog, name,
			   strerror(-ret));
		exit(1);
	}
	if (ch->slot_size < PKT_SLOT_HDR + PKT_MIN_FRAME) {
		vanity_log(v, VANITY_LOG_ERR, "%s: channel %s: slots of %u bytes, need %u",
			   prog, name, ch->slot_size, PKT_SLOT_HDR + PKT_MIN_FRAME);
		exit(1);
	}
	return ch;
}

/* Wait for data or space; 0 to go on, -1 to stop (signal, system down). */
static inline int pkt_wait(struct vanity_channel *ch, int space)
{
	int ret;

	if (pkt_stop)
		return -1;
	ret = space ? vanity_wait_space(ch, PKT_WAIT_NS) :
		      vanity_wait_data(ch, PKT_WAIT_NS);
	if (ret == 0 || ret == -ETIME || (ret == -EINTR && !pkt_stop))
		return 0;
	return -1;
}

static inline double pkt_mpps(uint64_t n, uint64_t ns)
{
	return ns ? (double)n * 1e3 / (double)ns : 0.0;
}

#endif
