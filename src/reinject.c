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
#include "log.h"
#include "util.h"

#ifndef UDP_CORK
#define UDP_CORK 1
#endif
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

struct cmsg_buf
{
  union
  {
    char buf[1024];
    struct cmsghdr align;
  } u;
  size_t len;
};

static void
cmsg_add (struct cmsg_buf *c, int level, int type, const void *data, size_t len)
{
  struct cmsghdr *h = (struct cmsghdr *) (c->u.buf + c->len);

  h->cmsg_level = level;
  h->cmsg_type = type;
  h->cmsg_len = CMSG_LEN (len);
  memcpy (CMSG_DATA (h), data, len);
  c->len += CMSG_SPACE (len);
}

static int
sockopt_int (int fd, int level, int name, int dflt)
{
  int v = dflt;
  socklen_t l = sizeof (v);
  if (getsockopt (fd, level, name, &v, &l) < 0)
    return dflt;
  return v;
}

/* Can a datagram leave from ADDR (4 or 16 bytes) here? The restored
 * network namespace may have other addresses (podman restore --import
 * --name, another host). Sockets with IP_FREEBIND/IP_TRANSPARENT may use
 * any source. */
static bool
source_usable (int fd, const ProtobufCBinaryData *a)
{
  struct sockaddr_storage ss = { 0 };
  socklen_t l;
  int s, ok;

  if (sockopt_int (fd, IPPROTO_IP, IP_FREEBIND, 0) > 0 || sockopt_int (fd, IPPROTO_IP, IP_TRANSPARENT, 0) > 0)
    return true;
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
  ok = bind (s, (struct sockaddr *) &ss, l) == 0;
  close (s);
  return ok;
}

/* IP_PKTINFO / IPV6_PKTINFO: the source the datagram had, and its output
 * interface when the application chose one per datagram. */
static void
add_pktinfo (int fd, const UcDgram *d, int oif, struct cmsg_buf *c, const char *who)
{
  char a[UC_ADDRSTRLEN];
  bool src = d->src_addr.len == 4 || d->src_addr.len == 16;

  if (oif && oif == sockopt_int (fd, SOL_SOCKET, SO_BINDTOIFINDEX, 0))
    oif = 0; /* the socket's own bound device: implied */
  if (oif && if_indextoname (oif, a) == NULL)
    {
      uc_warn ("socket %s: output interface %d of the pending datagram does not exist here: not forced", who, oif);
      oif = 0;
    }
  if (src && ! source_usable (fd, &d->src_addr))
    {
      uc_warn ("socket %s: source address %s of the pending datagram does not exist in the restored network "
               "namespace (restored with another address?): the kernel picks the source",
               who, uc_addr_str (d->src_addr.len == 4 ? AF_INET : AF_INET6, d->src_addr.data, 0, a, sizeof (a)));
      src = false;
    }
  if (! src && ! oif)
    return;
  if (d->family == AF_INET)
    {
      struct in_pktinfo pi = { .ipi_ifindex = oif };
      if (src)
        memcpy (&pi.ipi_spec_dst, d->src_addr.data, 4);
      cmsg_add (c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof (pi));
      return;
    }
  struct in6_pktinfo pi = { .ipi6_ifindex = oif };
  if (src && d->src_addr.len == 4) /* IPv4 source of a v4-mapped datagram */
    {
      pi.ipi6_addr.s6_addr[10] = pi.ipi6_addr.s6_addr[11] = 0xff;
      memcpy (&pi.ipi6_addr.s6_addr[12], d->src_addr.data, 4);
    }
  else if (src)
    memcpy (&pi.ipi6_addr, d->src_addr.data, 16);
  cmsg_add (c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof (pi));
}

/* Attributes of the datagram as control messages: the ones the kernel
 * takes per datagram; mark and priority only where they differ from the
 * socket's. What cannot be given back is logged, naming the socket. */
static void
build_cmsgs (int fd, const UcDgram *d, struct cmsg_buf *c, const char *who)
{
  bool v4 = d->pending_family == AF_INET;
  int priority = sockopt_int (fd, SOL_SOCKET, SO_PRIORITY, 0);
  int oif = d->has_oif ? (int) d->oif : 0;

  if (d->has_ttl)
    {
      int ttl = d->ttl;
      if (v4)
        cmsg_add (c, IPPROTO_IP, IP_TTL, &ttl, sizeof (ttl));
      else
        cmsg_add (c, IPPROTO_IPV6, IPV6_HOPLIMIT, &ttl, sizeof (ttl));
    }
  if (d->has_tos)
    {
      int tos = d->tos;
      if (v4 && tos != sockopt_int (fd, IPPROTO_IP, IP_TOS, -1))
        {
          cmsg_add (c, IPPROTO_IP, IP_TOS, &tos, sizeof (tos));
          priority = -1; /* IP_TOS also sets the priority: restate it below */
        }
      else if (! v4)
        cmsg_add (c, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof (tos));
    }
  add_pktinfo (fd, d, oif, c, who);
  if ((d->has_gso_size && d->gso_size) || sockopt_int (fd, SOL_UDP, UDP_SEGMENT, 0))
    {
      uint16_t gso = d->has_gso_size ? d->gso_size : 0;
      cmsg_add (c, SOL_UDP, UDP_SEGMENT, &gso, sizeof (gso));
    }
  if (v4 && d->has_ip_options && d->ip_options.len)
    cmsg_add (c, IPPROTO_IP, IP_RETOPTS, d->ip_options.data, d->ip_options.len);
  if (! v4 && d->has_dontfrag)
    {
      int df = d->dontfrag;
      cmsg_add (c, IPPROTO_IPV6, IPV6_DONTFRAG, &df, sizeof (df));
    }
  if (d->has_transmit_time && d->transmit_time)
    {
      struct sock_txtime_opt
      {
        int32_t clockid;
        uint32_t flags;
      } t;
      socklen_t l = sizeof (t);
      if (getsockopt (fd, SOL_SOCKET, SO_TXTIME, &t, &l) == 0 && l == sizeof (t) && t.clockid >= 0)
        cmsg_add (c, SOL_SOCKET, SCM_TXTIME, &d->transmit_time, sizeof (d->transmit_time));
      else
        uc_warn ("socket %s: transmit time %llu not restored: SO_TXTIME is off on the restored socket", who,
                 (unsigned long long) d->transmit_time);
    }
  if (d->has_cork_flags && (d->cork_flags & UC_IPCORK_TS_OPT_ID))
    cmsg_add (c, SOL_SOCKET, SCM_TS_OPT_ID, &d->ts_opt_id, sizeof (d->ts_opt_id));
  if (d->has_tx_flags && d->tx_flags)
    uc_warn ("socket %s: timestamp requests of the pending datagram (tx_flags 0x%x) not restored", who,
             d->tx_flags);
  if (d->has_mark && d->mark != (uint32_t) sockopt_int (fd, SOL_SOCKET, SO_MARK, 0))
    cmsg_add (c, SOL_SOCKET, SO_MARK, &d->mark, sizeof (d->mark));
  if (d->has_priority && (priority < 0 || d->priority != (uint32_t) priority))
    cmsg_add (c, SOL_SOCKET, SO_PRIORITY, &d->priority, sizeof (d->priority));
}

static socklen_t
build_dest (int fd, const UcDgram *d, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (d->family == AF_INET)
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) ss;
      sin->sin_family = AF_INET;
      sin->sin_port = htons (d->dst_port);
      memcpy (&sin->sin_addr, d->dst_addr.data, 4);
      return sizeof (*sin);
    }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons (d->dst_port);
  /* An explicit flow label only counts with IPV6_FLOWINFO_SEND; without it
   * the kernel computes the label again, as it did for the original. */
  if (d->has_flowlabel && d->flowlabel && d->pending_family == AF_INET6
      && sockopt_int (fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, 0))
    sin6->sin6_flowinfo = htonl (d->flowlabel);
  if (d->dst_addr.len == 4) /* v4-mapped */
    {
      sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
      memcpy (&sin6->sin6_addr.s6_addr[12], d->dst_addr.data, 4);
    }
  else
    memcpy (&sin6->sin6_addr, d->dst_addr.data, 16);
  return sizeof (*sin6);
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
uc_reinject (int fd, const UcDgram *d, const char *who, uc_error_t *err)
{
  struct sockaddr_storage dst;
  struct cmsg_buf c = { .len = 0 };
  struct iovec iov = { .iov_base = d->payload.data, .iov_len = d->payload.len };
  struct msghdr msg = { 0 };
  int one = 1;
  ssize_t r;

  if (d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT && setsockopt (fd, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0)
    return uc_make_error (err, errno, "setsockopt UDP_CORK=1");
  if (d->pending_family == 0)
    return 0;
  if ((d->dst_addr.len != 4 && d->dst_addr.len != 16) || ! d->has_dst_port)
    return uc_make_error (err, 0, "saved datagram has no destination");

  msg.msg_name = &dst;
  msg.msg_namelen = build_dest (fd, d, &dst);
  /* A connected socket's datagram went the connected way (which caches the
   * route, source included, for the application's next sends): so again. */
  if (d->has_connected && d->connected && same_peer (fd, &dst, msg.msg_namelen))
    {
      msg.msg_name = NULL;
      msg.msg_namelen = 0;
    }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  build_cmsgs (fd, d, &c, who);
  if (c.len)
    {
      msg.msg_control = c.u.buf;
      msg.msg_controllen = c.len;
    }
  /* MSG_MORE always: the datagram must stay pending even if UDP_CORK were
   * cleared concurrently. */
  do
    r = sendmsg (fd, &msg, MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      int e = errno;
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

int
uc_check_identity (int fd, const UcDgram *d, uc_error_t *err)
{
  return uc_check_identity_of (fd, d->family, d->protocol, &d->local_addr, d->local_port, err);
}

int
uc_check_identity_of (int fd, uint32_t family, uint32_t protocol, const ProtobufCBinaryData *local_addr,
                      uint32_t local_port, uc_error_t *err)
{
  struct sockaddr_storage ss;
  socklen_t l = sizeof (ss);
  int type = sockopt_int (fd, SOL_SOCKET, SO_TYPE, -1);
  int dom = sockopt_int (fd, SOL_SOCKET, SO_DOMAIN, -1);
  int proto = sockopt_int (fd, SOL_SOCKET, SO_PROTOCOL, -1);
  const void *addr;
  unsigned port;

  if (type != SOCK_DGRAM || dom != (int) family || proto != (int) protocol)
    return uc_make_error (err, 0, "not the saved socket (type %d domain %d protocol %d, expected datagram %u/%u)",
                          type, dom, proto, family, protocol);
  if (getsockname (fd, (struct sockaddr *) &ss, &l) < 0)
    return uc_make_error (err, errno, "getsockname");
  if (dom == AF_INET)
    {
      addr = &((struct sockaddr_in *) &ss)->sin_addr;
      port = ntohs (((struct sockaddr_in *) &ss)->sin_port);
    }
  else
    {
      addr = &((struct sockaddr_in6 *) &ss)->sin6_addr;
      port = ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
    }
  if (port != local_port || local_addr->len != (dom == AF_INET ? 4u : 16u)
      || memcmp (addr, local_addr->data, local_addr->len) != 0)
    {
      char a[UC_ADDRSTRLEN], b[UC_ADDRSTRLEN];
      return uc_make_error (err, 0, "not the saved socket: bound to %s, saved %s", uc_addr_str (dom, addr, port, a, sizeof (a)),
                            uc_addr_str (dom, local_addr->data, local_port, b, sizeof (b)));
    }
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
