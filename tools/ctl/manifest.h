/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The manifest compiler's front end: an INI description of a system, read
 * with libinih and checked completely before any image is written.
 */
#ifndef VANITY_MANIFEST_H
#define VANITY_MANIFEST_H

#include <stdint.h>
#include <stdio.h>

#include "imgwrite.h"

/*
 * Parse the manifest at @path into @w. Returns 0 when the manifest is
 * valid and @w serialises to an image vanity_image_check() accepts, or -1
 * after printing every problem found to @errs, one per line as
 * "PATH:LINE: message" (LINE 0 for problems of the file as a whole).
 * What relates entries to each other (a channel's two ends, its slots'
 * bytes, the regions' total) is vanity_image_check()'s to refuse, once
 * the manifest has no other problem: its message, at the line of the
 * shard, channel or device section it names. A device's references (its
 * owner, what it may DMA into, its address against the others') are
 * checked here first, each at the line of the key that makes it.
 * Not thread-safe: libinih's line limit is a process-wide setting.
 */
int vanity_manifest_load(const char *path, struct vanity_imgw *w, FILE *errs);

/* vanity_manifest_load()'s runner: anyone, nothing checked about users. */
#define VANITY_RUNNER_ANY	((uint32_t)-1)

/*
 * As vanity_manifest_load(), for `vanityctl run` by effective uid @runner:
 * also refuses, at the line of its 'user', each shard with a program that
 * names a user other than @runner when @runner is not root, since run
 * could not start the program as that user. A shard that names no user
 * belongs to whoever runs the system and is never refused.
 */
int vanity_manifest_load_run(const char *path, struct vanity_imgw *w,
			     FILE *errs, uint32_t runner);

#endif
