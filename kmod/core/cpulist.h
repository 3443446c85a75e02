/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU lists ("0-1,4,6-7") to and from the image's CPU bitmap, shared by
 * the manifest compiler, the module's messages and the tools.
 */
#ifndef VANITY_CORE_CPULIST_H
#define VANITY_CORE_CPULIST_H

#include "shim.h"

/*
 * Parse a comma-separated list of CPU ids and inclusive ranges into @cpus
 * (cleared first); blanks around numbers and separators are allowed. Every
 * id must be below VANITY_MAX_CPUS and appear once. Returns 0, or -EINVAL
 * with a short lower-case reason in @err (which may be NULL).
 */
int vanity_cpulist_parse(const char *s, u64 cpus[VANITY_CPU_WORDS],
			 char *err, size_t errlen);

/*
 * Write @cpus as ascending ids, runs of two or more as "a-b". Returns the
 * string length, or -ENOSPC when it and its NUL do not fit in @len bytes;
 * @buf is NUL-terminated whenever @len > 0.
 */
int vanity_cpulist_format(const u64 cpus[VANITY_CPU_WORDS], char *buf,
			  size_t len);

/* Number of CPUs set in @cpus. */
unsigned int vanity_cpulist_count(const u64 cpus[VANITY_CPU_WORDS]);

#endif
