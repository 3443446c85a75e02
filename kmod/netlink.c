// SPDX-License-Identifier: GPL-2.0
/*
 * The "vanity" generic netlink family. UP and DOWN are admin-only and
 * explain every refusal through extack; GET replies with the whole system,
 * passed devices included;
 * every UP and DOWN that happened is announced to the "events" group.
 */
#include <net/genetlink.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "netlink.h"
#include "system.h"
#include "device.h"
#include "image.h"
#include "chan.h"
#include "ring.h"

/*
 * A refusal's message must outlive its handler: netlink_ack() copies
 * extack's message only after the handler has returned and genl_mutex is
 * dropped (6.1 has no formatted extack; 6.2's holds 80 bytes, too few).
 * A request runs synchronously in the task that sent it, and that task
 * cannot send another before this one's ack is out, so each task has one
 * slot: written only by its own requests, freed once the task has exited
 * (or at unload, when genl_unregister_family() has waited out every ack).
 * No other caller's refusal can land in it, however late the ack.
 */
struct nl_msg_slot {
	struct list_head node;
	struct task_struct *task;	/* a reference: the key is never reused */
	char msg[VANITY_MSG_LEN];
};

static LIST_HEAD(nl_slots);
static DEFINE_MUTEX(nl_slots_lock);

static void nl_slot_free(struct nl_msg_slot *slot)
{
	list_del(&slot->node);
	put_task_struct(slot->task);
	kfree(slot);
}

/* The calling task's message buffer, emptied; NULL when out of memory. */
static char *nl_msg_buf(void)
{
	struct nl_msg_slot *slot, *tmp, *mine = NULL;

	mutex_lock(&nl_slots_lock);
	list_for_each_entry_safe(slot, tmp, &nl_slots, node) {
		if (slot->task == current)
			mine = slot;
		else if (READ_ONCE(slot->task->flags) & PF_EXITING)
			nl_slot_free(slot);	/* its last ack is long out */
	}
	if (!mine) {
		mine = kmalloc(sizeof(*mine), GFP_KERNEL);
		if (mine) {
			get_task_struct(current);
			mine->task = current;
			list_add(&mine->node, &nl_slots);
		}
	}
	mutex_unlock(&nl_slots_lock);
	if (!mine)
		return NULL;
	mine->msg[0] = '\0';
	return mine->msg;
}

static void nl_msg_slots_free(void)
{
	struct nl_msg_slot *slot, *tmp;

	mutex_lock(&nl_slots_lock);
	list_for_each_entry_safe(slot, tmp, &nl_slots, node)
		nl_slot_free(slot);
	mutex_unlock(&nl_slots_lock);
}

/* NL_SET_ERR_MSG* only take literals; point extack at @msg directly. */
static void nl_set_msg(struct netlink_ext_ack *extack, const char *msg,
		       const struct nlattr *attr)
{
	if (!extack || !msg[0])
		return;
	extack->_msg = msg;
	extack->bad_attr = attr;
}

static struct genl_family vanity_family;

enum { NL_MCGRP_EVENTS };

static const struct genl_multicast_group nl_mcgrps[] = {
	/* No GENL_MCAST_CAP_*: a notification tells what GET tells anyone. */
	[NL_MCGRP_EVENTS] = { .name = VANITY_GENL_MCGRP_EVENTS },
};

/* Set under genl_mutex at unload: no UP from then on. */
static bool nl_closing;

/*
 * Notifications. Every UP and DOWN runs under genl_mutex (the family is
 * not parallel_ops, and unload takes it too), so they reach the group in
 * the order the system changed, each after its change is visible to GET.
 * One that cannot be built is not dropped silently: the group's listeners
 * get ENOBUFS, as after a receive queue overrun, and know to GET again.
 */
static struct sk_buff *ntf_new(u8 cmd, void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&vanity_family, &init_net, NL_MCGRP_EVENTS))
		return NULL;
	skb = genlmsg_new(nla_total_size(VANITY_NAME_MAX) +
			  2 * nla_total_size(sizeof(u32)) + nla_total_size(0),
			  GFP_KERNEL);
	*hdr = skb ? genlmsg_put(skb, 0, 0, &vanity_family, 0, cmd) : NULL;
	if (!*hdr) {
		nlmsg_free(skb);
		genl_set_err(&vanity_family, &init_net, 0, NL_MCGRP_EVENTS,
			     -ENOBUFS);
		return NULL;
	}
	return skb;
}

static void ntf_send(struct sk_buff *skb, void *hdr, int err)
{
	if (err) {
		nlmsg_free(skb);
		genl_set_err(&vanity_family, &init_net, 0, NL_MCGRP_EVENTS,
			     -ENOBUFS);
		return;
	}
	genlmsg_end(skb, hdr);
	/* -ESRCH: the last listener left meanwhile; overruns are theirs. */
	genlmsg_multicast(&vanity_family, skb, 0, NL_MCGRP_EVENTS, GFP_KERNEL);
}

/* The system just brought up: its name and how many shards and channels. */
static void ntf_up(void)
{
	char name[VANITY_NAME_MAX];
	u32 nshards, nchannels;
	struct sk_buff *skb;
	void *hdr;

	skb = ntf_new(VANITY_CMD_SYSTEM_UP_NTF, &hdr);
	if (!skb)
		return;
	mutex_lock(&vanity_lock);
	if (!vanity_sys) {	/* cannot be: only DOWN clears it */
		mutex_unlock(&vanity_lock);
		nlmsg_free(skb);
		return;
	}
	strscpy(name, vanity_image_hdr(vanity_sys->image)->name, sizeof(name));
	nshards = vanity_sys->nshards;
	nchannels = vanity_sys->nchannels;
	mutex_unlock(&vanity_lock);
	ntf_send(skb, hdr, nla_put_string(skb, VANITY_A_NAME, name) ||
		 nla_put_u32(skb, VANITY_A_SHARD_COUNT, nshards) ||
		 nla_put_u32(skb, VANITY_A_CHANNEL_COUNT, nchannels));
}

static void ntf_down(const char *name, bool forced)
{
	struct sk_buff *skb;
	void *hdr;

	skb = ntf_new(VANITY_CMD_SYSTEM_DOWN_NTF, &hdr);
	if (skb)
		ntf_send(skb, hdr, nla_put_string(skb, VANITY_A_NAME, name) ||
			 (forced && nla_put_flag(skb, VANITY_A_FORCE)));
}

/* The name of the system that is up, "" when none. */
static void sys_name(char name[VANITY_NAME_MAX])
{
	mutex_lock(&vanity_lock);
	if (vanity_sys)
		strscpy(name, vanity_image_hdr(vanity_sys->image)->name,
			VANITY_NAME_MAX);
	else
		name[0] = '\0';
	mutex_unlock(&vanity_lock);
}

/* DOWN, announced when it happened; @msg as vanity_system_down()'s. */
static int nl_system_down(bool force, char *msg)
{
	char name[VANITY_NAME_MAX];
	int ret;

	sys_name(name);	/* under genl_mutex: still the one DOWN takes */
	ret = vanity_system_down(force, msg);
	if (!ret)
		ntf_down(name, force);
	return ret;
}

static const struct nla_policy vanity_policy[VANITY_A_MAX + 1] = {
	[VANITY_A_IMAGE] = { .type = NLA_BINARY, .len = VANITY_IMAGE_MAX_SIZE },
	[VANITY_A_FORCE] = { .type = NLA_FLAG },
};

static int nl_up(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr;
	char *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VANITY_A_IMAGE))
		return -EINVAL;
	attr = info->attrs[VANITY_A_IMAGE];
	if (nl_closing) {
		NL_SET_ERR_MSG(info->extack, "the module is being unloaded");
		return -ESHUTDOWN;
	}
	msg = nl_msg_buf();
	if (!msg) {
		NL_SET_ERR_MSG(info->extack, "out of memory for a reply");
		return -ENOMEM;
	}
	ret = vanity_system_up(nla_data(attr), nla_len(attr), msg);
	if (ret) {
		nl_set_msg(info->extack, msg, attr);
		return ret;
	}
	ntf_up();
	return 0;
}

static int nl_down(struct sk_buff *skb, struct genl_info *info)
{
	char *msg = nl_msg_buf();
	int ret;

	if (!msg) {
		NL_SET_ERR_MSG(info->extack, "out of memory for a reply");
		return -ENOMEM;
	}
	ret = nl_system_down(nla_get_flag(info->attrs[VANITY_A_FORCE]), msg);
	if (ret)
		nl_set_msg(info->extack, msg, NULL);
	return ret;
}

static size_t shard_msg_size(const struct vanity_system *sys, unsigned int i)
{
	const char *prog = vanity_image_str(sys->image,
					    sys->shards[i].desc->program);

	return nla_total_size(0) + 4 * nla_total_size(sizeof(u32)) +
	       nla_total_size(sizeof(u8)) +
	       4 * nla_total_size_64bit(sizeof(u64)) +
	       nla_total_size(VANITY_OP_LAST * sizeof(u64)) +
	       nla_total_size(VANITY_NAME_MAX) +
	       nla_total_size(VANITY_CPU_WORDS * sizeof(u64)) +
	       nla_total_size_64bit(sizeof(u64)) +
	       (prog ? nla_total_size(strlen(prog) + 1) : 0);
}

static size_t channel_msg_size(void)
{
	return nla_total_size(0) + 7 * nla_total_size(sizeof(u32)) +
	       nla_total_size(VANITY_NAME_MAX) +
	       5 * nla_total_size_64bit(sizeof(u64));
}

/* A device's reply at its largest: every BAR, every vector. */
static size_t device_msg_size(const struct vanity_pdev *d)
{
	size_t bar = nla_total_size(0) + 2 * nla_total_size(sizeof(u32)) +
		     nla_total_size_64bit(sizeof(u64));
	size_t win = nla_total_size(0) + 2 * nla_total_size(sizeof(u32)) +
		     2 * nla_total_size_64bit(sizeof(u64)) +
		     nla_total_size(sizeof(u8));

	return nla_total_size(0) + 2 * nla_total_size(sizeof(u32)) +
	       nla_total_size(VANITY_NAME_MAX) +
	       nla_total_size(sizeof(d->addr)) +
	       nla_total_size(sizeof(d->host_driver)) +
	       2 * nla_total_size(sizeof(u8)) +
	       VANITY_DEVICE_BARS * bar + d->nwin * win +
	       nla_total_size_64bit(VANITY_IRQ_VECTORS_MAX * sizeof(u64));
}

static int put_shard(struct sk_buff *msg, const struct vanity_shard *s)
{
	const char *prog = vanity_image_str(s->sys->image, s->desc->program);
	struct nlattr *nest = nla_nest_start(msg, VANITY_A_SHARD);
	const struct vanity_ring *r = s->ring;
	u64 ops[VANITY_OP_LAST];
	unsigned int i;

	for (i = 0; i < VANITY_OP_LAST; i++)
		ops[i] = READ_ONCE(r->ctr.ops[i]);

	if (!nest ||
	    nla_put_u32(msg, VANITY_SHARD_A_INDEX, s->index) ||
	    nla_put_string(msg, VANITY_SHARD_A_NAME, s->desc->name) ||
	    nla_put(msg, VANITY_SHARD_A_CPUS, sizeof(s->desc->cpus),
		    s->desc->cpus) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_MEMORY, s->desc->memory_size,
			      VANITY_SHARD_A_PAD) ||
	    nla_put_u32(msg, VANITY_SHARD_A_UID, s->desc->uid) ||
	    (s->attached && nla_put_u32(msg, VANITY_SHARD_A_PID, pid_nr(s->pid))) ||
	    (prog && nla_put_string(msg, VANITY_SHARD_A_PROGRAM, prog)) ||
	    nla_put_u32(msg, VANITY_SHARD_A_RING_ENTRIES, r->eng.sq_entries) ||
	    nla_put_u8(msg, VANITY_SHARD_A_SQPOLL, !!r->poller) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_SUBMITTED,
			      READ_ONCE(r->ctr.submitted), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_COMPLETED,
			      READ_ONCE(r->ctr.completed), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_OVERFLOWS,
			      READ_ONCE(r->ctr.overflows), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_POLLER_WAKEUPS,
			      READ_ONCE(r->ctr.poller_wakeups),
			      VANITY_SHARD_A_PAD) ||
	    nla_put(msg, VANITY_SHARD_A_OPS, sizeof(ops), ops))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_channel(struct sk_buff *msg, struct vanity_channel *c)
{
	struct nlattr *nest = nla_nest_start(msg, VANITY_A_CHANNEL);
	struct vanity_chan_hdr h;
	u64 sleeps, wakeups;

	/* Shard-written numbers, shown as they are: the kernel trusts none. */
	if (vanity_region_peek(c->region, 0, &h, sizeof(h)))
		memset(&h, 0, sizeof(h));
	vanity_chan_bell_counts(&h, READ_ONCE(c->eng.notifies), &sleeps,
				&wakeups);

	if (!nest ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_INDEX, c->index) ||
	    nla_put_string(msg, VANITY_CHANNEL_A_NAME, c->desc->name) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_FROM, c->desc->from) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_TO, c->desc->to) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_SLOT_SIZE, c->desc->slot_size) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_SLOTS, c->desc->slots) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_SIZE,
			      vanity_channel_region_size(c->desc),
			      VANITY_CHANNEL_A_PAD) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_HEAD, h.head) ||
	    nla_put_u32(msg, VANITY_CHANNEL_A_TAIL, h.tail) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_SENT, h.prod.msgs,
			      VANITY_CHANNEL_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_RECEIVED, h.cons.msgs,
			      VANITY_CHANNEL_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_WAKEUPS, wakeups,
			      VANITY_CHANNEL_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_SLEEPS, sleeps,
			      VANITY_CHANNEL_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_bar(struct sk_buff *msg, const struct vanity_bar *b,
		   unsigned int index)
{
	struct nlattr *nest = nla_nest_start(msg, VANITY_DEVICE_A_BAR);

	if (!nest ||
	    nla_put_u32(msg, VANITY_BAR_A_INDEX, index) ||
	    nla_put_u64_64bit(msg, VANITY_BAR_A_SIZE, b->size,
			      VANITY_BAR_A_PAD) ||
	    nla_put_u32(msg, VANITY_BAR_A_FLAGS, b->flags))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_window(struct sk_buff *msg, const struct vanity_dma_window *w,
		      bool mapped)
{
	struct nlattr *nest = nla_nest_start(msg, VANITY_DEVICE_A_WINDOW);

	if (!nest ||
	    nla_put_u32(msg, VANITY_WINDOW_A_KIND, w->kind) ||
	    nla_put_u32(msg, VANITY_WINDOW_A_INDEX, w->index) ||
	    nla_put_u64_64bit(msg, VANITY_WINDOW_A_IOVA, w->iova,
			      VANITY_WINDOW_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_WINDOW_A_SIZE, w->size,
			      VANITY_WINDOW_A_PAD) ||
	    nla_put_u8(msg, VANITY_WINDOW_A_MAPPED, mapped))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/* The vectors' counters, written in place: no 512-byte copy on the stack. */
static int put_irq_counts(struct sk_buff *msg, const struct vanity_pdev *d)
{
	unsigned int i, nvec = min_t(unsigned int, READ_ONCE(d->irqs.nvec),
				     VANITY_IRQ_VECTORS_MAX);
	struct nlattr *a;
	u64 *count;

	if (!nvec)
		return 0;
	if (nla_put_u8(msg, VANITY_DEVICE_A_IRQ_MSIX, d->irqs.msix))
		return -EMSGSIZE;
	/* A PAD before it where unaligned u64 stores are not cheap. */
	a = nla_reserve_64bit(msg, VANITY_DEVICE_A_IRQ_COUNTS,
			      nvec * sizeof(u64), VANITY_DEVICE_A_PAD);
	if (!a)
		return -EMSGSIZE;
	count = nla_data(a);
	for (i = 0; i < nvec; i++)
		count[i] = READ_ONCE(d->irqs.count[i]);
	return 0;
}

static int put_pdev(struct sk_buff *msg, const struct vanity_pdev *d)
{
	struct nlattr *nest = nla_nest_start(msg, VANITY_A_DEVICE);
	unsigned int j;

	if (!nest ||
	    nla_put_u32(msg, VANITY_DEVICE_A_INDEX, d->index) ||
	    nla_put_string(msg, VANITY_DEVICE_A_NAME, d->desc->name) ||
	    nla_put_string(msg, VANITY_DEVICE_A_PCI, d->addr) ||
	    nla_put_u32(msg, VANITY_DEVICE_A_OWNER, d->owner->index) ||
	    nla_put_string(msg, VANITY_DEVICE_A_HOST_DRIVER, d->host_driver) ||
	    nla_put_u8(msg, VANITY_DEVICE_A_BUS_MASTER, d->master))
		return -EMSGSIZE;
	for (j = 0; j < VANITY_DEVICE_BARS; j++)
		if (d->bars[j].size && put_bar(msg, &d->bars[j], j))
			return -EMSGSIZE;
	for (j = 0; j < d->nwin; j++)
		if (put_window(msg, &d->win[j], j < d->nmapped))
			return -EMSGSIZE;
	if (put_irq_counts(msg, d))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vanity_system *sys;
	struct sk_buff *msg;
	size_t size;
	unsigned int i;
	void *hdr;
	int ret = -EMSGSIZE;

	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	if (!sys) {
		mutex_unlock(&vanity_lock);
		NL_SET_ERR_MSG(info->extack, "no system is up");
		return -ENOENT;
	}
	size = nla_total_size(VANITY_NAME_MAX) +
	       sys->nchannels * channel_msg_size();
	for (i = 0; i < sys->nshards; i++)
		size += shard_msg_size(sys, i);
	for (i = 0; i < sys->ndevices; i++)
		size += device_msg_size(&sys->devices[i]);
	msg = genlmsg_new(size, GFP_KERNEL);
	if (!msg) {
		mutex_unlock(&vanity_lock);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &vanity_family, 0, VANITY_CMD_GET);
	if (!hdr)
		goto err;
	if (nla_put_string(msg, VANITY_A_NAME,
			   vanity_image_hdr(sys->image)->name))
		goto err;
	for (i = 0; i < sys->nshards; i++)
		if (put_shard(msg, &sys->shards[i]))
			goto err;
	for (i = 0; i < sys->nchannels; i++)
		if (put_channel(msg, &sys->channels[i]))
			goto err;
	for (i = 0; i < sys->ndevices; i++)
		if (put_pdev(msg, &sys->devices[i]))
			goto err;
	mutex_unlock(&vanity_lock);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	mutex_unlock(&vanity_lock);
	nlmsg_free(msg);
	return ret;
}

static const struct genl_small_ops vanity_ops[] = {
	{
		.cmd = VANITY_CMD_UP,
		.flags = GENL_ADMIN_PERM,
		.doit = nl_up,
	},
	{
		.cmd = VANITY_CMD_DOWN,
		.flags = GENL_ADMIN_PERM,
		.doit = nl_down,
	},
	{
		.cmd = VANITY_CMD_GET,
		.doit = nl_get,
	},
};

static struct genl_family vanity_family __ro_after_init = {
	.name = VANITY_GENL_NAME,
	.version = VANITY_GENL_VERSION,
	.maxattr = VANITY_A_MAX,
	.policy = vanity_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.small_ops = vanity_ops,
	.n_small_ops = ARRAY_SIZE(vanity_ops),
	.mcgrps = nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(nl_mcgrps),
	/* The *_NTF commands are never requests: genl answers EOPNOTSUPP. */
	.resv_start_op = VANITY_CMD_GET + 1,
};

int vanity_nl_init(void)
{
	return genl_register_family(&vanity_family);
}

/*
 * A system still up at unload goes down here, while the family can still
 * announce it (main.c's DOWN after this then finds nothing up). Under
 * genl_mutex no handler runs; nl_closing keeps the next UP, which could
 * come before genl_unregister_family() has returned, from undoing it.
 */
void vanity_nl_exit(void)
{
	char msg[VANITY_MSG_LEN];

	genl_lock();
	nl_closing = true;
	nl_system_down(true, msg);	/* forced: fails only when none is up */
	genl_unlock();
	genl_unregister_family(&vanity_family);
	nl_msg_slots_free();
}
