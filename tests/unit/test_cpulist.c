// SPDX-License-Identifier: GPL-2.0
/*
 * CPU lists: what parses to which bitmap, every refusal and its reason,
 * formatting (runs, bounds, buffer sizes) and count.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "cpulist.h"

static void set(uint64_t *cpus, unsigned int cpu)
{
	cpus[cpu / 64] |= 1ULL << (cpu % 64);
}

static void parse_ok(const char *s, uint64_t *cpus)
{
	char err[128] = "untouched";

	cr_assert_eq(vanity_cpulist_parse(s, cpus, err, sizeof(err)), 0,
		     "'%s': %s", s, err);
	cr_assert_str_empty(err, "'%s' left a reason: %s", s, err);
}

static void parse_bad(const char *s, const char *reason)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	char err[128] = "";
	unsigned int w;

	cr_assert_eq(vanity_cpulist_parse(s, cpus, err, sizeof(err)), -EINVAL,
		     "'%s' accepted", s ? s : "(null)");
	cr_assert(strstr(err, reason), "'%s': got '%s', want '%s'",
		  s ? s : "(null)", err, reason);
	for (w = 0; w < VANITY_CPU_WORDS; w++)
		cr_assert_eq(cpus[w], 0, "'%s' left cpus behind", s);
}

static void roundtrip(const char *in, const char *want)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	char buf[4096];

	parse_ok(in, cpus);
	cr_assert_eq(vanity_cpulist_format(cpus, buf, sizeof(buf)),
		     (int)strlen(want));
	cr_assert_str_eq(buf, want, "'%s' formatted as '%s'", in, buf);
}

Test(cpulist, single_cpu)
{
	uint64_t cpus[VANITY_CPU_WORDS], want[VANITY_CPU_WORDS] = { 0 };

	parse_ok("2", cpus);
	set(want, 2);
	cr_assert_arr_eq(cpus, want, sizeof(want));
}

Test(cpulist, list_and_ranges)
{
	uint64_t cpus[VANITY_CPU_WORDS], want[VANITY_CPU_WORDS] = { 0 };

	parse_ok("0-1,4,6-7", cpus);
	set(want, 0);
	set(want, 1);
	set(want, 4);
	set(want, 6);
	set(want, 7);
	cr_assert_arr_eq(cpus, want, sizeof(want));
}

Test(cpulist, blanks_around_tokens)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];

	parse_ok("0-1,4,6-7", a);
	parse_ok("  0 - 1 ,\t4 ,6-\t7  ", b);
	cr_assert_arr_eq(a, b, sizeof(a));
}

Test(cpulist, highest_cpu_and_word_boundaries)
{
	uint64_t cpus[VANITY_CPU_WORDS], want[VANITY_CPU_WORDS] = { 0 };

	parse_ok("63-64,127,1023", cpus);
	set(want, 63);
	set(want, 64);
	set(want, 127);
	set(want, 1023);
	cr_assert_arr_eq(cpus, want, sizeof(want));
}

Test(cpulist, full_range)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	unsigned int w;

	parse_ok("0-1023", cpus);
	for (w = 0; w < VANITY_CPU_WORDS; w++)
		cr_assert_eq(cpus[w], ~0ULL);
	cr_assert_eq(vanity_cpulist_count(cpus), VANITY_MAX_CPUS);
}

Test(cpulist, leading_zeros_are_decimal)
{
	uint64_t cpus[VANITY_CPU_WORDS], want[VANITY_CPU_WORDS] = { 0 };

	parse_ok("010", cpus);
	set(want, 10);
	cr_assert_arr_eq(cpus, want, sizeof(want));
}

Test(cpulist, unordered_entries)
{
	roundtrip("7,3-4,0", "0,3-4,7");
}

Test(cpulist, parse_clears_previous_contents)
{
	uint64_t cpus[VANITY_CPU_WORDS];

	memset(cpus, 0xff, sizeof(cpus));
	parse_ok("5", cpus);
	cr_assert_eq(vanity_cpulist_count(cpus), 1);
}

Test(cpulist, null_reason_buffer_is_allowed)
{
	uint64_t cpus[VANITY_CPU_WORDS];

	cr_assert_eq(vanity_cpulist_parse("2x", cpus, NULL, 0), -EINVAL);
	cr_assert_eq(vanity_cpulist_parse("2", cpus, NULL, 0), 0);
}

Test(cpulist, reason_is_truncated_to_the_buffer)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	char err[8];

	memset(err, 'x', sizeof(err));
	cr_assert_eq(vanity_cpulist_parse("5000", cpus, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
}

Test(cpulist, rejects_empty)
{
	parse_bad("", "empty cpu list");
	parse_bad("   \t ", "empty cpu list");
	parse_bad(NULL, "empty cpu list");
}

Test(cpulist, rejects_out_of_range)
{
	parse_bad("1024", "cpu 1024 out of range (max 1023)");
	parse_bad("5000", "cpu 5000 out of range (max 1023)");
	parse_bad("0-1024", "cpu 1024 out of range");
}

Test(cpulist, rejects_numbers_that_would_overflow)
{
	parse_bad("4294967298", "cpu 4294967298 out of range");
	parse_bad("18446744073709551617", "out of range");
	parse_bad("99999999999999999999999999999999999999", "...");
}

Test(cpulist, rejects_reversed_range)
{
	parse_bad("3-2", "bad range 3-2");
}

Test(cpulist, rejects_duplicates)
{
	parse_bad("2,2", "duplicate cpu 2");
	parse_bad("0-3,2", "duplicate cpu 2");
	parse_bad("4-6,1-4", "duplicate cpu 4");
}

Test(cpulist, rejects_trailing_garbage)
{
	parse_bad("2x", "unexpected 'x'");
	parse_bad("2 3", "unexpected '3'");
	parse_bad("1-2-3", "unexpected '-'");
	parse_bad("2;", "unexpected ';'");
	parse_bad("2\n", "unexpected byte 0x0a");
}

Test(cpulist, rejects_missing_numbers)
{
	parse_bad("-", "expected a cpu number at '-'");
	parse_bad("-2", "expected a cpu number at '-2'");
	parse_bad("1--2", "expected a cpu number at '-2'");
	parse_bad("1-", "expected a cpu number at end of list");
	parse_bad("x", "expected a cpu number at 'x'");
	parse_bad("+1", "expected a cpu number");
}

Test(cpulist, rejects_empty_entries)
{
	parse_bad(",2", "empty entry");
	parse_bad("2,,3", "empty entry");
	parse_bad("2,", "trailing ','");
	parse_bad("2, ", "trailing ','");
}

Test(cpulist, format_round_trips)
{
	roundtrip("2", "2");
	roundtrip("2,3", "2-3");
	roundtrip("0-1,4,6-7", "0-1,4,6-7");
	roundtrip("1,3,5", "1,3,5");
	roundtrip("62-66", "62-66");
	roundtrip("1023", "1023");
	roundtrip("0-1023", "0-1023");
	roundtrip("0,1022-1023", "0,1022-1023");
}

Test(cpulist, format_empty_set)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 0 };
	char buf[4] = "xyz";

	cr_assert_eq(vanity_cpulist_format(cpus, buf, sizeof(buf)), 0);
	cr_assert_str_empty(buf);
}

Test(cpulist, format_every_other_cpu_fits_a_page)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	uint64_t back[VANITY_CPU_WORDS];
	char buf[4096];
	int n;

	memset(cpus, 0x55, sizeof(cpus));
	n = vanity_cpulist_format(cpus, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, strlen(buf));
	parse_ok(buf, back);
	cr_assert_arr_eq(back, cpus, sizeof(cpus));
}

Test(cpulist, format_exact_fit_and_one_short)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	char buf[16];

	parse_ok("0-1,4,6-7", cpus);
	cr_assert_eq(vanity_cpulist_format(cpus, buf, 10), 9);
	cr_assert_str_eq(buf, "0-1,4,6-7");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(vanity_cpulist_format(cpus, buf, 9), -ENOSPC);
	cr_assert_str_empty(buf, "a cut-off list must not be shown");
}

Test(cpulist, format_into_nothing)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 0 };

	cr_assert_eq(vanity_cpulist_format(cpus, NULL, 0), -ENOSPC);
}

Test(cpulist, format_one_byte_buffer)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 1 };
	char c = 'x';

	cr_assert_eq(vanity_cpulist_format(cpus, &c, 1), -ENOSPC);
	cr_assert_eq(c, '\0');
}

Test(cpulist, count)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 0 };

	cr_assert_eq(vanity_cpulist_count(cpus), 0);
	parse_ok("0-1,4,6-7,64,1023", cpus);
	cr_assert_eq(vanity_cpulist_count(cpus), 7);
}
