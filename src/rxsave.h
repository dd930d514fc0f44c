/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receive queues, dump side: the unread datagrams of a socket, read with
 * MSG_PEEK through udpcork's own fd (the application can still read them:
 * after a failed dump, with --leave-running), with their source address and
 * port, the address they were sent to, TTL and TOS. */
#ifndef UDPCORK_RXSAVE_H
#define UDPCORK_RXSAVE_H

#include "discover.h"
#include "image.h"

/* Save the receive queue of every target of T with unread datagrams into
 * IMG's rxsocks/rxdgrams. Nothing is consumed; the socket options touched
 * (SO_PEEK_OFF, receive cmsg options) are put back as they were, and are
 * written to the peek journal in DIRFD first, so that a killed run's
 * changes can be undone (uc_rx_peek_undo). */
int uc_rx_save (const struct uc_container *c, int dirfd, struct uc_target *t, size_t n, struct uc_image *img,
                uc_error_t *err);

/* One line of the peek journal (udpcork.peek): "PID FD INO FAMILY PEEK_OFF
 * OPT..." (3 receive options for AF_INET, 6 for AF_INET6, each 0 or 1),
 * every number in range (a pid Linux could hand out, an inode > 0). */
#define UC_PEEK_OPTS 6
struct uc_peek_rec
{
  pid_t pid;
  int fd, family, peek_off; /* FD: the application's */
  unsigned long long ino;
  int opts[UC_PEEK_OPTS];
};
bool uc_rx_peek_parse (const char *line, struct uc_peek_rec *r);

/* Undo what a udpcork-prestop killed while peeking left on the sockets of
 * C (from the peek journal in DIRFD, if there is one). */
int uc_rx_peek_undo (const struct uc_container *c, int dirfd, uc_error_t *err);

#endif
