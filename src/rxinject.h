/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receive queues, restore side: the saved unread datagrams are sent again,
 * in order, from a raw socket in the container's network namespace, with
 * their original source address and port and destination, so that the
 * restored socket receives identical datagrams (recvmsg: payload, source,
 * PKTINFO destination, TTL, TOS). The source port need not be free.
 * The raw socket's mark (0xC114) is the one CRIU's network lock lets
 * through, so this works while the restored netns is still locked. */
#ifndef UDPCORK_RXINJECT_H
#define UDPCORK_RXINJECT_H

#include "container.h"
#include "image.h"

struct uc_bpf;

/* The caller is in the container's network namespace. For every saved
 * receive queue of IMG: find the restored socket, inject its datagrams,
 * then check with the UDP iterator (B) that it holds them all. */
int uc_rx_put_back (struct uc_bpf *b, const struct uc_container *c, const struct uc_image *img, size_t *n_dgrams,
                    uc_error_t *err);

#endif
