/* SPDX-License-Identifier: GPL-2.0 */
/* /dev/vanity: attach by name, channel lookup, mmap of regions. */
#ifndef VANITY_DEV_H
#define VANITY_DEV_H

struct file;

int vanity_dev_init(void);
void vanity_dev_exit(void);
/* Zap every mapping made through @file (forced DOWN). */
void vanity_dev_zap(struct file *file);

#endif
