/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity internals of the cycle counter's rate (lib/cycles.c): the
 * pieces vanity_cycles_hz() is made of, exposed for the unit tests.
 */
#ifndef VANITY_LIB_CYCLES_H
#define VANITY_LIB_CYCLES_H

#include <stddef.h>
#include <stdint.h>

/*
 * @cycles at @hz in nanoseconds, rounded down, saturated at UINT64_MAX
 * (584 years); 0 when @hz is 0.
 */
uint64_t vanity__cycles_ns_at(uint64_t cycles, uint64_t hz);

/*
 * A device tree "timebase-frequency" property: one big-endian cell of 4
 * bytes or two of 8. 0 for any other length or a zero rate.
 */
uint64_t vanity__timebase_parse(const void *prop, size_t len);

/* The rate read from @path (a device tree property file), or 0. */
uint64_t vanity__timebase_read(const char *path);

/*
 * The rate of vanity_cycles() measured against CLOCK_MONOTONIC_RAW over
 * about @window_ns; 0 when the counter did not move or the clock failed.
 */
uint64_t vanity__cycles_measure(uint64_t window_ns);

#endif /* VANITY_LIB_CYCLES_H */
