// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The rate of the architecture's cycle counter (vanity/arch/) and the
 * conversion of counts to nanoseconds: vanity_cycles_hz() and
 * vanity_cycles_to_ns(). Cold: the rate is found once and cached.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "vanity.h"
#include "cycles.h"

#define NSEC_PER_SEC 1000000000ull

/* Measuring window of the first vanity_cycles_hz() call, when measured. */
#define MEASURE_NS 10000000ull

/* Where Linux shows the device tree's timer rate (riscv64). */
#define TIMEBASE_PATH "/proc/device-tree/cpus/timebase-frequency"

uint64_t vanity__cycles_ns_at(uint64_t cycles, uint64_t hz)
{
	if (!hz)
		return 0;
#ifdef __SIZEOF_INT128__
	{
		unsigned __int128 ns = (unsigned __int128)cycles * NSEC_PER_SEC / hz;

		return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
	}
#else
	/* Whole seconds, then the rest: (c % hz) * 1e9 fits below 18 GHz. */
	if (cycles / hz > UINT64_MAX / NSEC_PER_SEC - 1)
		return UINT64_MAX;
	return cycles / hz * NSEC_PER_SEC + cycles % hz * NSEC_PER_SEC / hz;
#endif
}

uint64_t vanity__timebase_parse(const void *prop, size_t len)
{
	const uint8_t *b = prop;
	uint64_t v = 0;
	size_t i;

	if (!prop || (len != 4 && len != 8))
		return 0;
	for (i = 0; i < len; i++)
		v = v << 8 | b[i];
	return v;
}

uint64_t vanity__timebase_read(const char *path)
{
	uint8_t buf[9];		/* one more than the longest valid value */
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return vanity__timebase_parse(buf, len);
}

/* CLOCK_MONOTONIC_RAW in ns (not slewed by NTP), or 0 if it failed. */
static uint64_t raw_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_RAW, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * One (clock, counter) pair: the counter read between two clock reads,
 * keeping the tightest bracket of a few tries, so a preemption or a slow
 * clock read moves the pair by little. -1 when the clock failed.
 */
static int sample(uint64_t *ns, uint64_t *cyc)
{
	uint64_t best = UINT64_MAX, a, b, c;
	int i;

	for (i = 0; i < 5; i++) {
		a = raw_ns();
		c = vanity_cycles();
		b = raw_ns();
		if (!a || b < a)
			return -1;
		if (b - a < best) {
			best = b - a;
			*ns = a + (b - a) / 2;
			*cyc = c;
		}
	}
	return 0;
}

uint64_t vanity__cycles_measure(uint64_t window_ns)
{
	uint64_t ns0, c0, ns1, c1;
	unsigned long spins;

	if (sample(&ns0, &c0))
		return 0;
	/* Bounded by the clock and by a count, in case the clock stops. */
	for (spins = 0; spins < 100000000ul; spins++) {
		if (raw_ns() - ns0 >= window_ns)
			break;
		vanity_cpu_relax();
	}
	if (sample(&ns1, &c1) || ns1 <= ns0 || c1 <= c0)
		return 0;
	/* (c1 - c0) counts in (ns1 - ns0) ns, in Hz, rounded. */
#ifdef __SIZEOF_INT128__
	return (uint64_t)(((unsigned __int128)(c1 - c0) * NSEC_PER_SEC +
			   (ns1 - ns0) / 2) / (ns1 - ns0));
#else
	return (uint64_t)((double)(c1 - c0) * 1e9 / (double)(ns1 - ns0) + 0.5);
#endif
}

static uint64_t cycles_hz;	/* 0 until found */

uint64_t vanity_cycles_hz(void)
{
	uint64_t hz = __atomic_load_n(&cycles_hz, __ATOMIC_RELAXED), first = 0;

	if (hz)
		return hz;
	/*
	 * Racing first callers each find a rate; the architectural ones
	 * agree and measured ones differ by the error of the measurement.
	 * The first stored wins, so every caller sees one value after.
	 */
	hz = vanity_arch_cycles_hz();
#if defined(__riscv)
	if (!hz)
		hz = vanity__timebase_read(TIMEBASE_PATH);
#endif
	if (!hz)
		hz = vanity__cycles_measure(MEASURE_NS);
	if (!hz)
		hz = NSEC_PER_SEC;	/* a counter that does not move */
	if (!__atomic_compare_exchange_n(&cycles_hz, &first, hz, 0,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		hz = first;
	return hz;
}

uint64_t vanity_cycles_to_ns(uint64_t cycles)
{
	return vanity__cycles_ns_at(cycles, vanity_cycles_hz());
}
