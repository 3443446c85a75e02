/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backends a system runs on, as one table: the module through generic
 * netlink, or the hosted simulator inside this process.
 */
#ifndef VANITY_CTL_BACKEND_H
#define VANITY_CTL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "nl.h"

struct vanity_sim;
struct vanity_backend;

/*
 * A backend's mechanisms. Each returns 0 or -errno and prints nothing:
 * the reason for a refusal is msg()'s, for vanity_backend_fail() to print.
 */
struct vanity_backend_ops {
	const char *name;	/* as --backend and $VANITY_BACKEND say it */
	/*
	 * The system lives inside this vanityctl: anyone may bring one up
	 * (so run checks users itself), and no other process sees it.
	 */
	bool in_process;
	int (*open)(struct vanity_backend *b);
	/* Bring @img up; the shards' programs find it through the environment. */
	int (*up)(struct vanity_backend *b, const void *img, size_t len);
	/* The system that is up: -ENOENT when there is none. */
	int (*get)(struct vanity_backend *b, struct vanity_status *st);
	/* Sleep up to @ms; the simulator serves its shards meanwhile. */
	void (*wait)(struct vanity_backend *b, int ms);
	int (*down)(struct vanity_backend *b, bool force);
	void (*close)(struct vanity_backend *b);
	/* Why the last call failed, or "". */
	const char *(*msg)(const struct vanity_backend *b);
};

enum vanity_backend_kind {
	VANITY_BACKEND_MODULE,
	VANITY_BACKEND_HOSTED,
	VANITY_BACKEND_COUNT
};

/* Indexed by enum vanity_backend_kind. */
extern const struct vanity_backend_ops vanity_backends[];

/* One open backend; zeroed, then vanity_backend_open(). */
struct vanity_backend {
	const struct vanity_backend_ops *ops;
	const char *who;	/* prefix of its messages: "vanityctl: run" */
	struct vanity_nl *nl;
	struct vanity_sim *sim;
	char msg[256];
};

/*
 * The backend named @name, else by $VANITY_BACKEND, else the module when
 * /dev/vanity exists and the simulator otherwise. NULL, after saying so
 * on stderr as "@who: ...", for a name no backend has.
 */
const struct vanity_backend_ops *vanity_backend_choose(const char *name,
							 const char *who);

/* Open @ops into @b: 0, or -errno after printing why as "@who: ...". */
int vanity_backend_open(struct vanity_backend *b,
			const struct vanity_backend_ops *ops, const char *who);

/* Close what vanity_backend_open() opened; nothing when it did not. */
void vanity_backend_close(struct vanity_backend *b);

/*
 * Print @b's refusal @err as "WHO: [WHAT: ]REASON (strerror)", the reason
 * being the backend's own (the kernel's extack message). Returns 1, the
 * command's exit status.
 */
int vanity_backend_fail(const struct vanity_backend *b, const char *what,
			int err);

#endif
