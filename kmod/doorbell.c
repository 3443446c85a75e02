// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbells. A sleeper publishes its *_waiting flag, then WAIT makes that
 * flag and the peer's stores mutually visible with a barrier IPI to the
 * peer's CPUs before it compares the index word: so the peer's fast path
 * needs no fence, and a wakeup is never lost. The module reads nothing of
 * the region but that one word, through a page reference of its own.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/mm.h>
#include <linux/hrtimer.h>

#include "doorbell.h"
#include "system.h"
#include "bell.h"

static void barrier_ipi(void *info)
{
	/* Orders the interrupted code's earlier stores before its later loads. */
	smp_mb();
}

void vanity_doorbell_barrier(const struct vanity_shard *peer)
{
	on_each_cpu_mask(peer->cpus, barrier_ipi, NULL, true);
}

/* Channel @idx with the caller's role in it, or an ERR_PTR. Under vanity_lock. */
static struct vanity_channel *lookup(struct vanity_system *sys,
				     struct vanity_shard *me, u32 idx,
				     u32 *role)
{
	struct vanity_channel *c;

	if (sys->dead)
		return ERR_PTR(-ENODEV);
	if (idx >= sys->nchannels)
		return ERR_PTR(-ENOENT);
	c = &sys->channels[idx];
	if (c->desc->from == me->index)
		*role = VANITY_ROLE_FROM;
	else if (c->desc->to == me->index)
		*role = VANITY_ROLE_TO;
	else
		return ERR_PTR(-EACCES);
	return c;
}

long vanity_doorbell_wait(struct vanity_system *sys, struct vanity_shard *me,
			  const struct vanity_doorbell *db)
{
	struct vanity_channel *c;
	struct vanity_shard *peer;
	struct page *hdr = NULL;
	wait_queue_head_t *wq;
	DEFINE_WAIT(wait);
	long ret = 0;
	u32 role, *word;

	mutex_lock(&vanity_lock);
	c = lookup(sys, me, db->channel, &role);
	if (IS_ERR(c)) {
		mutex_unlock(&vanity_lock);
		return PTR_ERR(c);
	}
	down_read(&c->region->lock);
	if (!c->region->revoked) {
		hdr = c->region->pages[0];
		get_page(hdr);	/* outlives a forced DOWN while we sleep */
	}
	up_read(&c->region->lock);
	mutex_unlock(&vanity_lock);
	if (!hdr)
		return -ENODEV;

	if (role == VANITY_ROLE_TO) {
		wq = &c->wq_data;
		peer = &sys->shards[c->desc->from];
	} else {
		wq = &c->wq_space;
		peer = &sys->shards[c->desc->to];
	}
	word = vanity_bell_word(page_address(hdr), role == VANITY_ROLE_TO);
	atomic64_inc(&c->waits);

	prepare_to_wait(wq, &wait, TASK_INTERRUPTIBLE);
	/* Our flag store before the peer's next load; its stores before ours. */
	smp_mb();
	vanity_doorbell_barrier(peer);
	if (READ_ONCE(*word) != db->expect || READ_ONCE(sys->dead)) {
		ret = 0;
	} else if (signal_pending(current)) {
		ret = -EINTR;
	} else if (db->timeout_ns == 0) {
		ret = -ETIME;
	} else if (db->timeout_ns < 0) {
		schedule();
	} else {
		ktime_t t = ns_to_ktime(db->timeout_ns);

		/* 0: the timer fired before anyone rang. */
		if (!schedule_hrtimeout_range(&t, current->timer_slack_ns,
					      HRTIMER_MODE_REL))
			ret = READ_ONCE(*word) != db->expect ? 0 : -ETIME;
	}
	finish_wait(wq, &wait);
	if (!ret && signal_pending(current) && READ_ONCE(*word) == db->expect)
		ret = -EINTR;
	put_page(hdr);
	return ret;
}

long vanity_doorbell_wake(struct vanity_system *sys, struct vanity_shard *me,
			  const struct vanity_doorbell *db)
{
	struct vanity_channel *c;
	u32 role;

	mutex_lock(&vanity_lock);
	c = lookup(sys, me, db->channel, &role);
	if (!IS_ERR(c)) {
		atomic64_inc(&c->wakes);
		wake_up_interruptible(role == VANITY_ROLE_FROM ? &c->wq_data :
				      &c->wq_space);
	}
	mutex_unlock(&vanity_lock);
	return PTR_ERR_OR_ZERO(c);
}
