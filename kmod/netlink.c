// SPDX-License-Identifier: GPL-2.0
/*
 * The "vanity" generic netlink family. UP and DOWN are admin-only and
 * explain every refusal through extack; GET replies with the whole system.
 */
#include <net/genetlink.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "netlink.h"
#include "system.h"
#include "image.h"
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
	msg = nl_msg_buf();
	if (!msg) {
		NL_SET_ERR_MSG(info->extack, "out of memory for a reply");
		return -ENOMEM;
	}
	ret = vanity_system_up(nla_data(attr), nla_len(attr), msg);
	if (ret)
		nl_set_msg(info->extack, msg, attr);
	return ret;
}

static int nl_down(struct sk_buff *skb, struct genl_info *info)
{
	char *msg = nl_msg_buf();
	int ret;

	if (!msg) {
		NL_SET_ERR_MSG(info->extack, "out of memory for a reply");
		return -ENOMEM;
	}
	ret = vanity_system_down(nla_get_flag(info->attrs[VANITY_A_FORCE]),
				 msg);
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

static int put_shard(struct sk_buff *msg, const struct vanity_shard *s)
{
	const char *prog = vanity_image_str(s->sys->image, s->desc->program);
	struct nlattr *nest = nla_nest_start(msg, VANITY_A_SHARD);
	const struct vanity_ring *r = s->ring;
	u64 ops[VANITY_OP_LAST];
	unsigned int i;

	for (i = 0; i < VANITY_OP_LAST; i++)
		ops[i] = READ_ONCE(r->ops[i]);

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
	    nla_put_u32(msg, VANITY_SHARD_A_RING_ENTRIES, r->off.sq_entries) ||
	    nla_put_u8(msg, VANITY_SHARD_A_SQPOLL, !!r->poller) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_SUBMITTED,
			      READ_ONCE(r->submitted), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_COMPLETED,
			      READ_ONCE(r->completed), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_OVERFLOWS,
			      READ_ONCE(r->overflows), VANITY_SHARD_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_SHARD_A_POLLER_WAKEUPS,
			      READ_ONCE(r->poller_wakeups),
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

	/* Shard-written numbers, shown as they are: the kernel trusts none. */
	if (vanity_region_peek(c->region, 0, &h, sizeof(h)))
		memset(&h, 0, sizeof(h));

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
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_WAKEUPS,
			      atomic64_read(&c->wakes), VANITY_CHANNEL_A_PAD) ||
	    nla_put_u64_64bit(msg, VANITY_CHANNEL_A_SLEEPS,
			      atomic64_read(&c->waits), VANITY_CHANNEL_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static struct genl_family vanity_family;

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
	.resv_start_op = VANITY_CMD_GET + 1,
};

int vanity_nl_init(void)
{
	return genl_register_family(&vanity_family);
}

void vanity_nl_exit(void)
{
	genl_unregister_family(&vanity_family);
	nl_msg_slots_free();
}
