/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/* libvanity internals: the attached-shard handle behind struct vanity. */
#ifndef VANITY_LIB_H
#define VANITY_LIB_H

#include "vanity.h"

struct vanity_chan_map {
	struct vanity_chan_map *next;
	struct vanity_channel ch;
};

struct vanity {
	int fd;				/* /dev/vanity, or the simulator socket */
	int hosted;			/* attached through the simulator */
	uint32_t index;
	uint32_t nchannels;
	char name[VANITY_NAME_MAX];
	uint64_t cpus[VANITY_CPU_WORDS];
	void *mem;
	size_t mem_len;
	struct vanity_chan_map *chans;	/* mapped so far */
	struct vanity_ring ring;	/* mapped at attach */
};

#include <stdbool.h>

/* Hosted backend (lib/hosted.c). */
bool vanity__use_hosted(void);
int vanity__hosted_attach(struct vanity *v, const char *name);
int vanity__hosted_channel(struct vanity *v, const char *name,
			   struct vanity_chan_map *m);

#endif
