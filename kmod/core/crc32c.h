/* SPDX-License-Identifier: GPL-2.0 */
/* CRC32C (Castagnoli) of the image, computed identically on every side. */
#ifndef VANITY_CORE_CRC32C_H
#define VANITY_CORE_CRC32C_H

#include "shim.h"

/* Standard CRC32C: initial ~0, reflected, final xor; crc32c("123456789") = 0xe3069283. */
u32 vanity_crc32c(const void *buf, size_t len);

/* Incremental form: start from ~0U, feed pieces, then invert the result. */
u32 vanity_crc32c_update(u32 state, const void *buf, size_t len);

#endif
