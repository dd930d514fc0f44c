/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control messages that give a re-injected pending datagram its
 * attributes: pure, bounded, tested and fuzzed on their own. What the
 * restored socket already has comes in a struct uc_sockview (read by the
 * caller); the builder decides.
 *
 * Least privilege: udpcork sends on the container's behalf with no more
 * power than the socket's owner has. Attributes whose control message
 * needs a capability (a mark or a priority above 6: CAP_NET_ADMIN; IPv4
 * options of the security, stream-id or CIPSO kinds or of unknown types:
 * CAP_NET_RAW) are given back only if the owner has it (V->caps), or where
 * the restored socket already carries them (no control message needed);
 * otherwise they are left out and a note says so. The sendmsg itself runs
 * with the owner's capabilities (caps.h), so the kernel checks the same. */
#ifndef UDPCORK_CMSG_H
#define UDPCORK_CMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "udpcork.pb-c.h"

struct uc_sockview
{
  int priority;       /* SO_PRIORITY */
  int tos;            /* IP_TOS, -1 if unknown */
  uint32_t mark;      /* SO_MARK */
  int bound_ifindex;  /* SO_BINDTOIFINDEX */
  int udp_segment;    /* UDP_SEGMENT */
  bool txtime;        /* SO_TXTIME is on */
  bool flowinfo_send; /* IPV6_FLOWINFO_SEND */
  bool src_usable;    /* the saved source address can be used here */
  bool oif_exists;    /* the saved output interface exists here */
  uint64_t caps;      /* effective capabilities of the socket's owner */
};

/* Room for every control message at once, with margin. */
#define UC_CMSG_SPACE 512

struct uc_cmsgs
{
  union
  {
    char buf[UC_CMSG_SPACE];
    struct cmsghdr align;
  } u;
  size_t len;
};

/* Notes on what was not given back, for the caller to log. */
enum
{
  UC_NOTE_OIF_GONE = 1 << 0,      /* output interface does not exist here */
  UC_NOTE_SRC_GONE = 1 << 1,      /* source address not present here */
  UC_NOTE_TXTIME_OFF = 1 << 2,    /* SO_TXTIME off on the restored socket */
  UC_NOTE_TX_FLAGS = 1 << 3,      /* per-datagram timestamp requests */
  UC_NOTE_MARK_PRIV = 1 << 4,     /* mark differs from the socket's: needs privilege */
  UC_NOTE_PRIORITY_PRIV = 1 << 5, /* priority > 6 the socket does not have */
  UC_NOTE_IPOPT_PRIV = 1 << 6,    /* IPv4 options that need CAP_NET_RAW */
  UC_NOTE_NO_ROOM = 1 << 7,       /* control messages did not fit (cannot happen) */
};

/* Build D's control messages for a socket in state V into C. Returns the
 * UC_NOTE_* bits of what was left out. */
unsigned uc_cmsg_build (const UcDgram *d, const struct uc_sockview *v, struct uc_cmsgs *c);

/* The destination of D as a sockaddr (for the socket's family FAMILY): 0,
 * or its length; V decides on the flow label. */
socklen_t uc_cmsg_dest (const UcDgram *d, const struct uc_sockview *v, struct sockaddr_storage *ss);

#endif
