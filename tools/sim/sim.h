/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hosted simulator: plays the module's part for `vanityctl run`
 * without root. Regions are memfds handed to shards over a unix socket;
 * the same image is validated by the same core.
 */
#ifndef VANITY_CTL_SIM_H
#define VANITY_CTL_SIM_H

#include <stddef.h>

#include "nl.h"

struct vanity_sim;

/* Validate @img and create every region: 0, or -errno with @msg set. */
int vanity_sim_start(struct vanity_sim **out, const void *img, size_t len,
		     char *msg, size_t msglen);
/* The socket shards connect to ($VANITY_SOCKET for their programs). */
const char *vanity_sim_socket(const struct vanity_sim *s);
/* Serve attach and channel requests for up to @timeout_ms. */
void vanity_sim_poll(struct vanity_sim *s, int timeout_ms);
/* The same view GET gives of the module. */
int vanity_sim_status(const struct vanity_sim *s, struct vanity_status *st);
/* Drop every connection and region, remove the socket. */
void vanity_sim_stop(struct vanity_sim *s);

#endif
