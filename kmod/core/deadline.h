/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Deadlines: one rule for the ring's timed ops (module and simulator) and
 * the channels' blocking calls (libvanity), so none of them wraps.
 */
#ifndef VANITY_CORE_DEADLINE_H
#define VANITY_CORE_DEADLINE_H

#include "shim.h"

/* The deadline that never comes: no timer is armed for it. */
#define VANITY_NEVER S64_MAX

/*
 * @ns after @now (a monotonic clock's ns, >= 0), saturated: a sum that
 * would reach S64_MAX is VANITY_NEVER, so a timeout near S64_MAX waits
 * forever (about 292 years of uptime away) instead of wrapping into the
 * past and firing at once. A negative @ns is no deadline either.
 */
static inline s64 vanity_deadline_after(s64 now, s64 ns)
{
	if (ns < 0 || now < 0 || ns >= VANITY_NEVER - now)
		return VANITY_NEVER;
	return now + ns;
}

#endif /* VANITY_CORE_DEADLINE_H */
