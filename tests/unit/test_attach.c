// SPDX-License-Identifier: GPL-2.0
/*
 * The attach rules of kmod/core/attach.h, which both backends follow:
 * the arguments ATTACH refuses, whose a shard is (its manifest's user or
 * the system's owner) and the order of the refusals (the caller attached
 * already, no such shard, not the owner nor an admin, taken).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "attach.h"
#include "imgwrite.h"

struct facts {
	unsigned int owner_of;		/* bit i: the caller owns shard i */
	unsigned int taken;		/* bit i: shard i is attached */
};

static bool owns(const void *ctx, unsigned int i)
{
	return ((const struct facts *)ctx)->owner_of >> i & 1;
}

static bool taken(const void *ctx, unsigned int i)
{
	return ((const struct facts *)ctx)->taken >> i & 1;
}

Test(attach, arguments_are_known_flags_and_a_terminated_name)
{
	char name[VANITY_NAME_MAX];

	cr_expect_eq(vanity_attach_args(0, "a", 2), 0);
	cr_expect_eq(vanity_attach_args(VANITY_ATTACH_SQPOLL, "a", 2), 0);
	cr_expect_eq(vanity_attach_args(1U << 1, "a", 2), -EINVAL);
	memset(name, 'a', sizeof(name));
	cr_expect_eq(vanity_attach_args(0, name, sizeof(name)), -EINVAL);
}

Test(attach, a_shard_is_its_users_or_the_system_owners)
{
	struct vanity_image_shard d = { .uid = 1000 };

	cr_expect_eq(vanity_shard_owner(&d, 42), 1000);
	d.uid = 0;
	d.flags = VANITY_SHARD_F_SYSTEM_OWNER;
	cr_expect_eq(vanity_shard_owner(&d, 42), 42);
}

Test(attach, refusals_come_in_one_order)
{
	struct facts f = { 0 };
	struct vanity_attacher who = {
		.owns = owns, .taken = taken, .ctx = &f,
	};
	uint8_t *img;
	size_t len;

	good_image(&img, &len);		/* shards "a" (0) and "b" (1) */
	/* Everything wrong at once: the first rule says. */
	who.attached = true;
	f.taken = 3;
	cr_expect_eq(vanity_attach_decide(img, "nosuch", &who), -EBUSY);
	who.attached = false;
	cr_expect_eq(vanity_attach_decide(img, "nosuch", &who), -ENOENT);
	cr_expect_eq(vanity_attach_decide(img, "b", &who), -EPERM,
		     "not the owner before taken");
	who.admin = true;
	cr_expect_eq(vanity_attach_decide(img, "b", &who), -EBUSY);
	who.admin = false;
	f.owner_of = 2;
	cr_expect_eq(vanity_attach_decide(img, "b", &who), -EBUSY);
	f.taken = 1;
	cr_expect_eq(vanity_attach_decide(img, "b", &who), 1);
	cr_expect_eq(vanity_attach_decide(img, "a", &who), -EPERM);
	who.admin = true;
	cr_expect_eq(vanity_attach_decide(img, "a", &who), -EBUSY);
	f.taken = 0;
	cr_expect_eq(vanity_attach_decide(img, "a", &who), 0, "an admin's");
	free(img);
}
