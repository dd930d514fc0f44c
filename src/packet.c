// SPDX-License-Identifier: GPL-2.0-or-later
#include "packet.h"

#include <netinet/in.h>
#include <string.h>
#include "image.h"
#include "xalloc.h"

/* IPv4 option types (RFC 791, 1108, 2113; CIPSO draft) */
enum
{
  OPT_END = 0,
  OPT_NOOP = 1,
  OPT_RR = 7,
  OPT_TS = 68,
  OPT_SEC = 130,
  OPT_LSRR = 131,
  OPT_CIPSO = 134,
  OPT_SID = 136,
  OPT_SSRR = 137,
  OPT_RA = 148,
};

const char *
uc_ipopt_check (const uint8_t *opt, size_t len, bool *privileged)
{
  bool srr = false, rr = false, ts = false;
  size_t l = len;
  const uint8_t *p = opt;

  *privileged = false;
  if (len > UC_MAX_IPOPT)
    return "more than 40 bytes";
  while (l > 0)
    {
      size_t olen;

      if (*p == OPT_END)
        return NULL; /* the kernel pads the rest with END itself */
      if (*p == OPT_NOOP)
        {
          p++;
          l--;
          continue;
        }
      if (l < 2)
        return "option without a length byte";
      olen = p[1];
      if (olen < 2 || olen > l)
        return "option length out of bounds";
      switch (*p)
        {
        case OPT_LSRR:
        case OPT_SSRR:
          /* as a socket sets it: pointer 4, at least one hop */
          if (srr || olen < 7 || p[2] != 4 || ((olen - 3) & 3))
            return "malformed source route option";
          srr = true;
          break;
        case OPT_RR:
          if (rr || olen < 3 || p[2] < 4 || ((size_t) p[2] <= olen && (size_t) p[2] + 3 > olen))
            return "malformed record-route option";
          rr = true;
          break;
        case OPT_TS:
          if (ts || olen < 4 || p[2] < 5)
            return "malformed timestamp option";
          if ((size_t) p[2] <= olen)
            {
              unsigned flag = p[3] & 15;
              if (flag != 0 && flag != 1 && flag != 3)
                *privileged = true;
              if ((size_t) p[2] + (flag == 0 ? 3 : 7) > olen)
                return "malformed timestamp option";
            }
          ts = true;
          break;
        case OPT_RA:
          if (olen < 4)
            return "malformed router-alert option";
          break;
        case OPT_SEC:
        case OPT_SID:
        case OPT_CIPSO:
        default:
          *privileged = true; /* the kernel wants CAP_NET_RAW for these */
          break;
        }
      p += olen;
      l -= olen;
    }
  return NULL;
}

void
uc_ipopt_unwind (const struct uc_sock_rec *r, uint8_t opt[UC_MAX_IPOPT])
{
  memcpy (opt, r->cork_opt, UC_MAX_IPOPT);
  if ((r->cork_opt_need & UC_OPT_RR_NEEDADDR) && r->cork_opt_rr >= 20 && r->cork_opt_rr - 20 + 2 < r->cork_optlen)
    {
      uint8_t *o = opt + r->cork_opt_rr - 20;
      if (o[2] >= 8)
        {
          o[2] -= 4;
          if (o[2] - 1 + 4 <= o[1] && o[2] - 1 + 4 + (r->cork_opt_rr - 20) <= UC_MAX_IPOPT)
            memset (o + o[2] - 1, 0, 4);
        }
    }
  if ((r->cork_opt_need & UC_OPT_TS_NEEDTIME) && r->cork_opt_ts >= 20 && r->cork_opt_ts - 20 + 3 < r->cork_optlen)
    {
      uint8_t *o = opt + r->cork_opt_ts - 20;
      size_t room = UC_MAX_IPOPT - (r->cork_opt_ts - 20);
      int step = (o[3] & 15) == 0 ? 4 : 8; /* timestamps only, or address + timestamp */
      if (o[2] >= 5 + step)
        {
          o[2] -= step;
          if ((o[3] & 15) != 3 && o[2] - 1 + step <= o[1] && o[2] - 1 + step <= (int) room)
            memset (o + o[2] - 1, 0, step);
          else if ((o[3] & 15) == 3 && o[2] - 1 + 8 <= o[1] && o[2] - 1 + 8 <= (int) room)
            memset (o + o[2] - 1 + 4, 0, 4); /* prespecified addresses stay */
        }
    }
}

UcDgram *
uc_dgram_new (const struct uc_sock_rec *r, uint32_t nspid, uint32_t fd, uint32_t mode, uint64_t cookie)
{
  UcDgram *d = xcalloc (1, sizeof (*d));

  uc_dgram__init (d);
  d->pid = nspid;
  d->fd = fd;
  d->family = r->family;
  d->protocol = r->protocol;
  d->local_port = r->lport;
  d->has_ino = d->has_cookie = d->has_connected = 1;
  d->ino = r->ino;
  d->cookie = cookie;
  d->connected = (r->flags & UC_F_CONNECTED) != 0;
  d->mode = mode;
  d->pending_family = r->pending;
  uc_img_bytes (&d->local_addr, r->laddr, r->family == AF_INET6 ? 16 : 4);
  uc_img_bytes (&d->payload, NULL, 0);
  return d;
}

/* What the cork keeps and the packet does not show. */
static const char *
cork_attributes (const struct uc_sock_rec *r, UcDgram *d)
{
  d->has_gso_size = d->has_oif = d->has_cork_flags = d->has_tx_flags = d->has_ts_opt_id = 1;
  d->gso_size = r->cork_gso_size;
  d->oif = r->cork_oif;
  d->cork_flags = r->cork_flags;
  d->tx_flags = r->cork_tx_flags;
  d->ts_opt_id = r->cork_ts_opt_id;
  /* Not the IPv6 cork's dontfrag: on 6.18 that field is not kept for the
   * pending datagram (stale values were seen), so a copy of it could make
   * the re-injection fail (EMSGSIZE). The socket option is CRIU's. */
  if (r->cork_optlen)
    {
      uint8_t opt[UC_MAX_IPOPT];
      if (r->cork_optlen > UC_MAX_IPOPT)
        return "IPv4 options longer than 40 bytes";
      uc_ipopt_unwind (r, opt);
      d->has_ip_options = 1;
      uc_img_bytes (&d->ip_options, opt, r->cork_optlen);
    }
  return NULL;
}

const char *
uc_capture_decode (const struct uc_slot *s, const uint8_t *p, const struct uc_sock_rec *r, UcDgram *d)
{
  size_t hl, len = s->len;
  unsigned ulen;

  if (len < 1 || len > UC_MAX_DGRAM)
    return "empty or oversized record";
  if (r->pending == AF_INET)
    {
      if ((p[0] >> 4) != 4 || len < 20 || (hl = (p[0] & 15) * 4) < 20 || len < hl + 8)
        return "not an IPv4 datagram";
      d->has_tos = d->has_ttl = d->has_src_addr = d->has_dst_addr = 1;
      d->tos = p[1];
      d->ttl = p[8];
      uc_img_bytes (&d->src_addr, p + 12, 4);
      uc_img_bytes (&d->dst_addr, p + 16, 4);
    }
  else if (r->pending == AF_INET6)
    {
      uint8_t next;
      if ((p[0] >> 4) != 6 || len < 48)
        return "not an IPv6 datagram";
      d->has_tos = d->has_ttl = d->has_flowlabel = d->has_src_addr = d->has_dst_addr = 1;
      d->tos = ((p[0] & 15) << 4) | (p[1] >> 4);
      d->flowlabel = ((p[1] & 15) << 16) | (p[2] << 8) | p[3];
      d->ttl = p[7];
      next = p[6];
      hl = 40;
      while ((next == 0 || next == 43 || next == 60) && hl + 8 <= len)
        {
          next = p[hl];
          hl += (p[hl + 1] + 1) * 8;
        }
      if (next != IPPROTO_UDP && next != 136 /* UDP-Lite */)
        return "IPv6 datagram without a UDP header";
      if (len < hl + 8)
        return "truncated IPv6 datagram";
      uc_img_bytes (&d->src_addr, p + 8, 16);
      uc_img_bytes (&d->dst_addr, p + 24, 16);
    }
  else
    return "the socket had no pending datagram";
  ulen = (p[hl + 4] << 8) | p[hl + 5];
  if (ulen != len - hl || ulen != r->len || ulen < 8)
    return "UDP length does not match the pending length";
  if (((p[hl] << 8) | p[hl + 1]) != r->lport)
    return "source port does not match the socket";
  d->has_dst_port = 1;
  d->dst_port = (p[hl + 2] << 8) | p[hl + 3];
  d->has_mark = d->has_priority = 1;
  d->mark = s->mark;
  d->priority = s->priority;
  if (s->tstamp || r->cork_transmit_time)
    {
      d->has_transmit_time = 1;
      d->transmit_time = r->cork_transmit_time ? r->cork_transmit_time : s->tstamp;
    }
  free (d->payload.data);
  uc_img_bytes (&d->payload, p + hl + 8, ulen - 8);
  return cork_attributes (r, d);
}

static uint32_t
sum16 (const uint8_t *p, size_t len, uint32_t sum)
{
  for (; len > 1; len -= 2, p += 2)
    sum += (p[0] << 8) | p[1];
  if (len)
    sum += p[0] << 8;
  return sum;
}

uint16_t
uc_udp_checksum (const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *u, size_t ulen)
{
  uint32_t sum = IPPROTO_UDP + (uint32_t) ulen;
  uint16_t c;

  sum = sum16 (src, alen, sum);
  sum = sum16 (dst, alen, sum);
  sum = sum16 (u, ulen, sum);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  c = (uint16_t) ~sum;
  return c ? c : 0xffff;
}

static void
put16 (uint8_t *p, unsigned v)
{
  p[0] = (v >> 8) & 0xff;
  p[1] = v & 0xff;
}

size_t
uc_rx_packet (uint8_t *buf, size_t cap, const UcRxdgram *d, const uint8_t *dst, unsigned dport)
{
  bool v4 = d->src_addr.len == 4;
  size_t ip = v4 ? 20 : 40, ulen = 8 + d->payload.len, max = v4 ? UC_MAX_PAYLOAD_V4 : UC_RX_MAX_V6;
  uint8_t *p = buf, *u = buf + ip;

  if ((d->src_addr.len != 4 && d->src_addr.len != 16) || d->payload.len > max || ip + ulen > cap || d->src_port > 65535
      || dport > 65535)
    return 0;
  memset (p, 0, ip + 8);
  if (v4)
    {
      p[0] = 0x45;
      p[1] = d->has_tos ? d->tos & 0xff : 0;
      put16 (p + 2, ip + ulen);
      p[8] = d->has_ttl ? d->ttl & 0xff : 64;
      p[9] = IPPROTO_UDP;
      memcpy (p + 12, d->src_addr.data, 4);
      memcpy (p + 16, dst, 4);
    }
  else
    {
      unsigned tc = d->has_tos ? d->tos & 0xff : 0;
      p[0] = 0x60 | (tc >> 4);
      p[1] = (tc & 15) << 4;
      put16 (p + 4, ulen);
      p[6] = IPPROTO_UDP;
      p[7] = d->has_ttl ? d->ttl & 0xff : 64;
      memcpy (p + 8, d->src_addr.data, 16);
      memcpy (p + 24, dst, 16);
    }
  put16 (u, d->src_port);
  put16 (u + 2, dport);
  put16 (u + 4, ulen);
  if (d->payload.len) /* an empty bytes field may have no buffer at all */
    memcpy (u + 8, d->payload.data, d->payload.len);
  /* receivers drop datagrams with a wrong checksum */
  put16 (u + 6, uc_udp_checksum (d->src_addr.data, dst, d->src_addr.len, u, ulen));
  return ip + ulen;
}
