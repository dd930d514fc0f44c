/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Discovery: which UDP sockets of a container hold a pending (corked)
 * datagram, and which process/fd owns each. One iterator pass, one pass over
 * the fd tables of the container's processes. */
#ifndef UDPCORK_DISCOVER_H
#define UDPCORK_DISCOVER_H

#include "bpfobj.h"
#include "container.h"
#include <stdbool.h>

struct uc_target
{
  pid_t pid;       /* host pid of the first owner (container order: init first) */
  pid_t nspid;     /* the same, in the container's pid namespace */
  int fd;          /* its fd in that process */
  unsigned n_refs; /* fds referring to the socket in the container */
  struct uc_sock_rec rec;
};

/* True if the socket is corked: UDP_CORK set or a datagram pending. */
static inline int
uc_sock_is_corked (const struct uc_sock_rec *r)
{
  return r->pending != 0 || (r->flags & UC_F_CORK);
}

/* True if the socket has unread datagrams. */
static inline int
uc_sock_has_rx (const struct uc_sock_rec *r)
{
  return r->rx_qlen != 0;
}

/* The caller must be in the container's network namespace. Returns every
 * socket owned by a process of the container that is corked or has unread
 * datagrams (sorted by inode). Such sockets of the netns that no container
 * process holds are logged and left alone. */
int uc_discover (struct uc_bpf *b, const struct uc_container *c, struct uc_target **out, size_t *n, uc_error_t *err);

/* Cheap look, without BPF: may any UDP socket of the container need
 * udpcork (a write or receive queue in /proc/PID/net/udp*, UDP_CORK set, a
 * UDP socket the table does not show)? When it returns 0 with *MAYBE false,
 * nothing needs saving and the BPF programs need not be loaded. */
int uc_discover_quick (const struct uc_container *c, bool *maybe, uc_error_t *err);

/* Describes a target for logs: "pid 12 (container pid 1) fd 3 [::1]:4000". */
const char *uc_target_str (const struct uc_target *t, char *buf, size_t len);

#endif
