/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The manifest compiler's front end: an INI description of a system, read
 * with libinih and checked completely before any image is written.
 */
#ifndef VANITY_MANIFEST_H
#define VANITY_MANIFEST_H

#include <stdio.h>

#include "imgwrite.h"

/*
 * Parse the manifest at @path into @w. Returns 0 when the manifest is
 * valid and @w serialises to an image vanity_image_check() accepts, or -1
 * after printing every problem found to @errs, one per line as
 * "PATH:LINE: message" (LINE 0 for problems of the file as a whole).
 * Not thread-safe: libinih's line limit is a process-wide setting.
 */
int vanity_manifest_load(const char *path, struct vanity_imgw *w, FILE *errs);

#endif
