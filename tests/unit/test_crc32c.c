// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C against published vectors (the check value and RFC 3720's
 * iSCSI test patterns), and the incremental form against the one-shot.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "crc32c.h"

Test(crc32c, check_value_of_123456789)
{
	cr_assert_eq(vanity_crc32c("123456789", 9), 0xe3069283U);
}

Test(crc32c, empty_input_is_zero)
{
	cr_assert_eq(vanity_crc32c("", 0), 0);
}

Test(crc32c, single_byte)
{
	cr_assert_eq(vanity_crc32c("a", 1), 0xc1d04330U);
}

Test(crc32c, rfc3720_32_zero_bytes)
{
	uint8_t b[32];

	memset(b, 0, sizeof(b));
	cr_assert_eq(vanity_crc32c(b, sizeof(b)), 0x8a9136aaU);
}

Test(crc32c, rfc3720_32_ff_bytes)
{
	uint8_t b[32];

	memset(b, 0xff, sizeof(b));
	cr_assert_eq(vanity_crc32c(b, sizeof(b)), 0x62a8ab43U);
}

Test(crc32c, rfc3720_incrementing_bytes)
{
	uint8_t b[32];
	unsigned int i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	cr_assert_eq(vanity_crc32c(b, sizeof(b)), 0x46dd794eU);
}

Test(crc32c, rfc3720_decrementing_bytes)
{
	uint8_t b[32];
	unsigned int i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(31 - i);
	cr_assert_eq(vanity_crc32c(b, sizeof(b)), 0x113fdb5cU);
}

Test(crc32c, incremental_matches_one_shot_at_every_split)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s), k;
	uint32_t whole = vanity_crc32c(s, n), st;

	cr_assert_eq(whole, 0x22620404U);
	for (k = 0; k <= n; k++) {
		st = vanity_crc32c_update(~0U, s, k);
		st = vanity_crc32c_update(st, s + k, n - k);
		cr_assert_eq(~st, whole, "split at %zu", k);
	}
}

Test(crc32c, detects_a_single_bit_flip)
{
	uint8_t b[64] = { 0 };
	uint32_t base = vanity_crc32c(b, sizeof(b));
	unsigned int bit;

	for (bit = 0; bit < sizeof(b) * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		cr_assert_neq(vanity_crc32c(b, sizeof(b)), base, "bit %u", bit);
		b[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
}
