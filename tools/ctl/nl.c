// SPDX-License-Identifier: GPL-2.0
/*
 * libnl plumbing for the vanity family: one request, one ACK or error,
 * extended ACK enabled so the kernel's own refusal reaches the operator;
 * and the events group, read straight off the socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vanity_nl {
	struct nl_sock *sk;
	int family;
	char msg[256];
};

struct nl_ctx {
	struct vanity_nl *nl;
	struct vanity_status *st;
	int err;
	bool done;
};

/* Extended ACK TLVs follow the (capped) original request in the error. */
static void take_extack(struct vanity_nl *nl, struct nlmsgerr *e)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);
	struct nlattr *attrs;
	int len;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)off;
	if (len <= 0)
		return;
	attrs = (struct nlattr *)((char *)e + off);
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->msg, sizeof(nl->msg), "%s",
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nl_ctx *ctx = arg;

	(void)who;
	ctx->err = e->error;
	ctx->done = true;
	if (e->error)
		take_extack(ctx->nl, e);
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct nl_ctx *ctx = arg;

	(void)msg;
	ctx->done = true;
	return NL_STOP;
}

static void copy_str(char *dst, size_t n, struct nlattr *a)
{
	if (a)
		snprintf(dst, n, "%.*s", nla_len(a), (const char *)nla_data(a));
}

static int parse_shard(struct vanity_status *st, struct nlattr *nest)
{
	struct nlattr *tb[VANITY_SHARD_A_MAX + 1];
	struct vanity_status_shard *s;

	if (st->nshards >= VANITY_MAX_SHARDS)
		return -E2BIG;
	if (nla_parse_nested(tb, VANITY_SHARD_A_MAX, nest, NULL) < 0)
		return -EINVAL;
	s = &st->shards[st->nshards++];
	memset(s, 0, sizeof(*s));
	if (tb[VANITY_SHARD_A_INDEX])
		s->index = nla_get_u32(tb[VANITY_SHARD_A_INDEX]);
	copy_str(s->name, sizeof(s->name), tb[VANITY_SHARD_A_NAME]);
	if (tb[VANITY_SHARD_A_CPUS]) {
		int n = nla_len(tb[VANITY_SHARD_A_CPUS]);

		if (n > (int)sizeof(s->cpus))
			n = sizeof(s->cpus);
		memcpy(s->cpus, nla_data(tb[VANITY_SHARD_A_CPUS]), n);
	}
	if (tb[VANITY_SHARD_A_MEMORY])
		s->memory = nla_get_u64(tb[VANITY_SHARD_A_MEMORY]);
	if (tb[VANITY_SHARD_A_UID])
		s->uid = nla_get_u32(tb[VANITY_SHARD_A_UID]);
	if (tb[VANITY_SHARD_A_PID])
		s->pid = nla_get_u32(tb[VANITY_SHARD_A_PID]);
	copy_str(s->program, sizeof(s->program), tb[VANITY_SHARD_A_PROGRAM]);
	if (tb[VANITY_SHARD_A_RING_ENTRIES])
		s->ring_entries = nla_get_u32(tb[VANITY_SHARD_A_RING_ENTRIES]);
	if (tb[VANITY_SHARD_A_SQPOLL])
		s->sqpoll = nla_get_u8(tb[VANITY_SHARD_A_SQPOLL]);
	if (tb[VANITY_SHARD_A_SUBMITTED])
		s->submitted = nla_get_u64(tb[VANITY_SHARD_A_SUBMITTED]);
	if (tb[VANITY_SHARD_A_COMPLETED])
		s->completed = nla_get_u64(tb[VANITY_SHARD_A_COMPLETED]);
	if (tb[VANITY_SHARD_A_OVERFLOWS])
		s->overflows = nla_get_u64(tb[VANITY_SHARD_A_OVERFLOWS]);
	if (tb[VANITY_SHARD_A_POLLER_WAKEUPS])
		s->poller_wakeups = nla_get_u64(tb[VANITY_SHARD_A_POLLER_WAKEUPS]);
	if (tb[VANITY_SHARD_A_OPS]) {
		int n = nla_len(tb[VANITY_SHARD_A_OPS]);

		if (n > (int)sizeof(s->ops))
			n = sizeof(s->ops);
		memcpy(s->ops, nla_data(tb[VANITY_SHARD_A_OPS]), n);
	}
	return 0;
}

static int parse_channel(struct vanity_status *st, struct nlattr *nest)
{
	struct nlattr *tb[VANITY_CHANNEL_A_MAX + 1];
	struct vanity_status_channel *c;

	if (st->nchannels >= VANITY_MAX_CHANNELS)
		return -E2BIG;
	if (nla_parse_nested(tb, VANITY_CHANNEL_A_MAX, nest, NULL) < 0)
		return -EINVAL;
	c = &st->channels[st->nchannels++];
	memset(c, 0, sizeof(*c));
	if (tb[VANITY_CHANNEL_A_INDEX])
		c->index = nla_get_u32(tb[VANITY_CHANNEL_A_INDEX]);
	copy_str(c->name, sizeof(c->name), tb[VANITY_CHANNEL_A_NAME]);
	if (tb[VANITY_CHANNEL_A_FROM])
		c->from = nla_get_u32(tb[VANITY_CHANNEL_A_FROM]);
	if (tb[VANITY_CHANNEL_A_TO])
		c->to = nla_get_u32(tb[VANITY_CHANNEL_A_TO]);
	if (tb[VANITY_CHANNEL_A_SLOT_SIZE])
		c->slot_size = nla_get_u32(tb[VANITY_CHANNEL_A_SLOT_SIZE]);
	if (tb[VANITY_CHANNEL_A_SLOTS])
		c->slots = nla_get_u32(tb[VANITY_CHANNEL_A_SLOTS]);
	if (tb[VANITY_CHANNEL_A_SIZE])
		c->size = nla_get_u64(tb[VANITY_CHANNEL_A_SIZE]);
	if (tb[VANITY_CHANNEL_A_HEAD])
		c->head = nla_get_u32(tb[VANITY_CHANNEL_A_HEAD]);
	if (tb[VANITY_CHANNEL_A_TAIL])
		c->tail = nla_get_u32(tb[VANITY_CHANNEL_A_TAIL]);
	if (tb[VANITY_CHANNEL_A_SENT])
		c->sent = nla_get_u64(tb[VANITY_CHANNEL_A_SENT]);
	if (tb[VANITY_CHANNEL_A_RECEIVED])
		c->received = nla_get_u64(tb[VANITY_CHANNEL_A_RECEIVED]);
	if (tb[VANITY_CHANNEL_A_SLEEPS])
		c->sleeps = nla_get_u64(tb[VANITY_CHANNEL_A_SLEEPS]);
	if (tb[VANITY_CHANNEL_A_WAKEUPS])
		c->wakeups = nla_get_u64(tb[VANITY_CHANNEL_A_WAKEUPS]);
	return 0;
}

/*
 * Passed devices. Every attribute is length-checked by a policy (libnl's
 * nla_get_*() do not check); entries past our arrays are ignored, so a
 * newer module with more of them still shows what fits.
 */
static struct nla_policy device_policy[VANITY_DEVICE_A_MAX + 1] = {
	[VANITY_DEVICE_A_INDEX] = { .type = NLA_U32 },
	[VANITY_DEVICE_A_NAME] = { .type = NLA_STRING },
	[VANITY_DEVICE_A_PCI] = { .type = NLA_STRING },
	[VANITY_DEVICE_A_OWNER] = { .type = NLA_U32 },
	[VANITY_DEVICE_A_HOST_DRIVER] = { .type = NLA_STRING },
	[VANITY_DEVICE_A_BUS_MASTER] = { .type = NLA_U8 },
	[VANITY_DEVICE_A_BAR] = { .type = NLA_NESTED },
	[VANITY_DEVICE_A_WINDOW] = { .type = NLA_NESTED },
	[VANITY_DEVICE_A_IRQ_MSIX] = { .type = NLA_U8 },
	[VANITY_DEVICE_A_IRQ_COUNTS] = { .type = NLA_BINARY },
};

static struct nla_policy bar_policy[VANITY_BAR_A_MAX + 1] = {
	[VANITY_BAR_A_INDEX] = { .type = NLA_U32 },
	[VANITY_BAR_A_SIZE] = { .type = NLA_U64 },
	[VANITY_BAR_A_FLAGS] = { .type = NLA_U32 },
};

static struct nla_policy window_policy[VANITY_WINDOW_A_MAX + 1] = {
	[VANITY_WINDOW_A_KIND] = { .type = NLA_U32 },
	[VANITY_WINDOW_A_INDEX] = { .type = NLA_U32 },
	[VANITY_WINDOW_A_IOVA] = { .type = NLA_U64 },
	[VANITY_WINDOW_A_SIZE] = { .type = NLA_U64 },
	[VANITY_WINDOW_A_MAPPED] = { .type = NLA_U8 },
};

static int parse_bar(struct vanity_status_device *d, struct nlattr *nest)
{
	struct nlattr *tb[VANITY_BAR_A_MAX + 1];
	struct vanity_status_bar *b;

	if (nla_parse_nested(tb, VANITY_BAR_A_MAX, nest, bar_policy) < 0)
		return -EINVAL;
	if (d->nbars >= VANITY_DEVICE_BARS)
		return 0;
	b = &d->bars[d->nbars++];
	if (tb[VANITY_BAR_A_INDEX])
		b->index = nla_get_u32(tb[VANITY_BAR_A_INDEX]);
	if (tb[VANITY_BAR_A_SIZE])
		b->size = nla_get_u64(tb[VANITY_BAR_A_SIZE]);
	if (tb[VANITY_BAR_A_FLAGS])
		b->flags = nla_get_u32(tb[VANITY_BAR_A_FLAGS]);
	return 0;
}

static int parse_window(struct vanity_status_device *d, struct nlattr *nest)
{
	struct nlattr *tb[VANITY_WINDOW_A_MAX + 1];
	struct vanity_status_window *w;

	if (nla_parse_nested(tb, VANITY_WINDOW_A_MAX, nest, window_policy) < 0)
		return -EINVAL;
	if (d->nwindows >= VANITY_STATUS_WINDOWS_MAX)
		return 0;
	w = &d->windows[d->nwindows++];
	if (tb[VANITY_WINDOW_A_KIND])
		w->kind = nla_get_u32(tb[VANITY_WINDOW_A_KIND]);
	if (tb[VANITY_WINDOW_A_INDEX])
		w->index = nla_get_u32(tb[VANITY_WINDOW_A_INDEX]);
	if (tb[VANITY_WINDOW_A_IOVA])
		w->iova = nla_get_u64(tb[VANITY_WINDOW_A_IOVA]);
	if (tb[VANITY_WINDOW_A_SIZE])
		w->size = nla_get_u64(tb[VANITY_WINDOW_A_SIZE]);
	if (tb[VANITY_WINDOW_A_MAPPED])
		w->mapped = nla_get_u8(tb[VANITY_WINDOW_A_MAPPED]);
	return 0;
}

static int parse_device(struct vanity_status *st, struct nlattr *nest)
{
	struct nlattr *tb[VANITY_DEVICE_A_MAX + 1];
	struct vanity_status_device *d;
	struct nlattr *a;
	int rem, ret = 0;

	if (nla_parse_nested(tb, VANITY_DEVICE_A_MAX, nest, device_policy) < 0)
		return -EINVAL;
	if (st->ndevices >= VANITY_MAX_DEVICES)
		return 0;
	d = &st->devices[st->ndevices++];
	memset(d, 0, sizeof(*d));
	if (tb[VANITY_DEVICE_A_INDEX])
		d->index = nla_get_u32(tb[VANITY_DEVICE_A_INDEX]);
	copy_str(d->name, sizeof(d->name), tb[VANITY_DEVICE_A_NAME]);
	copy_str(d->pci, sizeof(d->pci), tb[VANITY_DEVICE_A_PCI]);
	if (tb[VANITY_DEVICE_A_OWNER])
		d->owner = nla_get_u32(tb[VANITY_DEVICE_A_OWNER]);
	copy_str(d->host_driver, sizeof(d->host_driver),
		 tb[VANITY_DEVICE_A_HOST_DRIVER]);
	if (tb[VANITY_DEVICE_A_BUS_MASTER])
		d->bus_master = nla_get_u8(tb[VANITY_DEVICE_A_BUS_MASTER]);
	if (tb[VANITY_DEVICE_A_IRQ_MSIX])
		d->msix = nla_get_u8(tb[VANITY_DEVICE_A_IRQ_MSIX]);
	if (tb[VANITY_DEVICE_A_IRQ_COUNTS]) {
		size_t n = (size_t)nla_len(tb[VANITY_DEVICE_A_IRQ_COUNTS]) /
			   sizeof(uint64_t);

		if (n > VANITY_STATUS_VECTORS_MAX)
			n = VANITY_STATUS_VECTORS_MAX;
		memcpy(d->irq_counts, nla_data(tb[VANITY_DEVICE_A_IRQ_COUNTS]),
		       n * sizeof(uint64_t));
		d->nvec = (unsigned int)n;
	}
	/* BARs and windows repeat: walk the nest, not the parsed table. */
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) == VANITY_DEVICE_A_BAR)
			ret = parse_bar(d, a);
		else if (nla_type(a) == VANITY_DEVICE_A_WINDOW)
			ret = parse_window(d, a);
		if (ret)
			return ret;
	}
	return 0;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_ctx *ctx = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *a;
	int rem, ret = 0;

	if (!ctx->st)
		return NL_OK;
	memset(ctx->st, 0, sizeof(*ctx->st));
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		switch (nla_type(a)) {
		case VANITY_A_NAME:
			copy_str(ctx->st->name, sizeof(ctx->st->name), a);
			break;
		case VANITY_A_SHARD:
			ret = parse_shard(ctx->st, a);
			break;
		case VANITY_A_CHANNEL:
			ret = parse_channel(ctx->st, a);
			break;
		case VANITY_A_DEVICE:
			ret = parse_device(ctx->st, a);
			break;
		}
		if (ret) {
			ctx->err = ret;
			break;
		}
	}
	return NL_OK;
}

int vanity_nl_open(struct vanity_nl **out)
{
	struct vanity_nl *nl = calloc(1, sizeof(*nl));
	int one = 1, ret;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = -EPROTONOSUPPORT;
		goto err;
	}
	/* Errors carry the kernel's message, not a copy of our image. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_enable_msg_peek(nl->sk);	/* GET replies exceed a page */
	/* A full system's GET reply plus its ACK exceeds libnl's 32 KiB. */
	nl_socket_set_buffer_size(nl->sk, 1 << 20, 1 << 20);
	nl->family = genl_ctrl_resolve(nl->sk, VANITY_GENL_NAME);
	if (nl->family < 0) {
		ret = -ENODEV;
		goto err;
	}
	*out = nl;
	return 0;
err:
	nl_socket_free(nl->sk);
	free(nl);
	return ret;
}

void vanity_nl_close(struct vanity_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

const char *vanity_nl_msg(const struct vanity_nl *nl)
{
	return nl ? nl->msg : "";
}

static int transact(struct vanity_nl *nl, struct nl_msg *msg,
		    struct vanity_status *st)
{
	struct nl_ctx ctx = { .nl = nl, .st = st };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	nl->msg[0] = '\0';
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &ctx);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ctx);
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!ctx.done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret < 0 && !ctx.done) {
			ctx.err = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return ctx.err;
}

static struct nl_msg *request(struct vanity_nl *nl, uint8_t cmd, size_t extra)
{
	struct nl_msg *msg = nlmsg_alloc_size(extra + 4096);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 NLM_F_ACK, cmd, VANITY_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int vanity_nl_up(struct vanity_nl *nl, const void *img, size_t len)
{
	struct nl_msg *msg;

	if (len > VANITY_IMAGE_MAX_SIZE) {
		snprintf(nl->msg, sizeof(nl->msg),
			 "image of %zu bytes exceeds %u", len,
			 VANITY_IMAGE_MAX_SIZE);
		return -E2BIG;
	}
	msg = request(nl, VANITY_CMD_UP, len);
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, VANITY_A_IMAGE, (int)len, img) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(nl, msg, NULL);
}

int vanity_nl_down(struct vanity_nl *nl, bool force)
{
	struct nl_msg *msg = request(nl, VANITY_CMD_DOWN, 0);

	if (!msg)
		return -ENOMEM;
	if (force && nla_put_flag(msg, VANITY_A_FORCE) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(nl, msg, NULL);
}

int vanity_nl_get(struct vanity_nl *nl, struct vanity_status *st)
{
	struct nl_msg *msg = request(nl, VANITY_CMD_GET, 0);

	if (!msg)
		return -ENOMEM;
	return transact(nl, msg, st);
}

/* Resolve the family and its events group again, on a socket of its own. */
static int resolve_again(int *family, int *grp)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret = -ENOMEM;

	if (!sk)
		return ret;
	ret = genl_connect(sk) < 0 ? -EIO : 0;
	if (!ret) {
		*family = genl_ctrl_resolve(sk, VANITY_GENL_NAME);
		*grp = genl_ctrl_resolve_grp(sk, VANITY_GENL_NAME,
					     VANITY_GENL_MCGRP_EVENTS);
	}
	nl_socket_free(sk);
	return ret;
}

int vanity_nl_subscribe(struct vanity_nl *nl)
{
	int grp, ctrl, family2, grp2, ret;

	/*
	 * Both ids before joining: once joined, libnl's request/reply
	 * exchange could take a notification for its reply.
	 */
	grp = genl_ctrl_resolve_grp(nl->sk, VANITY_GENL_NAME,
				    VANITY_GENL_MCGRP_EVENTS);
	if (grp == -NLE_OBJ_NOTFOUND)
		return -ENOENT;
	ctrl = genl_ctrl_resolve_grp(nl->sk, "nlctrl", "notify");
	if (grp < 0 || ctrl < 0)
		return -EIO;
	if (nl_socket_add_membership(nl->sk, ctrl) < 0 ||
	    nl_socket_add_membership(nl->sk, grp) < 0)
		return -EIO;
	/*
	 * An unload from here on is heard (nlctrl's DELFAMILY); one between
	 * resolving and joining is not, so check that the family and the
	 * group are still the ones joined.
	 */
	ret = resolve_again(&family2, &grp2);
	if (ret)
		return ret;
	if (family2 != nl->family || grp2 != grp)
		return -ENODEV;
	return 0;
}

static int ms_left(const struct timespec *end)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (end->tv_sec - now.tv_sec) * 1000LL +
	     (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 1 << 30 ? 1 << 30 : (int)ms;
}

/* One message off the socket: 0 to go on, else what ends the wait. */
static int take_event(const struct vanity_nl *nl, struct nlmsghdr *nlh,
		      int (*fn)(const struct vanity_event *ev, void *arg),
		      void *arg)
{
	static struct nla_policy ev_policy[VANITY_A_MAX + 1] = {
		[VANITY_A_NAME] = { .type = NLA_STRING },
		[VANITY_A_FORCE] = { .type = NLA_FLAG },
		[VANITY_A_SHARD_COUNT] = { .type = NLA_U32 },
		[VANITY_A_CHANNEL_COUNT] = { .type = NLA_U32 },
	};
	static struct nla_policy ctrl_policy[CTRL_ATTR_MAX + 1] = {
		[CTRL_ATTR_FAMILY_ID] = { .type = NLA_U16 },
	};
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[VANITY_A_MAX + 1];
	struct nlattr *ctb[CTRL_ATTR_MAX + 1];
	struct vanity_event ev;

	if (nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
		return 0;
	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		if (g->cmd != CTRL_CMD_DELFAMILY ||
		    nla_parse(ctb, CTRL_ATTR_MAX, genlmsg_attrdata(g, 0),
			      genlmsg_attrlen(g, 0), ctrl_policy) < 0 ||
		    !ctb[CTRL_ATTR_FAMILY_ID])
			return 0;
		return nla_get_u16(ctb[CTRL_ATTR_FAMILY_ID]) == nl->family ?
		       -ENODEV : 0;
	}
	if (nlh->nlmsg_type != nl->family ||
	    nla_parse(tb, VANITY_A_MAX, genlmsg_attrdata(g, 0),
		      genlmsg_attrlen(g, 0), ev_policy) < 0)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.cmd = g->cmd;
	copy_str(ev.name, sizeof(ev.name), tb[VANITY_A_NAME]);
	if (tb[VANITY_A_SHARD_COUNT])
		ev.nshards = nla_get_u32(tb[VANITY_A_SHARD_COUNT]);
	if (tb[VANITY_A_CHANNEL_COUNT])
		ev.nchannels = nla_get_u32(tb[VANITY_A_CHANNEL_COUNT]);
	ev.forced = tb[VANITY_A_FORCE] != NULL;
	return ev.cmd ? fn(&ev, arg) : 0;
}

int vanity_nl_events(struct vanity_nl *nl, int timeout_ms,
		     int (*fn)(const struct vanity_event *ev, void *arg),
		     void *arg)
{
	/* nlctrl's notifications list a family's ops: a few KiB at most. */
	union {
		struct nlmsghdr h;
		char b[64 << 10];
	} buf;
	struct pollfd p = { .fd = nl_socket_get_fd(nl->sk), .events = POLLIN };
	struct timespec end;
	bool first = true;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += timeout_ms % 1000 * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		struct nlmsghdr *nlh;
		ssize_t len;

		/* Past the deadline, what is queued waits for the next call. */
		if (timeout_ms >= 0 && !first && !ms_left(&end))
			return 0;
		first = false;
		ret = poll(&p, 1, timeout_ms < 0 ? -1 : ms_left(&end));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return 0;
		len = recvfrom(p.fd, buf.b, sizeof(buf.b), MSG_DONTWAIT | MSG_TRUNC,
			       (struct sockaddr *)&from, &fromlen);
		if (len < 0 && errno == ENOBUFS) {
			struct vanity_event lost = { .cmd = 0 };

			ret = fn(&lost, arg);
			if (ret)
				return ret;
			continue;
		}
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (len < 0)
			return -errno;
		/* Only the kernel speaks for the family; skip what is cut. */
		if (from.nl_pid != 0 || len > (ssize_t)sizeof(buf.b))
			continue;
		for (nlh = &buf.h; NLMSG_OK(nlh, (size_t)len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			ret = take_event(nl, nlh, fn, arg);
			if (ret)
				return ret;
		}
	}
}
