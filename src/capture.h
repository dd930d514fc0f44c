/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capture: take the pending datagram out of each target socket without
 * transmitting it.
 *
 * For every socket: our own duplicate of its fd (pidfd_getfd), its cookie
 * armed in the capture map, the netfilter program attached first in line at
 * NF_INET_LOCAL_OUT of the container's netns, then UDP_CORK=0 on the
 * duplicate: the kernel pushes the pending datagram, the program copies it
 * whole and drops it. A socket counts as captured only with exactly one
 * complete record, an empty write queue and UDP_CORK off. */
#ifndef UDPCORK_CAPTURE_H
#define UDPCORK_CAPTURE_H

#include <stdbool.h>
#include "discover.h"
#include "udpcork.pb-c.h"

struct uc_work
{
  struct uc_target *t;
  int fd;        /* our duplicate of the socket, -1 if not opened */
  __u64 cookie;
  UcDgram *dg;   /* what is saved for this socket */
  bool taken;    /* the socket's pending state is out of the socket */
  bool saved;    /* ... and complete in dg */
};

/* Open our duplicates of the targets' fds and check they are the sockets the
 * iterator saw (same inode). */
int uc_work_open (struct uc_work *w, size_t n, uc_error_t *err);
void uc_work_close (struct uc_work *w, size_t n);

/* Capture every socket of W; PERSIST saves each datagram as soon as it is
 * out of the kernel. The caller is in the container's netns. On
 * failure every socket already taken is given its datagram back (so nothing
 * is lost and nothing was sent) and the error names the socket that failed. */
typedef int (*uc_persist_fn) (void *ctx, const UcDgram *d, uc_error_t *err);
int uc_capture_all (struct uc_bpf *b, struct uc_work *w, size_t n, uc_persist_fn persist, void *ctx,
                    uc_error_t *err);

/* Give every taken socket of W its datagram back (rollback). Returns the
 * number of sockets that could not be restored (each one logged). */
size_t uc_capture_rollback (struct uc_work *w, size_t n);

#endif
