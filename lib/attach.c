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
#include <unistd.h>

#include "vanity.h"
#include "lib.h"

#define VANITY_DEV "/dev/vanity"

int vanity_attach(const char *name, struct vanity **out)
{
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
	v->fd = open(VANITY_DEV, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		ret = errno == ENOENT ? -ENODEV : -errno;
		goto err_free;
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strncpy(a.shard, name, sizeof(a.shard) - 1);
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
	*out = v;
	return 0;

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
	for (m = v->chans; m; m = next) {
		next = m->next;
		munmap(m->ch.region, m->ch.size);
		free(m);
	}
	if (v->mem)
		munmap(v->mem, v->mem_len);
	close(v->fd);
	free(v);
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
