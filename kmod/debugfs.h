/* SPDX-License-Identifier: GPL-2.0 */
/* debugfs vanity/: the system, shards and channels as text. */
#ifndef VANITY_DEBUGFS_H
#define VANITY_DEBUGFS_H

void vanity_debugfs_init(void);
void vanity_debugfs_exit(void);

#endif
