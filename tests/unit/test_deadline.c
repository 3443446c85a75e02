// SPDX-License-Identifier: GPL-2.0
/*
 * The core's deadline rule (kmod/core/deadline.h) at its edges: a timeout
 * is added to the clock without ever wrapping, and saturates to "never".
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "deadline.h"

Test(deadline, small_timeouts_add_to_the_clock)
{
	cr_assert_eq(vanity_deadline_after(0, 0), 0);
	cr_assert_eq(vanity_deadline_after(0, 1), 1);
	cr_assert_eq(vanity_deadline_after(1000, 1), 1001);
	cr_assert_eq(vanity_deadline_after(123456789, 5000000), 128456789);
}

Test(deadline, a_sum_that_reaches_s64_max_is_never)
{
	cr_assert_eq(vanity_deadline_after(0, S64_MAX), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(1, S64_MAX), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(1, S64_MAX - 1), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(S64_MAX - 1, 1), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(S64_MAX, 0), VANITY_NEVER);
	/* One short of the end is still a deadline. */
	cr_assert_eq(vanity_deadline_after(1, S64_MAX - 2), S64_MAX - 1);
	cr_assert_eq(vanity_deadline_after(S64_MAX - 2, 1), S64_MAX - 1);
	cr_assert_eq(vanity_deadline_after(0, S64_MAX - 1), S64_MAX - 1);
}

Test(deadline, negative_timeouts_and_clocks_are_never)
{
	cr_assert_eq(vanity_deadline_after(0, -1), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(1000, INT64_MIN), VANITY_NEVER);
	cr_assert_eq(vanity_deadline_after(-1, 5), VANITY_NEVER);
}

/* Never wraps: over a sweep of clocks and timeouts, no result is in the past. */
Test(deadline, no_sum_wraps_into_the_past)
{
	static const s64 v[] = { 0, 1, 2, 1000, INT32_MAX, (s64)1 << 32,
				 S64_MAX / 2, S64_MAX / 2 + 1, S64_MAX - 2,
				 S64_MAX - 1, S64_MAX };
	unsigned int i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
			s64 d = vanity_deadline_after(v[i], v[j]);

			cr_assert_geq(d, v[i], "now %lld + %lld gave %lld",
				      (long long)v[i], (long long)v[j],
				      (long long)d);
			cr_assert(d == VANITY_NEVER || d - v[i] == v[j]);
		}
}
