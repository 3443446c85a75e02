// SPDX-License-Identifier: GPL-2.0
/*
 * The backend table: which backend a command talks to and how (open, up,
 * status, wait, down) for the module and for the hosted simulator.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "hosted.h"
#include "sim.h"

/* ---------------------------------------------------------- the module */

static int module_open(struct vanity_backend *b)
{
	int ret = vanity_nl_open(&b->nl);

	if (ret == -ENODEV)
		snprintf(b->msg, sizeof(b->msg),
			 "the vanity module is not loaded (insmod vanity.ko)");
	else if (ret)
		snprintf(b->msg, sizeof(b->msg),
			 "cannot open generic netlink: %s", strerror(-ret));
	return ret;
}

static int module_up(struct vanity_backend *b, const void *img, size_t len)
{
	setenv("VANITY_BACKEND", "module", 1);
	return vanity_nl_up(b->nl, img, len);
}

static int module_get(struct vanity_backend *b, struct vanity_status *st)
{
	return vanity_nl_get(b->nl, st);
}

static void module_wait(struct vanity_backend *b, int ms)
{
	(void)b;
	poll(NULL, 0, ms);
}

static int module_down(struct vanity_backend *b, bool force)
{
	return vanity_nl_down(b->nl, force);
}

static void module_close(struct vanity_backend *b)
{
	vanity_nl_close(b->nl);
	b->nl = NULL;
}

static const char *module_msg(const struct vanity_backend *b)
{
	return b->nl ? vanity_nl_msg(b->nl) : "";
}

/* ------------------------------------------------------- the simulator */

static int hosted_open(struct vanity_backend *b)
{
	(void)b;
	return 0;
}

static int hosted_up(struct vanity_backend *b, const void *img, size_t len)
{
	int ret = vanity_sim_start(&b->sim, img, len, b->msg, sizeof(b->msg));

	if (ret)
		return ret;
	/* The shards' programs find the simulator here. */
	setenv(VANITY_SOCKET_ENV, vanity_sim_socket(b->sim), 1);
	setenv("VANITY_BACKEND", "hosted", 1);
	return 0;
}

static int hosted_get(struct vanity_backend *b, struct vanity_status *st)
{
	if (!b->sim) {
		snprintf(b->msg, sizeof(b->msg),
			 "a hosted system is seen only by the vanityctl run serving it");
		return -EOPNOTSUPP;
	}
	return vanity_sim_status(b->sim, st);
}

static void hosted_wait(struct vanity_backend *b, int ms)
{
	vanity_sim_poll(b->sim, ms);
}

static void hosted_close(struct vanity_backend *b)
{
	vanity_sim_stop(b->sim);
	b->sim = NULL;
}

/* Its shards are revoked as their connections close: always forced. */
static int hosted_down(struct vanity_backend *b, bool force)
{
	(void)force;
	hosted_close(b);
	return 0;
}

static const char *hosted_msg(const struct vanity_backend *b)
{
	return b->msg;
}

/* ------------------------------------------------------------ the table */

const struct vanity_backend_ops vanity_backends[] = {
	[VANITY_BACKEND_MODULE] = {
		.name = "module",
		.open = module_open, .up = module_up, .get = module_get,
		.wait = module_wait, .down = module_down,
		.close = module_close, .msg = module_msg,
	},
	[VANITY_BACKEND_HOSTED] = {
		.name = "hosted", .in_process = true,
		.open = hosted_open, .up = hosted_up, .get = hosted_get,
		.wait = hosted_wait, .down = hosted_down,
		.close = hosted_close, .msg = hosted_msg,
	},
};

_Static_assert(sizeof(vanity_backends) / sizeof(vanity_backends[0]) ==
	       VANITY_BACKEND_COUNT, "one vanity_backends entry per kind");

const struct vanity_backend_ops *vanity_backend_choose(const char *name,
							 const char *who)
{
	unsigned int i;

	if (!name)
		name = getenv("VANITY_BACKEND");
	if (!name)
		return &vanity_backends[access("/dev/vanity", F_OK) == 0 ?
					VANITY_BACKEND_MODULE :
					VANITY_BACKEND_HOSTED];
	for (i = 0; i < VANITY_BACKEND_COUNT; i++)
		if (!strcmp(name, vanity_backends[i].name))
			return &vanity_backends[i];
	fprintf(stderr, "%s: unknown backend '%s' (module or hosted)\n", who,
		name);
	return NULL;
}

int vanity_backend_open(struct vanity_backend *b,
			const struct vanity_backend_ops *ops, const char *who)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->who = who;
	ret = ops->open(b);
	if (ret) {
		fprintf(stderr, "%s: %s\n", who, b->msg);
		return ret;
	}
	b->ops = ops;
	return 0;
}

void vanity_backend_close(struct vanity_backend *b)
{
	if (b->ops)
		b->ops->close(b);
	b->ops = NULL;
}

int vanity_backend_fail(const struct vanity_backend *b, const char *what,
			int err)
{
	const char *m = b->ops->msg(b);

	fprintf(stderr, "%s: %s%s", b->who, what ? what : "", what ? ": " : "");
	if (m && *m)
		fprintf(stderr, "%s (%s)\n", m, strerror(-err));
	else
		fprintf(stderr, "%s\n", strerror(-err));
	return 1;
}
