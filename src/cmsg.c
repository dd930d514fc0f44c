// SPDX-License-Identifier: GPL-2.0-or-later
#include "cmsg.h"

#include <netinet/in.h>
#include <string.h>
#include "caps.h"
#include "packet.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SCM_TXTIME
#define SCM_TXTIME 61
#endif
#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif
#define UC_IPCORK_TS_OPT_ID 4
/* the priorities any socket may set (TC_PRIO_BESTEFFORT..TC_PRIO_INTERACTIVE) */
#define UC_PRIO_UNPRIVILEGED_MAX 6

/* Append one control message; false (nothing written) if it does not fit. */
static bool
add (struct uc_cmsgs *c, int level, int type, const void *data, size_t len)
{
  struct cmsghdr *h;

  if (c->len > sizeof (c->u.buf) || CMSG_SPACE (len) > sizeof (c->u.buf) - c->len)
    return false;
  h = (struct cmsghdr *) (c->u.buf + c->len);
  memset (h, 0, CMSG_SPACE (len));
  h->cmsg_level = level;
  h->cmsg_type = type;
  h->cmsg_len = CMSG_LEN (len);
  memcpy (CMSG_DATA (h), data, len);
  c->len += CMSG_SPACE (len);
  return true;
}

static unsigned
add_int (struct uc_cmsgs *c, int level, int type, int v)
{
  return add (c, level, type, &v, sizeof (v)) ? 0 : UC_NOTE_NO_ROOM;
}

/* IP_PKTINFO / IPV6_PKTINFO: the source the datagram had, and its output
 * interface when the application chose one per datagram. */
static unsigned
add_pktinfo (const UcDgram *d, const struct uc_sockview *v, struct uc_cmsgs *c)
{
  bool src = d->has_src_addr && (d->src_addr.len == 4 || d->src_addr.len == 16);
  int oif = d->has_oif ? (int) d->oif : 0;
  unsigned notes = 0;

  if (oif && oif == v->bound_ifindex)
    oif = 0; /* the socket's own bound device: implied */
  if (oif && ! v->oif_exists)
    {
      notes |= UC_NOTE_OIF_GONE;
      oif = 0;
    }
  if (src && ! v->src_usable)
    {
      notes |= UC_NOTE_SRC_GONE;
      src = false;
    }
  if (! src && ! oif)
    return notes;
  if (d->family == AF_INET)
    {
      struct in_pktinfo pi = { .ipi_ifindex = oif };
      if (src && d->src_addr.len == 4)
        memcpy (&pi.ipi_spec_dst, d->src_addr.data, 4);
      return notes | (add (c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof (pi)) ? 0 : UC_NOTE_NO_ROOM);
    }
  struct in6_pktinfo pi = { .ipi6_ifindex = oif };
  if (src && d->src_addr.len == 4) /* IPv4 source of a v4-mapped datagram */
    {
      pi.ipi6_addr.s6_addr[10] = pi.ipi6_addr.s6_addr[11] = 0xff;
      memcpy (&pi.ipi6_addr.s6_addr[12], d->src_addr.data, 4);
    }
  else if (src)
    memcpy (&pi.ipi6_addr, d->src_addr.data, 16);
  return notes | (add (c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof (pi)) ? 0 : UC_NOTE_NO_ROOM);
}

unsigned
uc_cmsg_build (const UcDgram *d, const struct uc_sockview *v, struct uc_cmsgs *c)
{
  bool v4 = d->pending_family == AF_INET, privileged = false;
  int priority = v->priority; /* what the datagram gets unless told */
  unsigned notes = 0;

  c->len = 0;
  if (d->has_ttl && d->ttl >= 0 && d->ttl <= 255)
    notes |= add_int (c, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_HOPLIMIT, d->ttl);
  if (d->has_tos && d->tos >= 0 && d->tos <= 255)
    {
      if (v4 && d->tos != v->tos)
        {
          notes |= add_int (c, IPPROTO_IP, IP_TOS, d->tos);
          priority = -1; /* IP_TOS also sets the priority: restated below */
        }
      else if (! v4)
        notes |= add_int (c, IPPROTO_IPV6, IPV6_TCLASS, d->tos);
    }
  notes |= add_pktinfo (d, v, c);
  if ((d->has_gso_size && d->gso_size) || v->udp_segment)
    {
      uint16_t gso = d->has_gso_size && d->gso_size <= 65535 ? (uint16_t) d->gso_size : 0;
      notes |= add (c, SOL_UDP, UDP_SEGMENT, &gso, sizeof (gso)) ? 0 : UC_NOTE_NO_ROOM;
    }
  if (v4 && d->has_ip_options && d->ip_options.len)
    {
      if (d->ip_options.len > UC_MAX_IPOPT || uc_ipopt_check (d->ip_options.data, d->ip_options.len, &privileged))
        notes |= UC_NOTE_IPOPT_PRIV; /* malformed: the validator should have refused it */
      else if (privileged && ! (v->caps & UC_CAP (CAP_NET_RAW)))
        notes |= UC_NOTE_IPOPT_PRIV;
      else
        notes |= add (c, IPPROTO_IP, IP_RETOPTS, d->ip_options.data, d->ip_options.len) ? 0 : UC_NOTE_NO_ROOM;
    }
  if (! v4 && d->has_dontfrag && d->dontfrag >= -1 && d->dontfrag <= 1)
    notes |= add_int (c, IPPROTO_IPV6, IPV6_DONTFRAG, d->dontfrag);
  if (d->has_transmit_time && d->transmit_time)
    {
      if (v->txtime)
        notes |= add (c, SOL_SOCKET, SCM_TXTIME, &d->transmit_time, sizeof (d->transmit_time)) ? 0 : UC_NOTE_NO_ROOM;
      else
        notes |= UC_NOTE_TXTIME_OFF;
    }
  if (d->has_cork_flags && (d->cork_flags & UC_IPCORK_TS_OPT_ID))
    notes |= add (c, SOL_SOCKET, SCM_TS_OPT_ID, &d->ts_opt_id, sizeof (d->ts_opt_id)) ? 0 : UC_NOTE_NO_ROOM;
  if (d->has_tx_flags && d->tx_flags)
    notes |= UC_NOTE_TX_FLAGS;
  /* SO_MARK as a control message needs CAP_NET_ADMIN (or CAP_NET_RAW on
   * newer kernels); the socket's own mark needs no message. */
  if (d->has_mark && d->mark != v->mark)
    {
      if (v->caps & UC_CAP (CAP_NET_ADMIN))
        notes |= add (c, SOL_SOCKET, SO_MARK, &d->mark, sizeof (d->mark)) ? 0 : UC_NOTE_NO_ROOM;
      else
        notes |= UC_NOTE_MARK_PRIV;
    }
  if (d->has_priority && (priority < 0 || d->priority != (uint32_t) priority))
    {
      if (d->priority <= UC_PRIO_UNPRIVILEGED_MAX || (v->caps & UC_CAP (CAP_NET_ADMIN)))
        notes |= add (c, SOL_SOCKET, SO_PRIORITY, &d->priority, sizeof (d->priority)) ? 0 : UC_NOTE_NO_ROOM;
      else
        notes |= UC_NOTE_PRIORITY_PRIV;
    }
  return notes;
}

socklen_t
uc_cmsg_dest (const UcDgram *d, const struct uc_sockview *v, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (! d->has_dst_addr || (d->dst_addr.len != 4 && d->dst_addr.len != 16) || d->dst_port > 65535)
    return 0;
  if (d->family == AF_INET)
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) ss;
      if (d->dst_addr.len != 4)
        return 0;
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
  if (d->has_flowlabel && d->flowlabel && d->flowlabel <= 0xfffff && d->pending_family == AF_INET6 && v->flowinfo_send)
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
