// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts of passed devices, never INTx: MSI-X vectors when the device
 * has them, else MSI, at most VANITY_IRQ_VECTORS_MAX. The hard handler
 * counts the interrupt, adds one pending event and wakes the device's
 * queue, on which each armed IRQ_WAIT of the owner has an entry that asks
 * the ring engine to decide it (kmod/ring_async.c): the CQE is posted
 * from the interrupt. Vectors are steered to housekeeping CPUs, so that
 * a shard spinning on an isolated CPU is never interrupted by its own
 * device.
 */
#include <linux/interrupt.h>
#include <linux/pci.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>

#include "device.h"
#include "irq.h"
#include "system.h"

struct vanity_irq_vec {
	struct vanity_irqs *q;
	unsigned int index;
	int irq;			/* Linux's number, once requested */
	char name[64];			/* in /proc/interrupts */
};

static irqreturn_t vanity_irq_handler(int irq, void *data)
{
	struct vanity_irq_vec *v = data;
	struct vanity_irqs *q = v->q;

	WRITE_ONCE(q->count[v->index], q->count[v->index] + 1);
	/* The engine takes the events with xchg: the same u32, atomically. */
	atomic_inc((atomic_t *)&q->pending[v->index]);
	wake_up(&q->wq);
	return IRQ_HANDLED;
}

void vanity_irqs_init(struct vanity_pdev *d)
{
	init_waitqueue_head(&d->irqs.wq);
}

int vanity_irqs_setup(struct vanity_pdev *d, char *msg)
{
	struct vanity_irqs *q = &d->irqs;
	struct pci_dev *pdev = d->pdev;
	unsigned int i, want;
	int n, ret;

	if (pdev->msix_cap)
		n = pci_msix_vec_count(pdev);
	else if (pdev->msi_cap)
		n = pci_msi_vec_count(pdev);
	else
		return 0;
	if (n <= 0)
		return 0;
	want = min_t(unsigned int, n, VANITY_IRQ_VECTORS_MAX);
	n = pci_alloc_irq_vectors(pdev, 1, want,
				  pdev->msix_cap ? PCI_IRQ_MSIX : PCI_IRQ_MSI);
	if (n < 0) {
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): cannot allocate its %s vectors (%d)",
			 d->desc->name, d->addr, pdev->msix_cap ? "MSI-X" : "MSI",
			 n);
		return n;
	}
	q->msix = pdev->msix_cap;
	q->vec = kcalloc(n, sizeof(*q->vec), GFP_KERNEL);
	if (!q->vec) {
		pci_free_irq_vectors(pdev);
		snprintf(msg, VANITY_MSG_LEN,
			 "device '%s' (%s): no memory for its %d vectors",
			 d->desc->name, d->addr, n);
		return -ENOMEM;
	}
	q->nalloc = n;
	for (i = 0; i < n; i++)
		q->vec[i].irq = -1;
	for (i = 0; i < n; i++) {
		struct vanity_irq_vec *v = &q->vec[i];

		v->q = q;
		v->index = i;
		snprintf(v->name, sizeof(v->name), "vanity-%s-%u",
			 d->desc->name, i);
		v->irq = pci_irq_vector(pdev, i);
		ret = v->irq < 0 ? v->irq :
		      request_irq(v->irq, vanity_irq_handler, 0, v->name, v);
		if (ret) {
			v->irq = -1;
			vanity_irqs_release(d);
			snprintf(msg, VANITY_MSG_LEN,
				 "device '%s' (%s): cannot request its vector %u (%d)",
				 d->desc->name, d->addr, i, ret);
			return ret;
		}
		/* Away from the shards' CPUs; best effort (the chip may not). */
		irq_set_affinity(v->irq, housekeeping_cpumask(HK_TYPE_DOMAIN));
	}
	memset(q->pending, 0, sizeof(q->pending));
	memset(q->count, 0, sizeof(q->count));
	/* Published last: IRQ_WAIT finds vectors only once all are there. */
	smp_store_release(&q->nvec, n);
	return 0;
}

void vanity_irqs_release(struct vanity_pdev *d)
{
	struct vanity_irqs *q = &d->irqs;
	struct vanity_irq_vec *vec = xchg(&q->vec, NULL);
	unsigned int i;

	/* The one caller that took them frees them. */
	if (!vec)
		return;
	WRITE_ONCE(q->nvec, 0);
	for (i = 0; i < q->nalloc; i++)
		if (vec[i].irq >= 0)
			free_irq(vec[i].irq, &vec[i]);
	kfree(vec);
	q->nalloc = 0;
	pci_free_irq_vectors(d->pdev);
}

void vanity_irqs_clear(struct vanity_pdev *d)
{
	unsigned int i;

	for (i = 0; i < VANITY_IRQ_VECTORS_MAX; i++)
		atomic_set((atomic_t *)&d->irqs.pending[i], 0);
}
