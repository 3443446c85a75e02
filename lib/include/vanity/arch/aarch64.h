/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * aarch64: YIELD, and the generic timer's virtual count CNTVCT_EL0, which
 * Linux lets EL0 read on every arm64 system it runs on, system-wide and at
 * the rate CNTFRQ_EL0 gives (firmware sets it; 1 GHz on Armv8.6+ parts,
 * commonly 19.2-100 MHz before). Include <vanity/arch.h>, not this file.
 */
#ifndef VANITY_ARCH_AARCH64_H
#define VANITY_ARCH_AARCH64_H

#include <stdint.h>

/*
 * 64 on the cores this targets (Neoverse, Cortex-A); a few parts have
 * 128-byte lines, where 64 costs false sharing, never correctness.
 */
#define VANITY_CACHELINE 64

static inline void vanity_cpu_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}

/* ISB first, so the read is not taken before the instructions before it. */
static inline uint64_t vanity_cycles(void)
{
	uint64_t v;

	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) :: "memory");
	return v;
}

static inline uint64_t vanity_arch_cycles_hz(void)
{
	uint64_t f;

	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

#endif /* VANITY_ARCH_AARCH64_H */
