/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * x86_64 (and i386): PAUSE, and the TSC. The TSC runs at a constant rate
 * on every CPU this targets (invariant TSC; Linux checks it is in sync
 * across CPUs), but nothing architectural says how fast: libvanity
 * measures it once against CLOCK_MONOTONIC_RAW (vanity_cycles_hz()).
 * Include <vanity/arch.h>, not this file.
 */
#ifndef VANITY_ARCH_X86_64_H
#define VANITY_ARCH_X86_64_H

#include <stdint.h>

#define VANITY_CACHELINE 64

static inline void vanity_cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* LFENCE first, so the read waits for the instructions before it. */
static inline uint64_t vanity_cycles(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t vanity_arch_cycles_hz(void)
{
	return 0;	/* not architectural: measured */
}

#endif /* VANITY_ARCH_X86_64_H */
