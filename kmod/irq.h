/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A passed device's interrupts: its MSI-X (else MSI) vectors, requested
 * by the module at UP, each counting its interrupts and its events
 * pending for the owner's IRQ_WAIT ops, which wait on @wq.
 */
#ifndef VANITY_IRQ_H
#define VANITY_IRQ_H

#include <linux/types.h>
#include <linux/wait.h>

/* The vectors an IRQ_WAIT's mask can name. */
#define VANITY_IRQ_VECTORS_MAX	64

struct vanity_pdev;
struct vanity_irq_vec;

struct vanity_irqs {
	unsigned int nvec;		/* 0: none (no MSI, or not set up) */
	bool msix;			/* MSI-X, else MSI */
	unsigned int nalloc;		/* vectors allocated, in @vec */
	struct vanity_irq_vec *vec;	/* nalloc of them, while allocated */
	wait_queue_head_t wq;		/* armed IRQ_WAITs of the owner */
	/* Per vector: events not yet taken by an IRQ_WAIT (the engine's). */
	u32 pending[VANITY_IRQ_VECTORS_MAX];
	/* Per vector: interrupts since UP. One writer: the vector's handler. */
	u64 count[VANITY_IRQ_VECTORS_MAX];
};

/* Before anything else of @d's interrupts. */
void vanity_irqs_init(struct vanity_pdev *d);
/*
 * Request @d's vectors, bound to our driver and confined (its MSIs must
 * reach the interrupt controller through its domain): 0, or -errno with
 * @msg naming the device and the reason. A device with neither MSI nor
 * MSI-X gets no vectors and is still passed (polled drivers need none).
 */
int vanity_irqs_setup(struct vanity_pdev *d, char *msg);
/*
 * Free them (the device quiet: no MSI can be in flight). Once: a second
 * call, even racing the first (DOWN against a hot removal), does nothing.
 */
void vanity_irqs_release(struct vanity_pdev *d);
/* The owner attaches: nothing of an earlier attachment is pending. */
void vanity_irqs_clear(struct vanity_pdev *d);

#endif
