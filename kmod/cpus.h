/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU ownership: checking that a system's CPUs are online, isolated and
 * unclaimed, and steering movable IRQs away from them while it is up.
 */
#ifndef VANITY_CPUS_H
#define VANITY_CPUS_H

#include <linux/cpumask.h>

struct vanity_irq_save;

struct vanity_cpus {
	cpumask_var_t mask;		/* every CPU of the system */
	struct vanity_irq_save *irqs;	/* moved IRQs and their old masks */
	unsigned int nirqs;
};

/* Bitmap from the image into @mask; -EINVAL (msg filled) for a bad CPU. */
int vanity_cpus_from_image(const u64 *words, struct cpumask *mask,
			   char *msg, size_t len);
/* Refuse CPUs that are offline, not isolated or claimed: names the CPU. */
int vanity_cpus_check(const struct cpumask *mask, char *msg, size_t len);
/* Claim @c->mask and move movable IRQs off it; all or nothing. */
int vanity_cpus_claim(struct vanity_cpus *c);
/* Restore IRQ affinities and release the claim. */
void vanity_cpus_release(struct vanity_cpus *c);

#endif
