// SPDX-License-Identifier: GPL-2.0-or-later
#include "reinject.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <linux/in6.h>
#include <net/if.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "caps.h"
#include "cmsg.h"
#include "log.h"
#include "sock.h"
#include "util.h"
#include "xalloc.h"
#include <limits.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SO_TXTIME
#define SO_TXTIME 61
#define SCM_TXTIME SO_TXTIME
#endif
#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif
#define UC_IPCORK_TS_OPT_ID 4

/* Can ADDR (4 or 16 bytes) be bound in this network namespace? */
static bool
bindable (const ProtobufCBinaryData *a)
{
  struct sockaddr_storage ss = { 0 };
  cleanup_close int s = -1;
  socklen_t l;

  if (a->len == 4)
    {
      ss.ss_family = AF_INET;
      memcpy (&((struct sockaddr_in *) &ss)->sin_addr, a->data, 4);
      l = sizeof (struct sockaddr_in);
    }
  else
    {
      ss.ss_family = AF_INET6;
      memcpy (&((struct sockaddr_in6 *) &ss)->sin6_addr, a->data, 16);
      l = sizeof (struct sockaddr_in6);
    }
  s = socket (ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return true; /* cannot tell: keep the saved source */
  return bind (s, (struct sockaddr *) &ss, l) == 0;
}

/* Can a datagram leave from ADDR (4 or 16 bytes) here? The restored
 * network namespace may have other addresses (podman restore --import
 * --name, another host). Sockets with IP_FREEBIND/IP_TRANSPARENT may use
 * any source. The bind test is asked once per address in a row (MEMO). */
static bool
source_usable (int fd, const ProtobufCBinaryData *a, struct uc_reinject_memo *memo)
{
  bool ok;

  if (a->len != 4 && a->len != 16)
    return false;
  if (memo && memo->src_len == a->len && memcmp (memo->src, a->data, a->len) == 0)
    ok = memo->src_bindable;
  else
    {
      ok = bindable (a);
      if (memo)
        {
          memcpy (memo->src, a->data, a->len);
          memo->src_len = a->len;
          memo->src_bindable = ok;
        }
    }
  return ok || uc_sockopt (fd, IPPROTO_IP, IP_FREEBIND, 0) > 0 || uc_sockopt (fd, IPPROTO_IP, IP_TRANSPARENT, 0) > 0;
}

/* What the restored socket already has, for the builder: only what the
 * builder compares with D's attributes (uc_cmsg_build). */
static void
view_of (int fd, const UcDgram *d, struct uc_reinject_memo *memo, struct uc_sockview *v)
{
  struct
  {
    int32_t clockid;
    uint32_t flags;
  } t;
  socklen_t l = sizeof (t);
  char name[IF_NAMESIZE];

  memset (v, 0, sizeof (*v));
  v->tos = -1;
  if (d->has_priority)
    v->priority = uc_sockopt (fd, SOL_SOCKET, SO_PRIORITY, 0);
  if (d->has_tos && d->pending_family == AF_INET)
    v->tos = uc_sockopt (fd, IPPROTO_IP, IP_TOS, -1);
  if (d->has_mark)
    v->mark = (uint32_t) uc_sockopt (fd, SOL_SOCKET, SO_MARK, 0);
  /* a socket's own UDP_SEGMENT applies to every send: always looked at */
  v->udp_segment = uc_sockopt (fd, SOL_UDP, UDP_SEGMENT, 0);
  if (d->has_transmit_time && d->transmit_time)
    v->txtime = getsockopt (fd, SOL_SOCKET, SO_TXTIME, &t, &l) == 0 && l == sizeof (t) && t.clockid >= 0;
  if (d->has_flowlabel && d->flowlabel && d->pending_family == AF_INET6)
    v->flowinfo_send = uc_sockopt (fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, 0) > 0;
  v->src_usable = d->has_src_addr && source_usable (fd, &d->src_addr, memo);
  if (d->has_oif && d->oif && d->oif <= INT_MAX)
    {
      v->bound_ifindex = uc_sockopt (fd, SOL_SOCKET, SO_BINDTOIFINDEX, 0);
      v->oif_exists = if_indextoname (d->oif, name) != NULL;
    }
}

/* Say what was not given back, naming the socket. */
static void
log_notes (unsigned notes, const UcDgram *d, const struct uc_sockview *v, const char *who)
{
  char a[UC_ADDRSTRLEN];

  if (notes & UC_NOTE_OIF_GONE)
    uc_warn ("socket %s: output interface %u of the pending datagram does not exist here: not forced", who, d->oif);
  if (notes & UC_NOTE_SRC_GONE)
    uc_warn ("socket %s: source address %s of the pending datagram does not exist in the restored network "
             "namespace (restored with another address?): the kernel picks the source",
             who, uc_addr_str (d->src_addr.len == 4 ? AF_INET : AF_INET6, d->src_addr.data, 0, a, sizeof (a)));
  if (notes & UC_NOTE_TXTIME_OFF)
    uc_warn ("socket %s: transmit time %llu not restored: SO_TXTIME is off on the restored socket", who,
             (unsigned long long) d->transmit_time);
  if (notes & UC_NOTE_TX_FLAGS)
    uc_warn ("socket %s: timestamp requests of the pending datagram (tx_flags 0x%x) not restored", who, d->tx_flags);
  if (notes & UC_NOTE_MARK_PRIV)
    uc_warn ("socket %s: mark 0x%x of the pending datagram not restored (the socket's is 0x%x): a per-datagram "
             "mark needs CAP_NET_ADMIN, which the socket's owner does not have",
             who, d->mark, v->mark);
  if (notes & UC_NOTE_PRIORITY_PRIV)
    uc_warn ("socket %s: priority %u of the pending datagram not restored: priorities above 6 need CAP_NET_ADMIN, "
             "which the socket's owner does not have",
             who, d->priority);
  if (notes & UC_NOTE_IPOPT_PRIV)
    uc_warn ("socket %s: IPv4 options of the pending datagram not restored: they need CAP_NET_RAW, which the "
             "socket's owner does not have",
             who);
  if (notes & UC_NOTE_NO_ROOM)
    uc_warn ("socket %s: some attributes of the pending datagram did not fit and were not restored", who);
}

static bool
same_peer (int fd, const struct sockaddr_storage *dst, socklen_t len)
{
  struct sockaddr_storage peer;
  socklen_t l = sizeof (peer);

  if (getpeername (fd, (struct sockaddr *) &peer, &l) < 0 || l != len)
    return false;
  if (peer.ss_family == AF_INET)
    {
      const struct sockaddr_in *a = (const void *) &peer, *b = (const void *) dst;
      return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
  const struct sockaddr_in6 *a = (const void *) &peer, *b = (const void *) dst;
  return a->sin6_port == b->sin6_port && memcmp (&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

int
uc_reinject (int fd, const UcDgram *d, uint64_t caps, struct uc_reinject_memo *memo, const char *who, uc_error_t *err)
{
  struct sockaddr_storage dst;
  struct uc_sockview v;
  struct uc_cmsgs c;
  struct uc_caps saved;
  struct iovec iov = { .iov_base = d->payload.data, .iov_len = d->payload.len };
  struct msghdr msg = { 0 };
  int one = 1, e;
  ssize_t r;

  if (d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT && setsockopt (fd, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0)
    return uc_make_error (err, errno, "setsockopt UDP_CORK=1");
  if (d->pending_family == 0)
    return 0;
  view_of (fd, d, memo, &v);
  v.caps = caps;
  msg.msg_name = &dst;
  msg.msg_namelen = uc_cmsg_dest (d, &v, &dst);
  if (msg.msg_namelen == 0)
    return uc_make_error (err, 0, "saved datagram has no usable destination");
  /* A connected socket's datagram went the connected way (which caches the
   * route, source included, for the application's next sends): so again. */
  if (d->has_connected && d->connected && same_peer (fd, &dst, msg.msg_namelen))
    {
      msg.msg_name = NULL;
      msg.msg_namelen = 0;
    }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  log_notes (uc_cmsg_build (d, &v, &c), d, &v, who);
  if (c.len)
    {
      msg.msg_control = c.u.buf;
      msg.msg_controllen = c.len;
    }
  /* With the owner's capabilities: nothing privileged on the container's
   * behalf that it could not do itself. MSG_MORE always: the datagram must
   * stay pending even if UDP_CORK were cleared concurrently. */
  if (uc_caps_lower (caps, &saved, err) < 0)
    return -1;
  do
    r = sendmsg (fd, &msg, MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  e = errno;
  if (uc_caps_restore (&saved, err) < 0)
    return -1;
  if (r < 0)
    {
      char a[UC_ADDRSTRLEN];
      bool net = e == ENETUNREACH || e == EHOSTUNREACH || e == EADDRNOTAVAIL || e == EINVAL || e == ENODEV;
      return uc_make_error (err, e, "sendmsg of %zu pending bytes to %s%s", d->payload.len,
                            uc_dgram_dst_str (d, a, sizeof (a)),
                            net ? " (is the destination routable and the source address present in the restored "
                                  "network namespace? e.g. its loopback up)"
                                : "");
    }
  if ((size_t) r != d->payload.len)
    return uc_make_error (err, 0, "sendmsg took %zd of %zu bytes", r, d->payload.len);
  return 0;
}

const char *
uc_dgram_dst_str (const UcDgram *d, char *buf, size_t len)
{
  if (d->pending_family == 0 || (d->dst_addr.len != 4 && d->dst_addr.len != 16))
    return "-";
  return uc_addr_str (d->dst_addr.len == 4 ? AF_INET : AF_INET6, d->dst_addr.data, d->dst_port, buf, len);
}

const char *
uc_dgram_mode_str (const UcDgram *d)
{
  return d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT ? "UDP_CORK" : "MSG_MORE";
}
