// SPDX-License-Identifier: GPL-2.0-or-later
#include "rxsave.h"

#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fault.h"
#include "fileio.h"
#include "image.h"
#include "log.h"
#include "packet.h"
#include "sock.h"
#include "state.h"
#include "xalloc.h"
#include <stdio.h>
#include <sys/stat.h>

struct opt
{
  int level, name;
};

/* The receive options udpcork turns on while it peeks: PKTINFO gives the
 * destination address, TTL/TOS the header fields of each datagram. */
static const struct opt rx_opts_v4[]
    = { { IPPROTO_IP, IP_PKTINFO }, { IPPROTO_IP, IP_RECVTTL }, { IPPROTO_IP, IP_RECVTOS } };
static const struct opt rx_opts_v6[] = {
  { IPPROTO_IP, IP_PKTINFO },         { IPPROTO_IP, IP_RECVTTL },          { IPPROTO_IP, IP_RECVTOS },
  { IPPROTO_IPV6, IPV6_RECVPKTINFO }, { IPPROTO_IPV6, IPV6_RECVHOPLIMIT }, { IPPROTO_IPV6, IPV6_RECVTCLASS },
};

static size_t
n_opts (int family)
{
  return family == AF_INET6 ? UC_PEEK_OPTS : 3;
}

static const struct opt *
opts_of (int family, size_t *n)
{
  *n = n_opts (family);
  return family == AF_INET6 ? rx_opts_v6 : rx_opts_v4;
}

/* One socket whose queue is peeked: udpcork's own fd, and what the
 * application had (the line of the peek journal). */
struct peek
{
  int fd;
  struct uc_peek_rec r;
  bool changed; /* something was set: peek_end puts it all back */
};

/* The application's settings, read before anything is changed. */
static int
peek_read (struct peek *p, uc_error_t *err)
{
  size_t n;
  const struct opt *o = opts_of (p->r.family, &n);
  socklen_t l = sizeof (p->r.peek_off);

  if (getsockopt (p->fd, SOL_SOCKET, SO_PEEK_OFF, &p->r.peek_off, &l) < 0)
    return uc_make_error (err, errno, "getsockopt SO_PEEK_OFF");
  for (size_t i = 0; i < n; i++)
    {
      l = sizeof (int);
      if (getsockopt (p->fd, o[i].level, o[i].name, &p->r.opts[i], &l) < 0)
        return uc_make_error (err, errno, "getsockopt %d/%d", o[i].level, o[i].name);
      p->r.opts[i] = p->r.opts[i] != 0;
    }
  return 0;
}

static int
peek_begin (struct peek *p, uc_error_t *err)
{
  size_t n;
  const struct opt *o = opts_of (p->r.family, &n);
  int zero = 0, one = 1;

  p->changed = true;
  if (setsockopt (p->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof (zero)) < 0)
    return uc_make_error (err, errno, "setsockopt SO_PEEK_OFF=0");
  for (size_t i = 0; i < n; i++)
    if (setsockopt (p->fd, o[i].level, o[i].name, &one, sizeof (one)) < 0)
      return uc_make_error (err, errno, "setsockopt %d/%d", o[i].level, o[i].name);
  return 0;
}

/* Put every option back as the application had it (FD: ours, or the
 * socket found again after a killed run). */
static void
restore_opts (int fd, int family, int peek_off, const int *saved, const char *who)
{
  size_t n;
  const struct opt *o = opts_of (family, &n);

  if (setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, sizeof (peek_off)) < 0)
    uc_warn ("socket %s: cannot put SO_PEEK_OFF back to %d: %s", who, peek_off, strerror (errno));
  for (size_t i = 0; i < n; i++)
    if (setsockopt (fd, o[i].level, o[i].name, &saved[i], sizeof (int)) < 0)
      uc_warn ("socket %s: cannot put receive option %d/%d back: %s", who, o[i].level, o[i].name, strerror (errno));
}

static void
peek_end (struct peek *p, const char *who)
{
  if (p->changed)
    restore_opts (p->fd, p->r.family, p->r.peek_off, p->r.opts, who);
  p->changed = false;
}

/* The peek journal, udpcork.peek: the application's settings of every
 * socket about to be peeked, written before any is changed, removed once
 * all are back. A udpcork-prestop killed while peeking leaves it; the
 * next give-back (network-unlock, udpcork recover) puts them back. */
#define UC_PEEK_NAME "udpcork.peek"
#define UC_PEEK_MAGIC "udpcork-peek 1"

static int
journal_write (int dirfd, const struct peek *p, size_t n, uc_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);

  if (f == NULL)
    abort ();
  fprintf (f, "%s\n", UC_PEEK_MAGIC);
  for (size_t i = 0; i < n; i++)
    {
      const struct uc_peek_rec *r = &p[i].r;
      fprintf (f, "%d %d %llu %d %d", r->pid, r->fd, r->ino, r->family, r->peek_off);
      for (size_t k = 0; k < n_opts (r->family); k++)
        fprintf (f, " %d", r->opts[k]);
      fputc ('\n', f);
    }
  if (ferror (f) || fclose (f) != 0)
    abort (); /* only out of memory */
  return uc_file_replace (dirfd, UC_PEEK_NAME, text, len, false, err);
}

/* One decimal number in [MIN, MAX] at *P, then a space or the end. */
static bool
peek_num (const char **p, long long min, long long max, long long *v)
{
  char *end;

  if (! (isdigit ((unsigned char) **p) || (**p == '-' && isdigit ((unsigned char) (*p)[1]))))
    return false;
  errno = 0;
  *v = strtoll (*p, &end, 10);
  if (errno || *v < min || *v > max || (*end != ' ' && *end != '\0') || (*end == ' ' && end[1] == '\0'))
    return false;
  *p = *end == ' ' ? end + 1 : end;
  return true;
}

bool
uc_rx_peek_parse (const char *line, struct uc_peek_rec *r)
{
  long long v[5 + UC_PEEK_OPTS];
  size_t n;

  for (n = 0; n < 5 + UC_PEEK_OPTS && *line; n++)
    {
      static const long long lo[5] = { 1, 0, 1, AF_INET, -1 };
      static const long long hi[5] = { UC_PID_MAX, INT_MAX, LLONG_MAX, AF_INET6, INT_MAX };
      if (! peek_num (&line, n < 5 ? lo[n] : 0, n < 5 ? hi[n] : 1, &v[n]))
        return false;
    }
  if (*line || n < 5 || (v[3] != AF_INET && v[3] != AF_INET6) || n != 5 + n_opts ((int) v[3]))
    return false;
  memset (r, 0, sizeof (*r));
  r->pid = (pid_t) v[0];
  r->fd = (int) v[1];
  r->ino = (unsigned long long) v[2];
  r->family = (int) v[3];
  r->peek_off = (int) v[4];
  for (size_t k = 5; k < n; k++)
    r->opts[k - 5] = (int) v[k];
  return true;
}

int
uc_rx_peek_undo (const struct uc_container *c, int dirfd, uc_error_t *err)
{
  const void *data;
  size_t len;
  cleanup_free char *text = NULL;
  char *save = NULL, *line;
  int n = 0;

  if (uc_file_map (dirfd, UC_PEEK_NAME, 1 << 20, &data, &len, err) < 0)
    {
      if (uc_error_is (err, ENOENT))
        return 0;
      return uc_error_wrap (err, "read %s", UC_PEEK_NAME);
    }
  text = xmalloc (len + 1);
  memcpy (text, data, len);
  text[len] = '\0';
  uc_file_unmap (data, len);
  line = strtok_r (text, "\n", &save);
  if (line == NULL || strcmp (line, UC_PEEK_MAGIC) != 0)
    return uc_make_error (err, 0, "%s: not a peek journal", UC_PEEK_NAME);
  while ((line = strtok_r (NULL, "\n", &save)))
    {
      struct uc_peek_rec r;
      char who[96];
      cleanup_close int s = -1;
      uc_error_t e = NULL;

      if (! uc_rx_peek_parse (line, &r))
        return uc_make_error (err, 0, "%s: malformed line", UC_PEEK_NAME);
      snprintf (who, sizeof (who), "pid %d fd %d", r.pid, r.fd);
      s = uc_sock_open (c, r.pid, r.fd, &(struct uc_sock_id){ .ino = r.ino }, &e);
      if (s < 0)
        {
          uc_warn ("socket %s: not the one udpcork peeked at any more (%s): its receive options are left as they are",
                   who, e ? e->msg : "another inode");
          uc_error_release (&e);
          continue;
        }
      restore_opts (s, r.family, r.peek_off, r.opts, who);
      n++;
    }
  if (unlinkat (dirfd, UC_PEEK_NAME, 0) < 0)
    return uc_make_error (err, errno, "remove %s", UC_PEEK_NAME);
  uc_info ("receive options of %d sockets put back as the application had them (udpcork-prestop was killed while "
           "peeking)",
           n);
  return 0;
}

/* One datagram's metadata from the peek's name and control messages. */
static void
fill_meta (UcRxdgram *r, const struct sockaddr_storage *from, struct msghdr *m)
{
  bool mapped = false;

  if (from->ss_family == AF_INET)
    {
      const struct sockaddr_in *s = (const struct sockaddr_in *) from;
      r->src_port = ntohs (s->sin_port);
      uc_img_bytes (&r->src_addr, &s->sin_addr, 4);
    }
  else
    {
      const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) from;
      mapped = IN6_IS_ADDR_V4MAPPED (&s->sin6_addr);
      r->src_port = ntohs (s->sin6_port);
      uc_img_bytes (&r->src_addr, mapped ? &s->sin6_addr.s6_addr[12] : s->sin6_addr.s6_addr, mapped ? 4 : 16);
    }
  for (struct cmsghdr *c = CMSG_FIRSTHDR (m); c; c = CMSG_NXTHDR (m, c))
    {
      const void *v = CMSG_DATA (c);
      int iv;

      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && r->src_addr.len == 4)
        {
          r->has_dst_addr = 1;
          uc_img_bytes (&r->dst_addr, &((const struct in_pktinfo *) v)->ipi_addr, 4);
        }
      else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && r->src_addr.len == 16)
        {
          r->has_dst_addr = 1;
          uc_img_bytes (&r->dst_addr, &((const struct in6_pktinfo *) v)->ipi6_addr, 16);
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
}

/* Peek every datagram of one socket; append each to IMG (*CAP: room in
 * img->rxdgrams). */
static int
peek_all (struct peek *p, uint32_t index, const struct uc_target *t, struct uc_image *img, size_t *cap, UcRxsock *rs,
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
      struct msghdr m = { .msg_name = &from,
                          .msg_namelen = sizeof (from),
                          .msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = cbuf.b,
                          .msg_controllen = sizeof (cbuf.b) };
      ssize_t r = recvmsg (p->fd, &m, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
      UcRxdgram *d;

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
      if (p->r.family == AF_INET6 && from.ss_family == AF_INET6
          && ! IN6_IS_ADDR_V4MAPPED (&((struct sockaddr_in6 *) &from)->sin6_addr) && r > UC_RX_MAX_V6)
        return uc_make_error (err, 0, "IPv6 datagram of %zd bytes: more than the %d udpcork can put back", r,
                              UC_RX_MAX_V6);
      d = xcalloc (1, sizeof (*d));
      uc_rxdgram__init (d);
      xgrow (&img->rxdgrams, cap, img->n_rxdgrams + 1, sizeof (*img->rxdgrams));
      img->rxdgrams[img->n_rxdgrams++] = d;
      d->sock = index;
      uc_img_bytes (&d->payload, buf, r);
      fill_meta (d, &from, &m);
      rs->n_dgrams++;
      rs->bytes += r;
    }
  if (rs->n_dgrams != t->rec.rx_qlen)
    return uc_make_error (err, 0,
                          "peeked %u datagrams but the kernel holds %u (zero-length datagrams the application "
                          "already peeked are invisible to peeking): cannot save this queue exactly",
                          rs->n_dgrams, t->rec.rx_qlen);
  return 0;
}

static UcRxsock *
rxsock_new (const struct uc_target *t, int peek_off)
{
  UcRxsock *rs = xcalloc (1, sizeof (*rs));

  uc_rxsock__init (rs);
  rs->pid = t->nspid;
  rs->fd = t->fd;
  rs->family = t->rec.family;
  rs->protocol = t->rec.protocol;
  rs->local_port = t->rec.lport;
  rs->has_ino = rs->has_peek_off = rs->has_bytes = 1;
  rs->ino = t->rec.ino;
  rs->peek_off = peek_off;
  uc_img_bytes (&rs->local_addr, t->rec.laddr, t->rec.family == AF_INET6 ? 16 : 4);
  return rs;
}

int
uc_rx_save (const struct uc_container *c, int dirfd, struct uc_target *t, size_t n, struct uc_image *img,
            uc_error_t *err)
{
  cleanup_free struct peek *p = xcalloc (n, sizeof (*p));
  size_t np = 0, i, k, cap_socks = 0, cap_dgrams = 0;
  int ret = 0;
  char who[160];

  /* Everything the application had, read (and journaled) before the first
   * change. */
  for (i = 0; ret == 0 && i < n; i++)
    {
      if (! uc_sock_has_rx (&t[i].rec))
        continue;
      p[np] = (struct peek){ .fd = -1,
                             .r = { .family = t[i].rec.family, .pid = t[i].pid, .fd = t[i].fd, .ino = t[i].rec.ino } };
      uc_target_str (&t[i], who, sizeof (who));
      p[np].fd = uc_sock_open (c, t[i].pid, t[i].fd, &(struct uc_sock_id){ .ino = t[i].rec.ino }, err);
      if (p[np].fd < 0 || peek_read (&p[np], err) < 0)
        ret = uc_error_wrap (err, "receive queue of socket %s (nothing was changed)", who);
      np++;
    }
  if (ret == 0 && np > 0)
    ret = journal_write (dirfd, p, np, err);
  for (i = k = 0; ret == 0 && i < n; i++)
    {
      UcRxsock *rs;

      if (! uc_sock_has_rx (&t[i].rec))
        continue;
      uc_target_str (&t[i], who, sizeof (who));
      rs = rxsock_new (&t[i], p[k].r.peek_off);
      xgrow (&img->rxsocks, &cap_socks, img->n_rxsocks + 1, sizeof (*img->rxsocks));
      img->rxsocks[img->n_rxsocks++] = rs;
      ret = peek_begin (&p[k], err);
      uc_fault ("peeking");
      if (ret == 0)
        ret = peek_all (&p[k], img->n_rxsocks - 1, &t[i], img, &cap_dgrams, rs, who, err);
      peek_end (&p[k], who);
      if (ret < 0)
        uc_error_wrap (err, "receive queue of socket %s (nothing was consumed)", who);
      else
        uc_note ("socket %s: saved %u unread datagrams, %llu bytes", who, rs->n_dgrams, (unsigned long long) rs->bytes);
      k++;
    }
  for (i = 0; i < np; i++)
    {
      peek_end (&p[i], "?");
      if (p[i].fd >= 0)
        close (p[i].fd);
    }
  if (np > 0 && ret == 0 && unlinkat (dirfd, UC_PEEK_NAME, 0) < 0)
    ret = uc_make_error (err, errno, "remove %s", UC_PEEK_NAME);
  else if (np > 0 && ret < 0)
    unlinkat (dirfd, UC_PEEK_NAME, 0); /* every option is back (peek_end) */
  return ret;
}
