// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Channel setup and slow paths: lookup and mapping through the module,
 * binding a mapped region, and the spin-then-sleep blocking calls built on
 * a doorbell (module ioctls here; the simulator brings its own ops).
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "vanity.h"
#include "lib.h"
#include "chan.h"
#include "deadline.h"
#include "bell.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int module_wait(struct vanity_channel *ch, uint32_t expect,
		       int64_t timeout_ns)
{
	struct vanity *v = ch->bell_ctx;
	struct vanity_doorbell db = {
		.size = sizeof(db),
		.channel = ch->index,
		.expect = expect,
		.timeout_ns = timeout_ns,
	};

	return ioctl(v->fd, VANITY_IOC_WAIT, &db) < 0 ? -errno : 0;
}

static int module_wake(struct vanity_channel *ch)
{
	struct vanity *v = ch->bell_ctx;
	struct vanity_doorbell db = {
		.size = sizeof(db),
		.channel = ch->index,
	};

	return ioctl(v->fd, VANITY_IOC_WAKE, &db) < 0 ? -errno : 0;
}

static const struct vanity_bell_ops module_bell = {
	.wait = module_wait,
	.wake = module_wake,
};

void vanity__ring(struct vanity_channel *ch)
{
	struct vanity_chan_ctr *c = ch->role == VANITY_ROLE_FROM ?
				    &ch->hdr->prod : &ch->hdr->cons;

	if (ch->bell && !ch->bell->wake(ch))
		vanity__ctr_add(&c->wakeups, 1);
}

size_t vanity_channel_region_bytes(uint32_t slot_size, uint32_t slots)
{
	return (size_t)vanity_chan_region_bytes(slot_size, slots);
}

void vanity_channel_format(void *region, uint32_t slot_size, uint32_t slots,
			   uint32_t start)
{
	vanity_chan_init(region, slot_size, slots, start);
}

int vanity_channel_bind(struct vanity_channel *ch, void *region, size_t size,
			uint32_t role, const struct vanity_bell_ops *bell,
			void *bell_ctx)
{
	struct vanity_chan_hdr *h = region, id;
	int ret;

	if (!ch || !region ||
	    (role != VANITY_ROLE_FROM && role != VANITY_ROLE_TO))
		return -EINVAL;
	/* The peer can write the header too: check and use one copy. */
	memcpy(&id, region, offsetof(struct vanity_chan_hdr, head));
	ret = vanity_chan_check(&id, size);
	if (ret)
		return ret;
	ch->hdr = h;
	ch->data = (uint8_t *)region + id.data_off;
	ch->mask = id.slots - 1;
	ch->stride = id.stride;
	ch->slot_size = id.slot_size;
	ch->slots = id.slots;
	ch->region = region;
	ch->size = size;
	ch->role = role;
	ch->bell = bell;
	ch->bell_ctx = bell_ctx;
	ch->spin_ns = VANITY_SPIN_NS_DEFAULT;
	/* A restarted endpoint resumes exactly where the channel says. */
	if (role == VANITY_ROLE_FROM) {
		ch->pos = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
		ch->limit = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE) +
			    h->slots;
		/* A blocking call of a dead predecessor left its bit up. */
		vanity_bell_lower(vanity_bell_flag(h, false), VANITY_WAITING_LIB);
	} else {
		ch->pos = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
		ch->limit = 0;
		vanity_bell_lower(vanity_bell_flag(h, true), VANITY_WAITING_LIB);
	}
	return 0;
}

void vanity_channel_set_spin(struct vanity_channel *ch, uint32_t spin_ns)
{
	ch->spin_ns = spin_ns;
}

/* Ready to proceed: a free slot (producer) or a message (consumer). */
static bool ready(struct vanity_channel *ch)
{
	if (ch->role == VANITY_ROLE_FROM) {
		if (ch->limit != ch->pos)
			return true;
		ch->limit = __atomic_load_n(&ch->hdr->tail, __ATOMIC_ACQUIRE) +
			    ch->slots;
		return ch->limit != ch->pos;
	}
	return __atomic_load_n((uint32_t *)vanity__slot(ch, ch->pos),
			       __ATOMIC_ACQUIRE) == ch->pos + 1;
}

/*
 * Spin for the budget, then sleep: raise our waiting flag, fence, look
 * again, and only then ask the doorbell to sleep while the peer's index
 * still reads as what we saw. The module's WAIT completes the handshake
 * with a barrier on the peer's CPUs, so its fence-free publish cannot slip
 * between our last look and our sleep.
 */
static int block(struct vanity_channel *ch, int64_t timeout_ns)
{
	bool prod = ch->role == VANITY_ROLE_FROM;
	uint32_t *flag = vanity_bell_flag(ch->hdr, !prod);
	uint32_t *index = vanity_bell_word(ch->hdr, !prod);
	struct vanity_chan_ctr *c = prod ? &ch->hdr->prod : &ch->hdr->cons;
	int64_t start = now_ns(), spin_end = start + ch->spin_ns;
	/* Saturated (the core's rule): a huge timeout is none, not the past. */
	int64_t deadline = vanity_deadline_after(start, timeout_ns);
	unsigned int n = 0;
	int ret = 0;

	if (ready(ch))
		return 0;
	while (ch->spin_ns) {
		vanity_cpu_relax();
		if (ready(ch))
			return 0;
		/*
		 * Shards that share a CPU take turns: a spinning one hands
		 * it to a runnable peer (its producer, often) every 8 polls.
		 * Alone on its CPU, sched_yield() returns at once.
		 */
		if (++n % 8 == 0)
			sched_yield();
		if (n % 64 == 0) {
			int64_t t = now_ns();

			if (t >= spin_end)
				break;
			if (t >= deadline)
				return -ETIME;
		}
	}
	if (!ch->bell)
		return -EOPNOTSUPP;
	for (;;) {
		uint32_t expect;
		int64_t left;

		/* Our bit only: an armed ring WAIT on this end has its own. */
		vanity_bell_raise(flag, VANITY_WAITING_LIB);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		expect = __atomic_load_n(index, __ATOMIC_ACQUIRE);
		if (ready(ch))
			break;
		left = deadline == VANITY_NEVER ? -1 : deadline - now_ns();
		if (deadline != VANITY_NEVER && left <= 0) {
			ret = -ETIME;
			break;
		}
		vanity__ctr_add(&c->sleeps, 1);
		ret = ch->bell->wait(ch, expect, left);
		if (ret && ret != -ETIME && ret != -EINTR)
			break;
		if (ready(ch)) {
			ret = 0;
			break;
		}
		if (ret)
			break;
	}
	vanity_bell_lower(flag, VANITY_WAITING_LIB);
	return ret;
}

int vanity_wait_space(struct vanity_channel *ch, int64_t timeout_ns)
{
	if (ch->role != VANITY_ROLE_FROM)
		return -EINVAL;
	return block(ch, timeout_ns);
}

int vanity_wait_data(struct vanity_channel *ch, int64_t timeout_ns)
{
	if (ch->role != VANITY_ROLE_TO)
		return -EINVAL;
	return block(ch, timeout_ns);
}

int vanity_send_wait(struct vanity_channel *ch, const void *msg,
		     int64_t timeout_ns)
{
	int ret;

	while (vanity_send(ch, msg)) {
		ret = vanity_wait_space(ch, timeout_ns);
		if (ret)
			return ret;
	}
	return 0;
}

int vanity_recv_wait(struct vanity_channel *ch, void *msg, int64_t timeout_ns)
{
	int ret;

	while (vanity_recv(ch, msg)) {
		ret = vanity_wait_data(ch, timeout_ns);
		if (ret)
			return ret;
	}
	return 0;
}

int vanity_channel_lookup(struct vanity *v, const char *name,
			  struct vanity_channel_info *out)
{
	if (!v || !name || !out || strlen(name) >= VANITY_NAME_MAX)
		return -EINVAL;
	if (v->hosted)
		return vanity__hosted_lookup(v, name, out);
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	strncpy(out->name, name, sizeof(out->name) - 1);
	return ioctl(v->fd, VANITY_IOC_CHANNEL, out) < 0 ? -errno : 0;
}

int vanity_channel_get(struct vanity *v, const char *name,
		       struct vanity_channel **out)
{
	struct vanity_channel_info ci;
	struct vanity_chan_map *m;
	void *p;
	int ret;

	if (!v || !name || !out || strlen(name) >= VANITY_NAME_MAX)
		return -EINVAL;
	for (m = v->chans; m; m = m->next) {
		if (!strcmp(m->ch.name, name)) {
			*out = &m->ch;
			return 0;
		}
	}
	if (v->hosted) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		ret = vanity__hosted_channel(v, name, m);
		if (ret) {
			free(m);
			return ret;
		}
		m->next = v->chans;
		v->chans = m;
		*out = &m->ch;
		return 0;
	}
	ret = vanity_channel_lookup(v, name, &ci);
	if (ret)
		return ret;
	if (ci.role == VANITY_ROLE_NONE)
		return -EACCES;		/* known, not ours to map */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	p = mmap(NULL, ci.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->fd, (off_t)ci.mmap_offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		free(m);
		return ret;
	}
	ret = vanity_channel_bind(&m->ch, p, ci.region_size, ci.role,
				  &module_bell, v);
	if (ret) {
		munmap(p, ci.region_size);
		free(m);
		return ret;
	}
	m->ch.index = ci.index;
	m->ch.peer = ci.role == VANITY_ROLE_FROM ? ci.to : ci.from;
	memcpy(m->ch.name, ci.name, sizeof(m->ch.name));
	m->next = v->chans;
	v->chans = m;
	*out = &m->ch;
	return 0;
}
