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
	struct vanity_device *devs;	/* looked up so far (lib/device.c) */
	struct vanity_ring ring;	/* mapped at attach */
};

#include <stdbool.h>

/* Unmap and free every device looked up (lib/device.c). */
void vanity__devices_free(struct vanity *v);

/* Hosted backend (lib/hosted.c). */
bool vanity__use_hosted(void);
int vanity__hosted_attach(struct vanity *v, const char *name);
int vanity__hosted_probe(struct vanity *v, struct vanity_probe *out);

int vanity__hosted_lookup(struct vanity *v, const char *name,
			  struct vanity_channel_info *out);
int vanity__hosted_channel(struct vanity *v, const char *name,
			   struct vanity_chan_map *m);

/* The log ring's producer (lib/log.c): geometry copied once at bind. */
struct vanity__logprod {
	struct vanity_runpage_hdr *hdr;
	uint8_t *ring;
	uint32_t ring_size;
	uint32_t msg_max;
	uint32_t head;			/* private: never read back */
};
/* 0, -EINVAL (too short), -EPROTO (bad header), -EPROTONOSUPPORT. */
int vanity__logprod_bind(struct vanity__logprod *p, void *page, size_t len);
/* 0, or -ENOBUFS (full: counted in the page's dropped). */
int vanity__logprod_put(struct vanity__logprod *p, int level,
			unsigned int flags, uint64_t ts_ns, const char *text,
			uint32_t len);
/* The process's producer, as the constructor binds it from $VANITY_RUN_FD. */
int vanity__log_bind_page(void *page, size_t len);
void vanity__log_unbind(void);
/*
 * Map and bind the page of $VANITY_RUN_FD (the constructor does at load):
 * 0, -ENOENT (unset), -EINVAL (not a number or not a memfd), -EBADF,
 * -EPERM (not sealed), -EPROTO/-EPROTONOSUPPORT (the header), -EBUSY.
 */
int vanity__log_open_env(void);
/* Unbind and unmap what vanity__log_open_env mapped. */
void vanity__log_close(void);

#endif
