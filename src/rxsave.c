// SPDX-License-Identifier: GPL-2.0-or-later
#include "rxsave.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "image.h"
#include "log.h"

/* Largest IPv6 datagram the re-injection can rebuild (raw socket with its
 * own header). */
#define UC_RX_MAX_V6 65488

struct opt
{
  int level, name, saved;
};

/* The receive options udpcork turns on while it peeks: PKTINFO gives the
 * destination address, TTL/TOS the header fields of each datagram. */
static const struct opt rx_opts_v4[] = {
  { IPPROTO_IP, IP_PKTINFO, 0 }, { IPPROTO_IP, IP_RECVTTL, 0 }, { IPPROTO_IP, IP_RECVTOS, 0 }
};
static const struct opt rx_opts_v6[] = {
  { IPPROTO_IP, IP_PKTINFO, 0 },         { IPPROTO_IP, IP_RECVTTL, 0 },        { IPPROTO_IP, IP_RECVTOS, 0 },
  { IPPROTO_IPV6, IPV6_RECVPKTINFO, 0 }, { IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 0 }, { IPPROTO_IPV6, IPV6_RECVTCLASS, 0 },
};

struct peek
{
  int fd, family, peek_off;
  struct opt opts[6];
  size_t n_opts;
};

static int
peek_begin (struct peek *p, uc_error_t *err)
{
  const struct opt *o = p->family == AF_INET6 ? rx_opts_v6 : rx_opts_v4;
  int zero = 0, one = 1;
  socklen_t l = sizeof (p->peek_off);

  p->n_opts = p->family == AF_INET6 ? 6 : 3;
  if (getsockopt (p->fd, SOL_SOCKET, SO_PEEK_OFF, &p->peek_off, &l) < 0)
    return uc_make_error (err, errno, "getsockopt SO_PEEK_OFF");
  for (size_t i = 0; i < p->n_opts; i++)
    {
      p->opts[i] = o[i];
      l = sizeof (int);
      if (getsockopt (p->fd, o[i].level, o[i].name, &p->opts[i].saved, &l) < 0)
        return uc_make_error (err, errno, "getsockopt %d/%d", o[i].level, o[i].name);
    }
  if (setsockopt (p->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof (zero)) < 0)
    return uc_make_error (err, errno, "setsockopt SO_PEEK_OFF=0");
  for (size_t i = 0; i < p->n_opts; i++)
    if (setsockopt (p->fd, o[i].level, o[i].name, &one, sizeof (one)) < 0)
      return uc_make_error (err, errno, "setsockopt %d/%d", o[i].level, o[i].name);
  return 0;
}

/* Put every option back as the application had it. */
static void
peek_end (struct peek *p, const char *who)
{
  if (setsockopt (p->fd, SOL_SOCKET, SO_PEEK_OFF, &p->peek_off, sizeof (p->peek_off)) < 0)
    uc_warn ("socket %s: cannot put SO_PEEK_OFF back to %d: %s", who, p->peek_off, strerror (errno));
  for (size_t i = 0; i < p->n_opts; i++)
    if (setsockopt (p->fd, p->opts[i].level, p->opts[i].name, &p->opts[i].saved, sizeof (int)) < 0)
      uc_warn ("socket %s: cannot put receive option %d/%d back: %s", who, p->opts[i].level, p->opts[i].name,
               strerror (errno));
}

/* One datagram's metadata from the peek's name and control messages. */
static int
fill_meta (UcRxdgram *r, const struct sockaddr_storage *from, struct msghdr *m)
{
  bool mapped = false;

  if (from->ss_family == AF_INET)
    {
      const struct sockaddr_in *s = (const struct sockaddr_in *) from;
      r->src_port = ntohs (s->sin_port);
      if (uc_img_bytes (&r->src_addr, &s->sin_addr, 4) < 0)
        return -1;
    }
  else
    {
      const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) from;
      mapped = IN6_IS_ADDR_V4MAPPED (&s->sin6_addr);
      r->src_port = ntohs (s->sin6_port);
      if (uc_img_bytes (&r->src_addr, mapped ? &s->sin6_addr.s6_addr[12] : s->sin6_addr.s6_addr, mapped ? 4 : 16) < 0)
        return -1;
    }
  for (struct cmsghdr *c = CMSG_FIRSTHDR (m); c; c = CMSG_NXTHDR (m, c))
    {
      const void *v = CMSG_DATA (c);
      int iv;

      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && r->src_addr.len == 4)
        {
          r->has_dst_addr = 1;
          if (uc_img_bytes (&r->dst_addr, &((const struct in_pktinfo *) v)->ipi_addr, 4) < 0)
            return -1;
        }
      else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && r->src_addr.len == 16)
        {
          r->has_dst_addr = 1;
          if (uc_img_bytes (&r->dst_addr, &((const struct in6_pktinfo *) v)->ipi6_addr, 16) < 0)
            return -1;
        }
      else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
        {
          memcpy (&iv, v, sizeof (iv));
          r->has_ttl = 1;
          r->ttl = iv;
        }
      else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
        {
          r->has_tos = 1;
          r->tos = *(const unsigned char *) v;
        }
      else if (c->cmsg_level == IPPROTO_IPV6 && (c->cmsg_type == IPV6_HOPLIMIT || c->cmsg_type == IPV6_TCLASS))
        {
          memcpy (&iv, v, sizeof (iv));
          if (c->cmsg_type == IPV6_HOPLIMIT)
            r->has_ttl = 1, r->ttl = iv;
          else
            r->has_tos = 1, r->tos = iv;
        }
    }
  return 0;
}

/* Peek every datagram of one socket; APPEND each to IMG. */
static int
peek_all (struct peek *p, uint32_t index, const struct uc_target *t, struct uc_image *img, UcRxsock *rs,
          const char *who, uc_error_t *err)
{
  static unsigned char buf[65536];
  union
  {
    char b[512];
    struct cmsghdr align;
  } cbuf;
  bool err_seen = false;

  for (;;)
    {
      struct sockaddr_storage from;
      struct iovec iov = { buf, sizeof (buf) };
      struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof (from), .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf.b, .msg_controllen = sizeof (cbuf.b) };
      ssize_t r = recvmsg (p->fd, &m, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
      UcRxdgram *d, **nv;

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (r < 0 && ! err_seen && t->rec.sk_err != 0 && errno == t->rec.sk_err)
        {
          /* A pending socket error comes first and is cleared by reading it. */
          uc_warn ("socket %s: its pending error (%s) was consumed while saving the receive queue", who,
                   strerror (errno));
          err_seen = true;
          continue;
        }
      if (r < 0)
        return uc_make_error (err, errno, "peek");
      if ((m.msg_flags & MSG_TRUNC) || (size_t) r > sizeof (buf))
        return uc_make_error (err, 0, "datagram of %zd bytes does not fit", r);
      if (p->family == AF_INET6 && from.ss_family == AF_INET6
          && ! IN6_IS_ADDR_V4MAPPED (&((struct sockaddr_in6 *) &from)->sin6_addr) && r > UC_RX_MAX_V6)
        return uc_make_error (err, 0, "IPv6 datagram of %zd bytes: more than the %d udpcork can put back", r,
                              UC_RX_MAX_V6);
      d = calloc (1, sizeof (*d));
      nv = realloc (img->rxdgrams, (img->n_rxdgrams + 1) * sizeof (*nv));
      if (d == NULL || nv == NULL)
        {
          free (d);
          if (nv)
            img->rxdgrams = nv;
          return uc_make_error (err, ENOMEM, "receive queue");
        }
      img->rxdgrams = nv;
      uc_rxdgram__init (d);
      img->rxdgrams[img->n_rxdgrams++] = d;
      d->sock = index;
      if (uc_img_bytes (&d->payload, buf, r) < 0 || fill_meta (d, &from, &m) < 0)
        return uc_make_error (err, ENOMEM, "receive queue");
      rs->n_dgrams++;
      rs->bytes += r;
    }
  if (rs->n_dgrams != t->rec.rx_qlen)
    return uc_make_error (err, 0, "peeked %u datagrams but the kernel holds %u (zero-length datagrams the application "
                          "already peeked are invisible to peeking): cannot save this queue exactly",
                          rs->n_dgrams, t->rec.rx_qlen);
  return 0;
}

static UcRxsock *
rxsock_new (const struct uc_target *t, int peek_off)
{
  UcRxsock *rs = calloc (1, sizeof (*rs));

  if (rs == NULL)
    return NULL;
  uc_rxsock__init (rs);
  rs->pid = t->nspid;
  rs->fd = t->fd;
  rs->family = t->rec.family;
  rs->protocol = t->rec.protocol;
  rs->local_port = t->rec.lport;
  rs->has_ino = rs->has_peek_off = rs->has_bytes = 1;
  rs->ino = t->rec.ino;
  rs->peek_off = peek_off;
  if (uc_img_bytes (&rs->local_addr, t->rec.laddr, t->rec.family == AF_INET6 ? 16 : 4) < 0)
    {
      free (rs);
      return NULL;
    }
  return rs;
}

int
uc_rx_save (struct uc_target *t, size_t n, struct uc_image *img, uc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct peek p = { .fd = -1, .family = t[i].rec.family };
      UcRxsock *rs, **nv;
      char who[160];
      int ret;

      if (! uc_sock_has_rx (&t[i].rec))
        continue;
      uc_target_str (&t[i], who, sizeof (who));
      p.fd = uc_proc_getfd (t[i].pid, t[i].fd, err);
      if (p.fd < 0)
        return uc_error_wrap (err, "socket %s", who);
      ret = peek_begin (&p, err);
      rs = ret == 0 ? rxsock_new (&t[i], p.peek_off) : NULL;
      nv = rs ? realloc (img->rxsocks, (img->n_rxsocks + 1) * sizeof (*nv)) : NULL;
      if (ret == 0 && nv == NULL)
        {
          free (rs);
          ret = uc_make_error (err, ENOMEM, "receive queue");
        }
      if (ret == 0)
        {
          img->rxsocks = nv;
          img->rxsocks[img->n_rxsocks++] = rs;
          ret = peek_all (&p, img->n_rxsocks - 1, &t[i], img, rs, who, err);
        }
      peek_end (&p, who);
      close (p.fd);
      if (ret < 0)
        return uc_error_wrap (err, "receive queue of socket %s (nothing was consumed)", who);
      uc_info ("socket %s: saved %u unread datagrams, %llu bytes", who, rs->n_dgrams, (unsigned long long) rs->bytes);
    }
  return 0;
}
