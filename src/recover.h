/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Give the datagrams of a dump back to the dumped container, exactly once:
 * after a failed dump (network-unlock), after post-dump (--leave-running),
 * and by hand (udpcork recover) when udpcork-prestop or CRIU was killed. */
#ifndef UDPCORK_RECOVER_H
#define UDPCORK_RECOVER_H

#include <stdbool.h>
#include "container.h"

/* Where the datagrams are: the capture log if udpcork-prestop died while
 * capturing, else the image if the journal says `captured`. Only for the
 * dump ID (NULL: whichever dump). Sockets that already hold their datagram
 * again are skipped. *FOUND tells whether there was anything to give back.
 * Receive queues a killed dump left peeked get their SO_PEEK_OFF and
 * receive options back first (uc_rx_peek_undo). */
int uc_recover (const struct uc_container *c, int dirfd, const char *id, const char *why, bool *found, uc_error_t *err);

#endif
