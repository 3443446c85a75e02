/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Any other architecture: a compiler barrier for the spin hint and
 * CLOCK_MONOTONIC in nanoseconds for the counter (so its rate is 1 GHz).
 * Correct everywhere, only slower. Include <vanity/arch.h>, not this file.
 */
#ifndef VANITY_ARCH_GENERIC_H
#define VANITY_ARCH_GENERIC_H

#include <stdint.h>
#include <time.h>

#define VANITY_CACHELINE 64

static inline void vanity_cpu_relax(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static inline uint64_t vanity_cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t vanity_arch_cycles_hz(void)
{
	return 1000000000u;
}

#endif /* VANITY_ARCH_GENERIC_H */
