/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's sockets as udpcork touches them: its own duplicate of a
 * container process's fd (pidfd_getfd), checked to be the socket it means
 * before anything is done to it; socket options; and one way to name a
 * socket in messages. */
#ifndef UDPCORK_SOCK_H
#define UDPCORK_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "container.h"
#include "error.h"

#ifndef UDP_CORK
#define UDP_CORK 1
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* What a socket must be. FAMILY 0: any kind; INO 0: any inode. */
struct uc_sock_id
{
  uint32_t family, protocol;
  const uint8_t *addr; /* local address: 4 or 16 bytes */
  uint32_t port;       /* local port */
  unsigned long long ino;
};

/* Our duplicate of fd FD of the container's process PID (host pid), if it
 * is the socket ID describes (ID may be NULL: no check). */
int uc_sock_open (const struct uc_container *c, pid_t pid, int fd, const struct uc_sock_id *id, uc_error_t *err);
/* FD is the socket ID describes (the restored socket is the dumped one). */
int uc_sock_check (int fd, const struct uc_sock_id *id, uc_error_t *err);

/* An int socket option, or DFLT if it cannot be read. */
int uc_sockopt (int fd, int level, int name, int dflt);
/* Bytes in the write queue (SIOCOUTQ), -1 on error. */
int uc_sock_outq (int fd);

/* "pid 12 (container pid 1) fd 3 udp 0.0.0.0:9001", or with HOSTPID 0
 * "container pid 1 fd 3 udp 0.0.0.0:9001". */
#define UC_SOCK_NAME_LEN 160
const char *uc_sock_name (char *buf, size_t len, pid_t hostpid, pid_t nspid, int fd, int family, const void *addr,
                          unsigned port);

#endif
