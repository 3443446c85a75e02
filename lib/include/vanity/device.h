/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvanity's passed devices: find one the shard owns, map its BARs, and
 * translate an address in a region the device may DMA into to the I/O
 * virtual address the device must be given. Every call returns 0 or
 * -errno; none prints. Included by <vanity.h>.
 */
#ifndef VANITY_DEVICE_H
#define VANITY_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/vanity.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vanity;
struct vanity_device;

/*
 * vanity_device_get - the passed device @name, owned by this shard
 * @v:    the attached shard
 * @name: the device's name in the manifest ([device NAME])
 * @out:  set to the device; the same object on every call for @name
 *
 * Returns 0, -ENOENT (no such device), -EACCES (another shard's device),
 * -EOPNOTSUPP (the hosted backend, which passes no device), -ENOMEM.
 * The device lives until vanity_detach(), which unmaps its BARs.
 */
int vanity_device_get(struct vanity *v, const char *name,
		      struct vanity_device **out);

/*
 * vanity_device_info - what the module says of the device: IDs, class,
 * address, vector counts and BARs (struct vanity_device_info). Never NULL.
 */
const struct vanity_device_info *
vanity_device_info(const struct vanity_device *d);

/*
 * vanity_device_bar - map BAR @bar (once; later calls return the same
 * mapping) and set *@addr and *@len to it. The mapping is uncached; access
 * it with volatile loads and stores of the widths the device takes. The
 * BAR's hole (info->bars[bar].hole_offset/hole_size: the MSI-X table and
 * PBA) is never mapped: touching it is SIGBUS.
 *
 * Returns 0, -EINVAL (@bar >= VANITY_DEVICE_BARS), -ENXIO (no BAR there,
 * or an I/O port BAR: not mappable), or mmap's -errno.
 */
int vanity_device_bar(struct vanity_device *d, unsigned int bar,
		      volatile void **addr, size_t *len);

/*
 * vanity_device_iova - the I/O virtual address at which the device reaches
 * the @len bytes at @addr, which must lie within one region the device may
 * DMA into: the shard's private region, or a channel it is granted (mapped
 * with vanity_channel_get() first).
 *
 * Returns 0 with *@iova set, -EINVAL (@len is 0, or the range is in no
 * region of this shard or crosses a region's end), -ENOENT (the device is
 * not granted that region).
 */
int vanity_device_iova(struct vanity_device *d, const void *addr, size_t len,
		       uint64_t *iova);

/*
 * vanity_device_irq_arm - queue an IRQ_WAIT on the device's vectors
 * @d:          the device
 * @vectors:    bit i for vector i, i < info->irq_vectors (MSI-X vectors
 *              when the device has MSI-X, else MSI; never INTx)
 * @timeout_ns: < 0 none, 0 a poll, else a deadline that far ahead
 * @user_data:  echoed in the CQE
 *
 * Preps the next SQE of the shard's ring; it goes with the next
 * vanity_submit() (or at once under SQPOLL). Its CQE says the lowest
 * vector of @vectors that fired since the last IRQ_WAIT took its events
 * (interrupts before the op are not lost; several fold into one CQE),
 * -ETIME, -ENODEV (system down, or the device was removed), or the
 * module's refusal. The CQE is posted from the interrupt: a shard
 * spinning on its CQ (vanity_peek_cqe()) sees it without a system call.
 * One IRQ_WAIT completes per event; arm again after each CQE.
 *
 * Returns 0, -EINVAL (@vectors is 0 or names a vector the device does
 * not have), -ENODEV (the device has no vectors), -EBUSY (the SQ is
 * full: submit, then arm again).
 */
int vanity_device_irq_arm(struct vanity_device *d, uint64_t vectors,
			  int64_t timeout_ns, uint64_t user_data);

#ifdef __cplusplus
}
#endif

#endif /* VANITY_DEVICE_H */
