// SPDX-License-Identifier: GPL-2.0-or-later
#include "rxinject.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bpfobj.h"
#include "log.h"
#include "reinject.h"
#include "util.h"

/* CRIU's network lock accepts packets with this mark. */
#define UC_CRIU_MARK 0xC114

struct raw
{
  int v4, v6;
  unsigned char pkt[65535 + 40];
};

static uint32_t
sum16 (const void *data, size_t len, uint32_t sum)
{
  const unsigned char *p = data;
  for (; len > 1; len -= 2, p += 2)
    sum += (p[0] << 8) | p[1];
  if (len)
    sum += p[0] << 8;
  return sum;
}

static uint16_t
fold (uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

static void
put16 (unsigned char *p, unsigned v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

/* IP + UDP header + payload of D to DST_ADDR:DPORT, in R->pkt. Returns the
 * packet length. */
static size_t
build (struct raw *r, const UcRxdgram *d, const void *dst, unsigned dport)
{
  bool v4 = d->src_addr.len == 4;
  size_t ip = v4 ? 20 : 40, ulen = 8 + d->payload.len;
  unsigned char *p = r->pkt, *u = p + ip;
  uint32_t sum;

  memset (p, 0, ip + 8);
  if (v4)
    {
      p[0] = 0x45;
      p[1] = d->has_tos ? d->tos : 0;
      put16 (p + 2, ip + ulen);
      p[8] = d->has_ttl ? d->ttl : 64;
      p[9] = IPPROTO_UDP;
      memcpy (p + 12, d->src_addr.data, 4);
      memcpy (p + 16, dst, 4);
    }
  else
    {
      unsigned tc = d->has_tos ? d->tos : 0;
      p[0] = 0x60 | (tc >> 4);
      p[1] = (tc & 15) << 4;
      put16 (p + 4, ulen);
      p[6] = IPPROTO_UDP;
      p[7] = d->has_ttl ? d->ttl : 64;
      memcpy (p + 8, d->src_addr.data, 16);
      memcpy (p + 24, dst, 16);
    }
  put16 (u, d->src_port);
  put16 (u + 2, dport);
  put16 (u + 4, ulen);
  if (d->payload.len) /* an empty bytes field may have no buffer at all */
    memcpy (u + 8, d->payload.data, d->payload.len);
  /* Checksum over the pseudo-header (addresses, protocol, length) and the
   * UDP datagram: receivers drop datagrams with a wrong one. */
  sum = sum16 (p + (v4 ? 12 : 8), v4 ? 8 : 32, IPPROTO_UDP + ulen);
  sum = fold (sum16 (u, ulen, sum));
  put16 (u + 6, sum ? sum : 0xffff);
  return ip + ulen;
}

static int
raw_open (struct raw *r, uc_error_t *err)
{
  unsigned mark = UC_CRIU_MARK;

  r->v4 = socket (AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  r->v6 = socket (AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (r->v4 < 0 || setsockopt (r->v4, SOL_SOCKET, SO_MARK, &mark, sizeof (mark)) < 0)
    return uc_make_error (err, errno, "raw IPv4 socket in the container's network namespace");
  if (r->v6 >= 0 && setsockopt (r->v6, SOL_SOCKET, SO_MARK, &mark, sizeof (mark)) < 0)
    return uc_make_error (err, errno, "raw IPv6 socket in the container's network namespace");
  return 0;
}

static void
raw_close (struct raw *r)
{
  if (r->v4 >= 0)
    close (r->v4);
  if (r->v6 >= 0)
    close (r->v6);
}

static int
send_one (struct raw *r, const UcRxdgram *d, const UcRxsock *rs, uc_error_t *err)
{
  bool v4 = d->src_addr.len == 4;
  struct sockaddr_storage to = { 0 };
  const void *dst;
  size_t len;
  ssize_t n;

  if (! d->has_dst_addr)
    return uc_make_error (err, 0, "saved datagram has no destination address");
  dst = d->dst_addr.data; /* the address it was sent to */
  len = build (r, d, dst, rs->local_port);
  if (v4)
    {
      ((struct sockaddr_in *) &to)->sin_family = AF_INET;
      memcpy (&((struct sockaddr_in *) &to)->sin_addr, dst, 4);
    }
  else
    {
      if (r->v6 < 0)
        return uc_make_error (err, EAFNOSUPPORT, "no IPv6 in the container's network namespace");
      ((struct sockaddr_in6 *) &to)->sin6_family = AF_INET6;
      memcpy (&((struct sockaddr_in6 *) &to)->sin6_addr, dst, 16);
    }
  do
    n = sendto (v4 ? r->v4 : r->v6, r->pkt, len, 0, (struct sockaddr *) &to,
                v4 ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return uc_make_error (err, errno, "send %zu-byte datagram", d->payload.len);
  return 0;
}

static long
qlen_of (const struct uc_sock_rec *recs, size_t n, unsigned long long ino)
{
  const struct uc_sock_rec *r = uc_sock_rec_find (recs, n, ino);
  return r ? (long) r->rx_qlen : -1;
}

/* Room for the whole queue while it is put back (lo's buffers may be
 * accounted larger than the original ones); the size is set back after. */
static int
grow_rcvbuf (int fd, const UcRxsock *rs, int *saved)
{
  socklen_t l = sizeof (*saved);
  int want;

  if (getsockopt (fd, SOL_SOCKET, SO_RCVBUF, saved, &l) < 0)
    return -1;
  want = (int) (rs->bytes * 2 + (uint64_t) rs->n_dgrams * 4096 + 65536);
  if (want <= *saved)
    return 0;
  return setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof (want));
}

/* One restored socket with a saved queue. */
struct target
{
  int fd;
  unsigned long long ino;
  long before;
  int rcvbuf;
};

static int
open_target (const struct uc_container *c, const UcRxsock *rs, struct target *t, uc_error_t *err)
{
  pid_t pid = uc_container_host_pid (c, rs->pid);
  struct stat st;

  t->fd = -1;
  t->rcvbuf = -1;
  if (pid == 0)
    return uc_make_error (err, ESRCH, "no process with container pid %u", rs->pid);
  t->fd = uc_proc_getfd (pid, rs->fd, err);
  if (t->fd < 0)
    return -1;
  if (uc_check_identity_of (t->fd, rs->family, rs->protocol, &rs->local_addr, rs->local_port, err) < 0)
    return -1;
  if (fstat (t->fd, &st) < 0)
    return uc_make_error (err, errno, "fstat");
  t->ino = st.st_ino;
  if (grow_rcvbuf (t->fd, rs, &t->rcvbuf) < 0)
    return uc_make_error (err, errno, "SO_RCVBUFFORCE");
  return 0;
}

static void
close_target (struct target *t, const UcRxsock *rs, bool ok)
{
  if (t->fd < 0)
    return;
  if (t->rcvbuf > 0)
    {
      int half = t->rcvbuf / 2; /* the kernel doubles what it is given */
      setsockopt (t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof (half));
    }
  if (ok && rs->has_peek_off && rs->peek_off >= 0)
    setsockopt (t->fd, SOL_SOCKET, SO_PEEK_OFF, &rs->peek_off, sizeof (rs->peek_off));
  close (t->fd);
  t->fd = -1;
}

static const char *
rs_str (const UcRxsock *rs, char *buf, size_t len)
{
  char a[UC_ADDRSTRLEN];
  snprintf (buf, len, "container pid %u fd %u %s", rs->pid, rs->fd,
            uc_addr_str (rs->family, rs->local_addr.data, rs->local_port, a, sizeof (a)));
  return buf;
}

int
uc_rx_put_back (struct uc_bpf *b, const struct uc_container *c, const struct uc_image *img, size_t *n_dgrams,
                uc_error_t *err)
{
  struct uc_sock_rec *recs = NULL;
  struct target *t;
  struct raw *r;
  cpu_set_t saved, one;
  size_t n_recs = 0, k, i;
  int ret = 0, cpu;
  char who[160];

  *n_dgrams = 0;
  if (img->n_rxsocks == 0)
    return 0;
  r = calloc (1, sizeof (*r));
  t = calloc (img->n_rxsocks, sizeof (*t));
  if (r == NULL || t == NULL)
    {
      free (r);
      free (t);
      return uc_make_error (err, ENOMEM, "receive queues");
    }
  r->v4 = r->v6 = -1;
  for (k = 0; k < img->n_rxsocks; k++)
    t[k].fd = -1;
  /* One CPU for all the sends: loopback delivery then keeps their order. */
  cpu = sched_getcpu ();
  sched_getaffinity (0, sizeof (saved), &saved);
  CPU_ZERO (&one);
  CPU_SET (cpu < 0 ? 0 : cpu, &one);
  sched_setaffinity (0, sizeof (one), &one);
  ret = raw_open (r, err);
  for (k = 0; ret == 0 && k < img->n_rxsocks; k++)
    if ((ret = open_target (c, img->rxsocks[k], &t[k], err)) < 0)
      uc_error_wrap (err, "receive queue of socket %s", rs_str (img->rxsocks[k], who, sizeof (who)));
  if (ret == 0 && (ret = uc_bpf_iter_udp_sorted (b, &recs, &n_recs, err)) == 0)
    for (k = 0; k < img->n_rxsocks; k++)
      t[k].before = qlen_of (recs, n_recs, t[k].ino);
  free (recs);
  recs = NULL;
  for (i = 0; ret == 0 && i < img->n_rxdgrams; i++)
    if ((ret = send_one (r, img->rxdgrams[i], img->rxsocks[img->rxdgrams[i]->sock], err)) < 0)
      uc_error_wrap (err, "receive queue of socket %s",
                     rs_str (img->rxsocks[img->rxdgrams[i]->sock], who, sizeof (who)));
  if (ret == 0)
    ret = uc_bpf_iter_udp_sorted (b, &recs, &n_recs, err);
  for (k = 0; ret == 0 && k < img->n_rxsocks; k++)
    {
      const UcRxsock *rs = img->rxsocks[k];
      long got = qlen_of (recs, n_recs, t[k].ino) - t[k].before;

      rs_str (rs, who, sizeof (who));
      if (t[k].before < 0 || got != (long) rs->n_dgrams)
        ret = uc_make_error (err, 0,
                             "receive queue of socket %s: %ld of %u datagrams reached it (another socket of the "
                             "container matched them better, e.g. SO_REUSEPORT, or a firewall rule dropped them); "
                             "they stay in the image",
                             who, got, rs->n_dgrams);
      else
        {
          *n_dgrams += rs->n_dgrams;
          uc_info ("socket %s: %u unread datagrams put back, %llu bytes", who, rs->n_dgrams,
                   (unsigned long long) rs->bytes);
        }
    }
  for (k = 0; k < img->n_rxsocks; k++)
    close_target (&t[k], img->rxsocks[k], ret == 0);
  free (recs);
  free (t);
  raw_close (r);
  sched_setaffinity (0, sizeof (saved), &saved);
  free (r);
  return ret;
}
