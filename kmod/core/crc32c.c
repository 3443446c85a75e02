// SPDX-License-Identifier: GPL-2.0
/*
 * Bitwise CRC32C, one byte at a time without a table. Images are at most
 * VANITY_IMAGE_MAX_SIZE bytes and checked once per UP, so speed is moot.
 */
#include "crc32c.h"

#define CRC32C_POLY 0x82f63b78U	/* reflected Castagnoli polynomial */

static u32 crc32c_entry(u32 i)
{
	int k;

	for (k = 0; k < 8; k++)
		i = (i & 1) ? (i >> 1) ^ CRC32C_POLY : i >> 1;
	return i;
}

u32 vanity_crc32c_update(u32 state, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len--)
		state = (state >> 8) ^ crc32c_entry((state ^ *p++) & 0xff);
	return state;
}

u32 vanity_crc32c(const void *buf, size_t len)
{
	return ~vanity_crc32c_update(~0U, buf, len);
}
