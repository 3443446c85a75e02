// SPDX-License-Identifier: GPL-2.0
/* Registry of the experimental variants (filled in by exp_*.c). */
#include "bench.h"

const struct exp_variant exp_variants[] = {
	{ "none", "placeholder", NULL, NULL },
};
const size_t exp_variant_count = sizeof(exp_variants) / sizeof(exp_variants[0]);
