/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Put saved datagrams back into the sockets of a container: two
 * algorithms, one per situation.
 *
 *   give-back   the dumped originals, after a failed dump, after post-dump
 *               (--leave-running), or by hand (udpcork recover): the tasks
 *               are the same, stopped or running; each socket must still be
 *               the dumped one (same inode); one that already holds its
 *               datagram again (an earlier run killed half-way) is left
 *               alone; cheap kernel views prove the result (no BPF: this is
 *               on the checkpoint's critical path).
 *   restore     the restored sockets: pending datagrams (sent with the
 *               owner's own capabilities, see caps.h: after a CRIU restore,
 *               the ones CRIU gives it back, from its image, criuimg.h),
 *               then the exact check through the UDP iterator; receive
 *               queues (rxinject.h). A socket that already holds data is
 *               never appended to.
 *
 * Both stop at the first failure; the image is never modified. */
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

int uc_give_back (const struct uc_container *c, const struct uc_image *img, struct uc_putback_stats *stats,
                  uc_error_t *err);

/* CRIU_DIRFD: CRIU's image directory when the restored tasks still run
 * with CRIU's credentials (post-restore; the owners' own are read from
 * CRIU's images), or -1 when they run with their own (OCI mode). */
int uc_restore (const struct uc_container *c, const struct uc_image *img, int criu_dirfd,
                struct uc_putback_stats *stats, uc_error_t *err);

#endif
