/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * riscv64: Zihintpause PAUSE, and the time CSR (RDTIME), a system-wide
 * constant-rate counter. Not RDCYCLE: Linux 6.6 and later trap it in user
 * space unless the administrator enables it (perf_user_access), and it
 * counts per-hart clock cycles besides. Its rate is the device tree's
 * /cpus/timebase-frequency, which libvanity reads (vanity_cycles_hz()),
 * else measures. Include <vanity/arch.h>, not this file.
 */
#ifndef VANITY_ARCH_RISCV64_H
#define VANITY_ARCH_RISCV64_H

#include <stdint.h>

#define VANITY_CACHELINE 64

static inline void vanity_cpu_relax(void)
{
	/*
	 * PAUSE (FENCE with pred=W, succ=0), spelled as its encoding so
	 * assemblers without Zihintpause accept it; a plain FENCE hint, so
	 * a no-op, on harts without the extension.
	 */
	__asm__ __volatile__(".4byte 0x0100000f" ::: "memory");
}

/*
 * Not ordered against the instructions around it (RISC-V has no cheap
 * equivalent of LFENCE or ISB for a CSR read); good to a few cycles.
 */
static inline uint64_t vanity_cycles(void)
{
	uint64_t v;

	__asm__ __volatile__("rdtime %0" : "=r"(v) :: "memory");
	return v;
}

static inline uint64_t vanity_arch_cycles_hz(void)
{
	return 0;	/* the device tree's timebase, read by libvanity */
}

#endif /* VANITY_ARCH_RISCV64_H */
