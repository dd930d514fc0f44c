// SPDX-License-Identifier: GPL-2.0-or-later
#include "rxinject.h"

#include <errno.h>
#include <limits.h>
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
#include "packet.h"
#include "reinject.h"
#include "route.h"
#include "sock.h"
#include "util.h"
#include "xalloc.h"

/* CRIU's network lock accepts packets with this mark. */
#define UC_CRIU_MARK 0xC114

struct raw
{
  int v4, v6;
  uint8_t pkt[65535 + 40];
};

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

/* One restored socket with a saved queue. */
struct target
{
  int fd;
  unsigned long long ino;
  long before;
  int rcvbuf;
  /* where its IPv4 / IPv6 datagrams go when their own destination is not
   * local here */
  uint8_t local4[4], local6[16];
  size_t retargeted;    /* datagrams sent there */
  uint8_t last_dst[16]; /* one-entry cache of the route check */
  size_t last_len;
  bool last_local;
  bool skip; /* already holds its datagrams */
};

/* Where D goes: its own destination if that is an address of this network
 * namespace (route type local: the packet cannot leave it), else the
 * socket's own address or the loopback. Never multicast, broadcast or an
 * address elsewhere: an imported image names addresses of another
 * machine, and a crafted one could name any. */
static int
destination (struct target *t, const UcRxdgram *d, const uint8_t **dst, uc_error_t *err)
{
  size_t alen = d->dst_addr.len;

  if (alen != t->last_len || memcmp (t->last_dst, d->dst_addr.data, alen) != 0)
    {
      if (uc_route_is_local (alen == 4 ? AF_INET : AF_INET6, d->dst_addr.data, &t->last_local, err) < 0)
        return -1;
      memcpy (t->last_dst, d->dst_addr.data, alen);
      t->last_len = alen;
    }
  if (t->last_local)
    *dst = d->dst_addr.data;
  else
    {
      t->retargeted++;
      *dst = alen == 4 ? t->local4 : t->local6;
    }
  return 0;
}

static int
send_one (struct raw *r, struct target *t, const UcRxdgram *d, const UcRxsock *rs, uc_error_t *err)
{
  bool v4 = d->src_addr.len == 4;
  struct sockaddr_storage to = { 0 };
  const uint8_t *dst;
  size_t len;
  ssize_t n;

  if (destination (t, d, &dst, err) < 0)
    return -1;
  len = uc_rx_packet (r->pkt, sizeof (r->pkt), d, dst, rs->local_port);
  if (len == 0)
    return uc_make_error (err, 0, "a %zu-byte datagram does not fit a packet", d->payload.len);
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
 * accounted larger than the original ones); the size is set back after.
 * The image's counts are bounded by the validator; the sum is clamped. */
static int
grow_rcvbuf (int fd, const UcRxsock *rs, int *saved)
{
  socklen_t l = sizeof (*saved);
  uint64_t want;
  int w;

  if (getsockopt (fd, SOL_SOCKET, SO_RCVBUF, saved, &l) < 0)
    return -1;
  want = (uint64_t) rs->bytes * 2 + (uint64_t) rs->n_dgrams * 4096 + 65536;
  if (want > INT_MAX / 2)
    want = INT_MAX / 2;
  w = (int) want;
  if (w <= *saved)
    return 0;
  return setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &w, sizeof (w));
}

/* The socket's own address if it is bound to one that is local here, else
 * the loopback (127.0.0.1, ::1); for an IPv6 socket the IPv4 one serves its
 * v4-mapped sources. */
static int
local_addresses (const UcRxsock *rs, struct target *t, uc_error_t *err)
{
  static const uint8_t any[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
  static const uint8_t lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
  const uint8_t *a = rs->local_addr.data;
  bool local = false;

  memcpy (t->local4, lo4, 4);
  memcpy (t->local6, lo6, 16);
  if (rs->family == AF_INET)
    {
      if (memcmp (a, any, 4) != 0 && uc_route_is_local (AF_INET, a, &local, err) < 0)
        return -1;
      if (local)
        memcpy (t->local4, a, 4);
    }
  else if (memcmp (a, mapped, 12) == 0)
    {
      if (uc_route_is_local (AF_INET, a + 12, &local, err) < 0)
        return -1;
      if (local)
        memcpy (t->local4, a + 12, 4);
    }
  else if (memcmp (a, any, 16) != 0)
    {
      if (uc_route_is_local (AF_INET6, a, &local, err) < 0)
        return -1;
      if (local)
        memcpy (t->local6, a, 16);
    }
  return 0;
}

static int
open_target (const struct uc_container *c, const UcRxsock *rs, struct target *t, uc_error_t *err)
{
  struct uc_sock_id id
      = { .family = rs->family, .protocol = rs->protocol, .addr = rs->local_addr.data, .port = rs->local_port };
  pid_t pid = uc_container_host_pid (c, rs->pid);
  struct stat st;

  t->fd = -1;
  t->rcvbuf = -1;
  if (pid == 0)
    return uc_make_error (err, ESRCH, "no process with container pid %u", rs->pid);
  t->fd = uc_sock_open (c, pid, rs->fd, &id, err);
  if (t->fd < 0)
    return -1;
  if (fstat (t->fd, &st) < 0)
    return uc_make_error (err, errno, "fstat");
  t->ino = st.st_ino;
  if (local_addresses (rs, t, err) < 0)
    return -1;
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
  return uc_sock_name (buf, len, 0, rs->pid, rs->fd, rs->family, rs->local_addr.data, rs->local_port);
}

static int
cmp_ino (const void *a, const void *b)
{
  unsigned long long x = (*(const struct target *const *) a)->ino, y = (*(const struct target *const *) b)->ino;
  return x < y ? -1 : x > y;
}

/* Two saved queues whose pid/fd name the same restored socket (a dup, a
 * forked fd) would fill it twice: refused before anything is sent. */
static int
distinct_sockets (const struct uc_image *img, struct target *t, uc_error_t *err)
{
  cleanup_free struct target **v = xcalloc (img->n_rxsocks, sizeof (*v));
  char a[96], b[96];

  for (size_t k = 0; k < img->n_rxsocks; k++)
    v[k] = &t[k];
  qsort (v, img->n_rxsocks, sizeof (*v), cmp_ino);
  for (size_t k = 1; k < img->n_rxsocks; k++)
    if (v[k]->ino == v[k - 1]->ino)
      return uc_make_error (err, 0,
                            "receive queues of sockets %s and %s: the same restored socket (inode %llu): none is put "
                            "back",
                            rs_str (img->rxsocks[v[k - 1] - t], a, sizeof (a)),
                            rs_str (img->rxsocks[v[k] - t], b, sizeof (b)), v[k]->ino);
  return 0;
}

int
uc_rx_put_back (struct uc_bpf *b, const struct uc_container *c, const struct uc_image *img, size_t *n_dgrams,
                uc_error_t *err)
{
  cleanup_free struct uc_sock_rec *recs = NULL;
  cleanup_free struct target *t = NULL;
  cleanup_free struct raw *r = NULL;
  cpu_set_t saved, one;
  size_t n_recs = 0, k, i;
  int ret = 0, cpu;
  char who[160];

  *n_dgrams = 0;
  if (img->n_rxsocks == 0)
    return 0;
  /* Raw packets with other sources, in the host's own network namespace:
   * never (a container that shares it has no namespace to keep them in). */
  if (c->host_netns)
    return uc_make_error (err, 0,
                          "container pid %d shares the host's network namespace: its %zu unread datagrams are not put "
                          "back (they would be injected into the host's network); they stay in the image",
                          c->init, img->n_rxdgrams);
  r = xcalloc (1, sizeof (*r));
  t = xcalloc (img->n_rxsocks, sizeof (*t));
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
  if (ret == 0)
    ret = distinct_sockets (img, t, err);
  if (ret == 0 && (ret = uc_bpf_iter_udp_sorted (b, &recs, &n_recs, err)) == 0)
    for (k = 0; ret == 0 && k < img->n_rxsocks; k++)
      {
        t[k].before = qlen_of (recs, n_recs, t[k].ino);
        /* A restored socket starts empty (CRIU drops queues, its network
         * lock holds traffic off): datagrams there mean udpcork already
         * ran. Never added to. */
        if (t[k].before == (long) img->rxsocks[k]->n_dgrams)
          {
            t[k].skip = true;
            uc_info ("receive queue of socket %s: already holds its %ld unread datagrams (an earlier run): left "
                     "alone",
                     rs_str (img->rxsocks[k], who, sizeof (who)), t[k].before);
          }
        else if (t[k].before != 0)
          ret = uc_make_error (err, 0,
                               "receive queue of socket %s: it already holds %ld unread datagrams, not the %u saved: "
                               "not put back (nothing is ever added to a queue that is not empty)",
                               rs_str (img->rxsocks[k], who, sizeof (who)), t[k].before, img->rxsocks[k]->n_dgrams);
      }
  free (recs);
  recs = NULL;
  for (i = 0; ret == 0 && i < img->n_rxdgrams; i++)
    {
      uint32_t s = img->rxdgrams[i]->sock;
      if (t[s].skip)
        continue;
      if ((ret = send_one (r, &t[s], img->rxdgrams[i], img->rxsocks[s], err)) < 0)
        uc_error_wrap (err, "receive queue of socket %s", rs_str (img->rxsocks[s], who, sizeof (who)));
    }
  if (ret == 0)
    ret = uc_bpf_iter_udp_sorted (b, &recs, &n_recs, err);
  for (k = 0; ret == 0 && k < img->n_rxsocks; k++)
    {
      const UcRxsock *rs = img->rxsocks[k];
      long got = qlen_of (recs, n_recs, t[k].ino) - (t[k].skip ? 0 : t[k].before);
      char a4[UC_ADDRSTRLEN], a6[UC_ADDRSTRLEN];

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
          if (t[k].retargeted)
            uc_warn ("socket %s: %zu unread datagrams were sent to an address that is not local here (multicast, "
                     "broadcast, or an address the restored network namespace does not have): put back to %s%s%s "
                     "instead (IP_PKTINFO shows it)",
                     who, t[k].retargeted, uc_addr_str (AF_INET, t[k].local4, rs->local_port, a4, sizeof (a4)),
                     rs->family == AF_INET6 ? " or " : "",
                     rs->family == AF_INET6 ? uc_addr_str (AF_INET6, t[k].local6, rs->local_port, a6, sizeof (a6))
                                            : "");
          uc_note ("socket %s: %u unread datagrams put back, %llu bytes", who, rs->n_dgrams,
                   (unsigned long long) rs->bytes);
        }
    }
  for (k = 0; k < img->n_rxsocks; k++)
    close_target (&t[k], img->rxsocks[k], ret == 0);
  raw_close (r);
  sched_setaffinity (0, sizeof (saved), &saved);
  return ret;
}
