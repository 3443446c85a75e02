// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Attach and detach through /dev/vanity: the ioctl, the private region's
 * mapping and the bookkeeping of mapped channels. Cold path by design.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vanity.h"
#include "lib.h"
#include "hosted.h"

#define VANITY_DEV "/dev/vanity"

int vanity_probe(struct vanity *v, struct vanity_probe *out)
{
	if (!v || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	if (v->hosted)
		return vanity__hosted_probe(v, out);
	return ioctl(v->fd, VANITY_IOC_PROBE, out) < 0 ? -errno : 0;
}

int vanity__enter(struct vanity_ring *r, uint32_t to_submit,
		  uint32_t min_complete, uint32_t flags)
{
	struct vanity_enter e = {
		.size = sizeof(e),
		.flags = flags,
		.to_submit = to_submit,
		.min_complete = min_complete,
	};
	int ret;

	/* Hosted: the simulator's ring (lib/hosted_ring.c), no system call. */
	if (r->hosted)
		return vanity__hosted_enter(r, to_submit, min_complete, flags);
	/* Submit-only, everything published: the fsync doorbell (UAPI). */
	if (!flags && !min_complete && to_submit >= r->sqe_tail -
	    __atomic_load_n(r->sq_head, __ATOMIC_RELAXED))
		ret = (int)syscall(SYS_fsync, r->fd);
	else
		ret = ioctl(r->fd, VANITY_IOC_ENTER, &e);
	return ret < 0 ? -errno : ret;
}

int vanity__submit(struct vanity_ring *r, uint32_t wait_nr, uint32_t published)
{
	uint32_t flags = wait_nr ? VANITY_ENTER_GETEVENTS : 0, n;
	int ret, done;

	if (r->sqpoll) {
		/* Tail (published by the caller) before the flag check. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) &
		    VANITY_SQ_NEED_WAKEUP)
			flags |= VANITY_ENTER_SQ_WAKEUP;
		if (flags) {
			ret = vanity__enter(r, 0, wait_nr, flags);
			if (ret < 0)
				return ret;
		}
		return (int)published;
	}
	/*
	 * ENTER consumes everything published and not yet consumed, as
	 * liburing does: SQEs an earlier ENTER left (CQ full, -EBUSY) go again.
	 */
	n = r->sqe_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	if (!n && !wait_nr)
		return 0;
	if (n && wait_nr) {
		/*
		 * Submit through the fsync doorbell first: ops that complete
		 * inline (NOP, NOTIFY) then need no ENTER to wait on.
		 */
		ret = vanity__enter(r, n, 0, 0);
		if (ret < 0)
			return ret;
		done = ret;
		if (vanity_cq_ready(r) >= wait_nr)
			return done;
		ret = vanity__enter(r, 0, wait_nr, flags);
		return ret < 0 ? ret : done;
	}
	return vanity__enter(r, n, wait_nr, flags);
}

static int map_ring(struct vanity *v, const struct vanity_ring_offsets *o,
		    uint32_t flags)
{
	struct vanity_ring *r = &v->ring;
	uint8_t *p;

	/* This library stamps SQEs and reads CQEs by their stamps. */
	if (!(o->features & VANITY_RING_F_STAMPS))
		return -EPROTO;
	p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		 (off_t)VANITY_MMAP_RING);
	if (p == MAP_FAILED)
		return -errno;
	r->mem = p;
	r->size = o->size;
	r->fd = v->fd;
	r->sqpoll = !!(flags & VANITY_ATTACH_SQPOLL);
	r->sq_head = (uint32_t *)(p + o->sq_head);
	r->sq_tail = (uint32_t *)(p + o->sq_tail);
	r->sq_flags = (uint32_t *)(p + o->sq_flags);
	r->sq_entries = o->sq_entries;
	r->sq_mask = o->sq_entries - 1;
	r->sqes = (struct vanity_sqe *)(p + o->sqes);
	r->sqe_tail = *r->sq_tail;
	r->sq_head_seen = *r->sq_head;
	r->cq_head = (uint32_t *)(p + o->cq_head);
	r->cq_tail = (uint32_t *)(p + o->cq_tail);
	r->cq_overflow = (uint32_t *)(p + o->cq_overflow);
	r->cq_mask = o->cq_entries - 1;
	r->cqes = (struct vanity_cqe *)(p + o->cqes);
	return 0;
}

int vanity_attach(const char *name, struct vanity **out)
{
	return vanity_attach_flags(name, 0, 0, out);
}

int vanity_attach_flags(const char *name, uint32_t flags, uint32_t sq_idle_us,
			struct vanity **out)
{
	struct vanity_ring_offsets ro;
	struct vanity_attach a;
	struct vanity *v;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!name)
		name = getenv("VANITY_SHARD");
	if (!name || !*name || strlen(name) >= VANITY_NAME_MAX)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (vanity__use_hosted()) {
		/* The simulator checks the flags and serves the ring. */
		ret = vanity__hosted_attach_flags(v, name, flags, sq_idle_us);
		if (ret) {
			free(v);
			return ret;
		}
		v->ring.hosted = 1;
		*out = v;
		return 0;
	}
	v->fd = open(VANITY_DEV, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		ret = errno == ENOENT ? -ENODEV : -errno;
		goto err_free;
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.sq_idle_us = sq_idle_us;
	strncpy(a.shard, name, sizeof(a.shard) - 1);
	/* The offsets as the module has them, however they grow. */
	memset(&ro, 0, sizeof(ro));
	a.ring_off = (uintptr_t)&ro;
	a.ring_off_size = sizeof(ro);
	if (ioctl(v->fd, VANITY_IOC_ATTACH, &a) < 0) {
		ret = -errno;
		goto err_close;
	}
	v->index = a.shard_index;
	v->nchannels = a.channel_count;
	memcpy(v->cpus, a.cpus, sizeof(v->cpus));
	memcpy(v->name, a.shard, sizeof(v->name));
	if (a.memory_size) {
		v->mem = mmap(NULL, a.memory_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, (off_t)a.memory_offset);
		if (v->mem == MAP_FAILED) {
			ret = -errno;
			v->mem = NULL;
			goto err_close;
		}
		v->mem_len = a.memory_size;
	}
	/* A module that predates ring_off answers with @ring alone. */
	ret = map_ring(v, a.ring_off_size >= sizeof(a.ring) ? &ro : &a.ring,
		       flags);
	if (ret)
		goto err_unmap;
	*out = v;
	return 0;

err_unmap:
	if (v->mem)
		munmap(v->mem, v->mem_len);
err_close:
	close(v->fd);	/* closing is detaching: nothing is left behind */
err_free:
	free(v);
	return ret;
}

void vanity_detach(struct vanity *v)
{
	struct vanity_chan_map *m, *next;

	if (!v)
		return;
	vanity__devices_free(v);
	for (m = v->chans; m; m = next) {
		next = m->next;
		munmap(m->ch.region, m->ch.size);
		free(m);
	}
	if (v->mem)
		munmap(v->mem, v->mem_len);
	if (v->ring.mem)
		munmap(v->ring.mem, v->ring.size);
	close(v->fd);
	free(v);
}

struct vanity_ring *vanity_ring(struct vanity *v)
{
	/* Mapped at attach on both backends (hosted: the simulator's memfd). */
	return v && v->ring.mem ? &v->ring : NULL;
}

int vanity_shard_index(const struct vanity *v)
{
	return v ? (int)v->index : -EINVAL;
}

const char *vanity_shard_name(const struct vanity *v)
{
	return v ? v->name : NULL;
}

int vanity_memory(const struct vanity *v, void **addr, size_t *len)
{
	if (!v || !addr || !len)
		return -EINVAL;
	*addr = v->mem;
	*len = v->mem_len;
	return 0;
}

const uint64_t *vanity_cpus(const struct vanity *v)
{
	return v ? v->cpus : NULL;
}

int vanity_fd(const struct vanity *v)
{
	return v ? v->fd : -EINVAL;
}
