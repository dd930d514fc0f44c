/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capture: take the pending datagram out of each target socket without
 * transmitting it.
 *
 * For every socket: our own duplicate of its fd (pidfd_getfd), its cookie
 * armed in the capture map (a slot that also records the socket: owner,
 * cork mode, the iterator's record), the capture program attached first in
 * line (netfilter LOCAL_OUT of the container's netns, or cgroup_skb egress
 * at the cgroup2 root on kernels without netfilter BPF links), then
 * UDP_CORK=0 on the duplicate: the kernel pushes the pending datagram, the
 * program copies it whole into the slot and drops it. The map is pinned
 * under /sys/fs/bpf/udpcork/DUMP-ID for the whole capture, so a datagram is
 * always in the socket, in the pinned slot or in the capture log, even if
 * udpcork-prestop is killed. A socket counts as captured only with exactly
 * one complete record, an empty write queue and UDP_CORK off. */
#ifndef UDPCORK_CAPTURE_H
#define UDPCORK_CAPTURE_H

#include <stdbool.h>
#include "discover.h"
#include "udpcork.pb-c.h"

struct uc_work
{
  struct uc_target *t;
  int fd; /* our duplicate of the socket, -1 if not opened */
  __u64 cookie;
  UcDgram *dg; /* what is saved for this socket */
  bool taken;  /* the socket's pending state is out of the socket */
  bool logged; /* ... and in the capture log */
  bool saved;  /* ... and every check passed: it can be given back */
};

/* Open our duplicates of the targets' fds and check they are the sockets the
 * iterator saw (same inode). */
int uc_work_open (const struct uc_container *c, struct uc_work *w, size_t n, uc_error_t *err);
void uc_work_close (struct uc_work *w, size_t n);

/* Where captured datagrams go: PERSIST saves each one as soon as it is out
 * of the kernel (before its slot is released); then its payload leaves
 * memory (payload.data NULL, payload.len kept), and RELOAD brings the
 * payloads of W back for a rollback. */
struct uc_capture_sink
{
  int (*persist) (void *ctx, const UcDgram *d, uc_error_t *err);
  int (*reload) (void *ctx, struct uc_work *w, size_t n, uc_error_t *err);
  void *ctx;
};

/* Capture every socket of W under the pinned map of DUMP_ID into SINK. The
 * caller is in the container's netns. On failure every socket already taken
 * is given its datagram back (so nothing is lost and nothing was sent) and
 * the error names the socket that failed. */
int uc_capture_all (struct uc_bpf *b, const char *dump_id, struct uc_work *w, size_t n,
                    const struct uc_capture_sink *sink, uc_error_t *err);

/* Give every taken and saved socket of W its datagram back (rollback), the
 * payloads brought back from SINK first. Returns the number of sockets whose
 * datagram is not back in the socket (each one logged; those that were
 * logged stay in the capture log). */
size_t uc_capture_rollback (struct uc_work *w, size_t n, const struct uc_capture_sink *sink);

/* The image entry for a slot that a killed capture left in the pinned
 * map: NULL if there is nothing to give back (the datagram never left its
 * socket), else a new entry; *WHY says why a slot's datagram is lost. */
UcDgram *uc_capture_leftover (const struct uc_container *c, __u64 cookie, const struct uc_slot *s, const char **why);

#endif
