/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The portable core's only view of its host: fixed-width types, errno
 * values, memory helpers, ordered loads and stores and snprintf, from the
 * kernel or from libc.
 */
#ifndef VANITY_CORE_SHIM_H
#define VANITY_CORE_SHIM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/stdarg.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/compiler.h>
#include <asm/barrier.h>
#include <asm/processor.h>
#include <linux/atomic.h>
/* One load of shared memory the other side may be changing. */
#define VANITY_READ_ONCE(x) READ_ONCE(x)
/* A load that later loads and stores cannot pass (pairs with release). */
#define VANITY_LOAD_ACQUIRE(p) smp_load_acquire(p)
/* A store that earlier loads and stores cannot pass (pairs with acquire). */
#define VANITY_STORE_RELEASE(p, v) smp_store_release(p, v)
/*
 * Unordered atomic bit updates of a u32 in shared memory, as io_uring
 * treats its shared sq_flags (an atomic_t has a u32's size and alignment).
 */
#define VANITY_ATOMIC_OR32(p, v) atomic_or((v), (atomic_t *)(p))
#define VANITY_ATOMIC_ANDNOT32(p, v) atomic_andnot((v), (atomic_t *)(p))
/* The same for counters several rings share: new value returned (32). */
#define VANITY_ATOMIC_ADD32(p, v) atomic_add_return((v), (atomic_t *)(p))
#define VANITY_ATOMIC_ADD64(p, v) atomic64_add((v), (atomic64_t *)(p))
/* One store the other side may be reading (no tearing, no caching). */
#define VANITY_WRITE_ONCE(x, v) WRITE_ONCE(x, v)
/* Compare and exchange, fully ordered: returns the old value. */
#define VANITY_CMPXCHG(p, o, n) cmpxchg(p, o, n)
/* Exchange, fully ordered: returns the old value. */
#define VANITY_XCHG(p, v) xchg(p, v)
/* In a wait on another CPU's few stores. */
#define VANITY_CPU_RELAX() cpu_relax()
/* A full barrier: the stores before it are seen before the loads after. */
#define VANITY_SMP_MB() smp_mb()
#else
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/types.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
#define S64_MAX INT64_MAX
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#ifndef __printf
#define __printf(a, b) __attribute__((__format__(__printf__, a, b)))
#endif
/* Without retpolines a table call is as cheap as a direct one. */
#define INDIRECT_CALL_1(f, f1, ...) f(__VA_ARGS__)
#define INDIRECT_CALL_2(f, f2, f1, ...) f(__VA_ARGS__)
#define VANITY_READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define VANITY_LOAD_ACQUIRE(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define VANITY_STORE_RELEASE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define VANITY_ATOMIC_OR32(p, v) __atomic_fetch_or(p, v, __ATOMIC_RELAXED)
#define VANITY_ATOMIC_ANDNOT32(p, v) __atomic_fetch_and(p, ~(v), __ATOMIC_RELAXED)
#define VANITY_ATOMIC_ADD32(p, v) __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST)
#define VANITY_ATOMIC_ADD64(p, v) __atomic_fetch_add(p, v, __ATOMIC_RELAXED)
#define VANITY_WRITE_ONCE(x, v) __atomic_store_n(&(x), v, __ATOMIC_RELAXED)
#define VANITY_CMPXCHG(p, o, n) ({					\
	__typeof__(*(p)) __vo = (o);					\
	__atomic_compare_exchange_n(p, &__vo, n, false, __ATOMIC_SEQ_CST,	\
				    __ATOMIC_SEQ_CST);			\
	__vo; })
#define VANITY_SMP_MB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define VANITY_XCHG(p, v) __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST)
static inline void vanity_core_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}
#define VANITY_CPU_RELAX() vanity_core_relax()
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
/* __always_inline: glibc's <sys/cdefs.h> has it, as the kernel does. */
#ifndef noinline
#define noinline __attribute__((__noinline__))
#endif
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)
#endif

#include <linux/vanity.h>

#endif /* VANITY_CORE_SHIM_H */
