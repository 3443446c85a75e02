// SPDX-License-Identifier: GPL-2.0
/*
 * CPU checks and claims. A shard CPU must be online and outside the
 * scheduler's housekeeping domain (isolcpus=); movable IRQs aimed at it
 * are steered to the remaining online CPUs until the system goes down.
 */
#include <linux/cpu.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/interrupt.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>

#include "cpus.h"
#include <linux/vanity.h>

struct vanity_irq_save {
	unsigned int irq;
	cpumask_var_t old;
};

/* CPUs claimed by the system that is up; under vanity_lock. */
static struct cpumask vanity_claimed;

int vanity_cpus_from_image(const u64 *words, struct cpumask *mask,
			   char *msg, size_t len)
{
	unsigned int cpu;

	cpumask_clear(mask);
	for (cpu = 0; cpu < VANITY_MAX_CPUS; cpu++) {
		if (!(words[cpu / 64] & (1ULL << (cpu % 64))))
			continue;
		if (cpu >= nr_cpu_ids) {
			snprintf(msg, len, "cpu %u does not exist (%u cpus)",
				 cpu, nr_cpu_ids);
			return -EINVAL;
		}
		cpumask_set_cpu(cpu, mask);
	}
	return 0;
}

int vanity_cpus_check(const struct cpumask *mask, char *msg, size_t len)
{
	unsigned int cpu;

	for_each_cpu(cpu, mask) {
		if (!cpu_online(cpu)) {
			snprintf(msg, len, "cpu %u is offline", cpu);
			return -EINVAL;
		}
		if (housekeeping_test_cpu(cpu, HK_TYPE_DOMAIN)) {
			snprintf(msg, len,
				 "cpu %u is not isolated (boot with isolcpus=%u)",
				 cpu, cpu);
			return -EINVAL;
		}
		if (cpumask_test_cpu(cpu, &vanity_claimed)) {
			snprintf(msg, len, "cpu %u is already claimed", cpu);
			return -EBUSY;
		}
	}
	return 0;
}

/* Whether @d's affinity may be changed by us: not per-CPU, not managed. */
static bool irq_movable(struct irq_data *d)
{
	return d->chip && d->chip->irq_set_affinity && irqd_can_balance(d) &&
	       !irqd_affinity_is_managed(d);
}

static void restore_irqs(struct vanity_cpus *c)
{
	unsigned int i;

	for (i = 0; i < c->nirqs; i++) {
		/* The IRQ may have been freed meanwhile; that is harmless. */
		if (irq_get_irq_data(c->irqs[i].irq))
			irq_set_affinity(c->irqs[i].irq, c->irqs[i].old);
		free_cpumask_var(c->irqs[i].old);
	}
	kfree(c->irqs);
	c->irqs = NULL;
	c->nirqs = 0;
}

int vanity_cpus_claim(struct vanity_cpus *c)
{
	cpumask_var_t target;
	unsigned int irq, n = 0, cap = 0;
	int ret = 0;

	if (!zalloc_cpumask_var(&target, GFP_KERNEL))
		return -ENOMEM;
	for (irq = 0; irq < nr_irqs; irq++) {
		struct irq_data *d = irq_get_irq_data(irq);
		const struct cpumask *aff;

		if (!d || !irq_movable(d))
			continue;
		aff = irq_data_get_affinity_mask(d);
		if (!aff || !cpumask_intersects(aff, c->mask))
			continue;
		cpumask_andnot(target, aff, c->mask);
		if (cpumask_empty(target))
			cpumask_andnot(target, cpu_online_mask, c->mask);
		if (cpumask_empty(target))
			continue;
		if (n == cap) {
			struct vanity_irq_save *s;

			cap = cap ? cap * 2 : 16;
			s = krealloc_array(c->irqs, cap, sizeof(*s), GFP_KERNEL);
			if (!s) {
				ret = -ENOMEM;
				goto err;
			}
			c->irqs = s;
		}
		if (!alloc_cpumask_var(&c->irqs[n].old, GFP_KERNEL)) {
			ret = -ENOMEM;
			goto err;
		}
		cpumask_copy(c->irqs[n].old, aff);
		c->irqs[n].irq = irq;
		if (irq_set_affinity(irq, target)) {
			/* Refused by the chip: nothing to restore. */
			free_cpumask_var(c->irqs[n].old);
			continue;
		}
		c->nirqs = ++n;
	}
	free_cpumask_var(target);
	cpumask_or(&vanity_claimed, &vanity_claimed, c->mask);
	return 0;
err:
	free_cpumask_var(target);
	restore_irqs(c);
	return ret;
}

void vanity_cpus_release(struct vanity_cpus *c)
{
	restore_irqs(c);
	cpumask_andnot(&vanity_claimed, &vanity_claimed, c->mask);
}
