// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Channel lookup and mapping: ask the module for the channel's geometry
 * and offset, map it shared, and keep it until detach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vanity.h"
#include "lib.h"

int vanity_channel_get(struct vanity *v, const char *name,
		       struct vanity_channel **out)
{
	struct vanity_channel_info ci;
	struct vanity_chan_map *m;
	void *p;

	if (!v || !name || !out || strlen(name) >= VANITY_NAME_MAX)
		return -EINVAL;
	for (m = v->chans; m; m = m->next) {
		if (!strcmp(m->ch.name, name)) {
			*out = &m->ch;
			return 0;
		}
	}
	memset(&ci, 0, sizeof(ci));
	ci.size = sizeof(ci);
	strncpy(ci.name, name, sizeof(ci.name) - 1);
	if (ioctl(v->fd, VANITY_IOC_CHANNEL, &ci) < 0)
		return -errno;
	if (ci.role == VANITY_ROLE_NONE)
		return -EACCES;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	p = mmap(NULL, ci.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->fd, (off_t)ci.mmap_offset);
	if (p == MAP_FAILED) {
		int ret = -errno;

		free(m);
		return ret;
	}
	m->ch.region = p;
	m->ch.size = ci.region_size;
	m->ch.slot_size = ci.slot_size;
	m->ch.slots = ci.slots;
	m->ch.index = ci.index;
	m->ch.role = ci.role;
	m->ch.peer = ci.role == VANITY_ROLE_FROM ? ci.to : ci.from;
	memcpy(m->ch.name, ci.name, sizeof(m->ch.name));
	m->next = v->chans;
	v->chans = m;
	*out = &m->ch;
	return 0;
}
