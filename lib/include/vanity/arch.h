/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The few architecture-specific primitives libvanity's fast path needs:
 * a spin-wait hint and a cheap cycle-ish clock. Everything else is C11.
 */
#ifndef VANITY_ARCH_H
#define VANITY_ARCH_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define VANITY_CACHELINE 64
static inline void vanity_cpu_relax(void)
{
	__builtin_ia32_pause();
}
#elif defined(__aarch64__)
#define VANITY_CACHELINE 64
static inline void vanity_cpu_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}
#elif defined(__riscv)
#define VANITY_CACHELINE 64
static inline void vanity_cpu_relax(void)
{
	/* Zihintpause "pause", encoded so older assemblers accept it. */
	__asm__ __volatile__(".4byte 0x0100000f" ::: "memory");
}
#else
#define VANITY_CACHELINE 64
static inline void vanity_cpu_relax(void)
{
	__asm__ __volatile__("" ::: "memory");
}
#endif

#endif /* VANITY_ARCH_H */
