/* SPDX-License-Identifier: GPL-2.0 */
/* The "vanity" generic netlink family: UP, DOWN, GET and the events group. */
#ifndef VANITY_NETLINK_H
#define VANITY_NETLINK_H

int vanity_nl_init(void);
void vanity_nl_exit(void);

#endif
