/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The few architecture-specific primitives libvanity's fast path needs,
 * one small header per architecture in vanity/arch/ (as liburing does in
 * src/arch/). Each provides:
 *
 *   VANITY_CACHELINE            the line size shared data is padded to
 *   vanity_cpu_relax()          the spin-wait hint
 *   vanity_cycles()             a cheap, constant-rate counter, the same on
 *                               every CPU of the machine; where it is cheap
 *                               (x86 LFENCE, aarch64 ISB) it waits for the
 *                               instructions before it
 *   vanity_arch_cycles_hz()     its rate when the architecture says it
 *                               (aarch64 CNTFRQ_EL0), else 0
 *
 * vanity_cycles_hz() and vanity_cycles_to_ns(), declared below and out
 * of line in libvanity, turn counts into time. Memory ordering is not
 * here: the channel and ring code uses the C11 atomics (__atomic
 * builtins) throughout, which the compiler maps to each architecture.
 */
#ifndef VANITY_ARCH_H
#define VANITY_ARCH_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <vanity/arch/x86_64.h>
#elif defined(__aarch64__)
#include <vanity/arch/aarch64.h>
#elif defined(__riscv) && __riscv_xlen == 64
#include <vanity/arch/riscv64.h>
#else
#include <vanity/arch/generic.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The rate of vanity_cycles() in Hz, never 0: the architecture's own
 * (aarch64 CNTFRQ_EL0), the device tree's /cpus/timebase-frequency
 * (riscv64), else measured against CLOCK_MONOTONIC_RAW on the first call
 * (about 10 ms; later calls return the same value). Thread-safe.
 */
uint64_t vanity_cycles_hz(void);

/*
 * @cycles, a difference of two vanity_cycles() values, in nanoseconds,
 * rounded down: exact for any count below 584 years, saturated above.
 */
uint64_t vanity_cycles_to_ns(uint64_t cycles);

#ifdef __cplusplus
}
#endif

#endif /* VANITY_ARCH_H */
