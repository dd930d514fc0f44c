/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Put saved datagrams back into the sockets of a container: the restored
 * ones (post-restore) or the dumped originals (post-dump, failed dump). */
#ifndef UDPCORK_PUTBACK_H
#define UDPCORK_PUTBACK_H

#include <stdbool.h>
#include "container.h"
#include "image.h"

struct uc_putback_stats
{
  size_t sockets, bytes; /* corked sockets, their pending bytes */
  size_t rx_dgrams;      /* unread datagrams put back */
};

/* For each datagram of IMG: find the socket (container pid + fd), check it is
 * the saved one (ORIGINALS: same inode as at dump), recreate the pending
 * datagram, then check through the UDP iterator that each socket holds
 * exactly the saved pending length. After a restore (not ORIGINALS: their
 * receive queues were only peeked at) the unread datagrams are put back too.
 * Stops at the first failure; the image is never modified. */
int uc_put_back (const struct uc_container *c, const struct uc_image *img, bool originals,
                 struct uc_putback_stats *stats, uc_error_t *err);

#endif
