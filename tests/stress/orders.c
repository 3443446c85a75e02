// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line instances of libvanity's inline fast path, compiled for
 * aarch64 only so that check_orders.sh can read the instructions the
 * memory orders became. qemu-user runs aarch64 code with the host's
 * (x86, TSO) ordering, so a missing release or acquire passes every run
 * there; on arm64 it is a plain str/ldr instead of stlr/ldar, and that is
 * visible here.
 */
#include <vanity.h>

unsigned int orders_reserve(struct vanity_channel *ch, unsigned int n);
void orders_commit(struct vanity_channel *ch, unsigned int n);
unsigned int orders_peek(struct vanity_channel *ch, unsigned int n);
void orders_release(struct vanity_channel *ch, unsigned int n);

unsigned int orders_reserve(struct vanity_channel *ch, unsigned int n)
{
	return vanity_reserve(ch, n);
}

void orders_commit(struct vanity_channel *ch, unsigned int n)
{
	vanity_commit(ch, n);
}

unsigned int orders_peek(struct vanity_channel *ch, unsigned int n)
{
	return vanity_peek(ch, n);
}

void orders_release(struct vanity_channel *ch, unsigned int n)
{
	vanity_release(ch, n);
}
