/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Re-injection: recreate a saved pending datagram in a socket, corked the
 * same way, to the same destination, with the same attributes; never sent. */
#ifndef UDPCORK_REINJECT_H
#define UDPCORK_REINJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "udpcork.pb-c.h"

/* What a run of re-injections into one network namespace learns once
 * instead of once per socket: whether the last source address asked about
 * can be bound there. Zeroed by the caller before the first socket. */
struct uc_reinject_memo
{
  uint8_t src[16];
  size_t src_len; /* 0: nothing known yet */
  bool src_bindable;
};

/* FD is our duplicate of the socket, WHO names it in warnings. Nothing is
 * transmitted: the datagram is appended with MSG_MORE (and UDP_CORK set
 * first if it was set). The send runs with CAPS as effective capabilities:
 * those of the socket's owner (caps.h). MEMO: NULL, or shared by the
 * sockets of one network namespace. */
int uc_reinject (int fd, const UcDgram *d, uint64_t caps, struct uc_reinject_memo *memo, const char *who,
                 uc_error_t *err);

/* "1.2.3.4:5" destination of D's pending datagram, or "-". */
const char *uc_dgram_dst_str (const UcDgram *d, char *buf, size_t len);
/* "UDP_CORK" or "MSG_MORE". */
const char *uc_dgram_mode_str (const UcDgram *d);

#endif
