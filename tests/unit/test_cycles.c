// SPDX-License-Identifier: GPL-2.0
/*
 * The architecture's cycle counter (vanity/arch/) and libvanity's rate and
 * conversion (lib/cycles.c): the counter never goes back, the rate is
 * found and stable, counts convert exactly, and malformed device tree
 * rates are refused. No assertion on how long anything took.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vanity.h"
#include "cycles.h"

#define NS 1000000000ull

Test(cycles, counter_never_goes_back)
{
	uint64_t prev = vanity_cycles(), c;
	int i;

	for (i = 0; i < 200000; i++) {
		c = vanity_cycles();
		cr_assert_geq(c, prev, "read %d: %llu after %llu", i,
			      (unsigned long long)c, (unsigned long long)prev);
		prev = c;
	}
}

Test(cycles, counter_moves_across_a_sleep)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t c0 = vanity_cycles(), c1;

	cr_assert_eq(nanosleep(&ms, NULL), 0);
	c1 = vanity_cycles();
	cr_assert_gt(c1, c0);
}

Test(cycles, rate_is_found_and_stable)
{
	uint64_t hz = vanity_cycles_hz(), arch = vanity_arch_cycles_hz();

	cr_assert_neq(hz, 0);
	cr_assert_eq(vanity_cycles_hz(), hz);
	if (arch)
		cr_assert_eq(hz, arch, "the architecture's own rate is used");
}

Test(cycles, rate_can_be_measured)
{
	cr_assert_neq(vanity__cycles_measure(1000000), 0);
}

Test(cycles, a_second_of_counts_is_a_second)
{
	cr_assert_eq(vanity_cycles_to_ns(vanity_cycles_hz()), NS);
	cr_assert_eq(vanity_cycles_to_ns(0), 0);
}

Test(cycles, conversion_follows_the_counts)
{
	uint64_t c, prev = 0, ns;

	for (c = 1; c < (1ull << 62); c = c * 3 + 1) {
		ns = vanity_cycles_to_ns(c);
		cr_assert_geq(ns, prev, "%llu counts", (unsigned long long)c);
		prev = ns;
	}
}

Test(cycles, conversion_is_exact)
{
	/* 24 MHz and 1 GHz aarch64 timers, a 10 MHz riscv timebase, a TSC. */
	cr_assert_eq(vanity__cycles_ns_at(24000000, 24000000), NS);
	cr_assert_eq(vanity__cycles_ns_at(1, 24000000), 41);
	cr_assert_eq(vanity__cycles_ns_at(12345, 1000000000), 12345);
	cr_assert_eq(vanity__cycles_ns_at(3, 10000000), 300);
	cr_assert_eq(vanity__cycles_ns_at(2999999999ull, 3000000000ull), 999999999);
	cr_assert_eq(vanity__cycles_ns_at(1, 3000000000ull), 0);
	/* An hour and a year of TSC counts: no overflow on the way. */
	cr_assert_eq(vanity__cycles_ns_at(3600ull * 2600000000ull, 2600000000ull),
		     3600ull * NS);
	cr_assert_eq(vanity__cycles_ns_at(31536000ull * 2600000000ull,
					  2600000000ull), 31536000ull * NS);
	cr_assert_eq(vanity__cycles_ns_at(UINT64_MAX, 1000000000), UINT64_MAX);
}

Test(cycles, conversion_saturates)
{
	cr_assert_eq(vanity__cycles_ns_at(UINT64_MAX, 10000000), UINT64_MAX);
	cr_assert_eq(vanity__cycles_ns_at(UINT64_MAX / 2, 1), UINT64_MAX);
}

Test(cycles, zero_rate_converts_to_zero)
{
	cr_assert_eq(vanity__cycles_ns_at(12345, 0), 0);
}

Test(cycles, timebase_of_one_or_two_cells)
{
	static const uint8_t one[4] = { 0x00, 0x98, 0x96, 0x80 };
	static const uint8_t two[8] = { 0, 0, 0, 0x01, 0x00, 0x00, 0x00, 0x00 };

	cr_assert_eq(vanity__timebase_parse(one, sizeof(one)), 10000000);
	cr_assert_eq(vanity__timebase_parse(two, sizeof(two)), 1ull << 32);
}

Test(cycles, timebase_of_other_lengths_is_refused)
{
	static const uint8_t b[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	size_t len;

	for (len = 0; len < sizeof(b); len++)
		if (len != 4 && len != 8)
			cr_assert_eq(vanity__timebase_parse(b, len), 0,
				     "%zu bytes", len);
	cr_assert_eq(vanity__timebase_parse(NULL, 4), 0);
}

Test(cycles, zero_timebase_is_no_rate)
{
	static const uint8_t z[4];

	cr_assert_eq(vanity__timebase_parse(z, sizeof(z)), 0);
}

/* A property file holding @len bytes of @b; its path in @path. */
static void prop_file(char *path, const uint8_t *b, size_t len)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, len), (ssize_t)len);
	close(fd);
}

Test(cycles, timebase_read_from_a_property_file)
{
	static const uint8_t one[4] = { 0x01, 0x31, 0x2d, 0x00 };
	char path[] = "/tmp/vanity-timebase-XXXXXX";

	prop_file(path, one, sizeof(one));
	cr_assert_eq(vanity__timebase_read(path), 20000000);
	unlink(path);
}

Test(cycles, timebase_read_refuses_a_long_file)
{
	static const uint8_t b[12] = { 0, 0, 0, 1 };
	char path[] = "/tmp/vanity-timebase-XXXXXX";

	prop_file(path, b, sizeof(b));
	cr_assert_eq(vanity__timebase_read(path), 0);
	unlink(path);
}

Test(cycles, timebase_read_of_no_file_or_a_directory)
{
	cr_assert_eq(vanity__timebase_read("/nonexistent/timebase-frequency"), 0);
	cr_assert_eq(vanity__timebase_read("/tmp"), 0);
}

Test(cycles, cache_line_is_a_power_of_two)
{
	cr_assert_geq(VANITY_CACHELINE, 32);
	cr_assert_eq(VANITY_CACHELINE & (VANITY_CACHELINE - 1), 0);
}
