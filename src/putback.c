// SPDX-License-Identifier: GPL-2.0-or-later
#include "putback.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <unistd.h>
#include "bpfobj.h"
#include "log.h"
#include "fault.h"
#include "reinject.h"
#include "rxinject.h"
#include "util.h"

#ifndef UDP_CORK
#define UDP_CORK 1
#endif

static const char *
dgram_str (const UcDgram *d, char *buf, size_t len)
{
  char a[UC_ADDRSTRLEN];
  snprintf (buf, len, "container pid %u fd %u %s %s", d->pid, d->fd, d->family == AF_INET6 ? "udp6" : "udp",
            uc_addr_str (d->family, d->local_addr.data, d->local_port, a, sizeof (a)));
  return buf;
}

/* Duplicate the saved socket's fd from its (restored) process and check it. */
static int
open_saved (const struct uc_container *c, const UcDgram *d, bool originals, uc_error_t *err)
{
  pid_t pid = uc_container_host_pid (c, d->pid);
  struct stat st;
  int fd;

  if (pid == 0)
    return uc_make_error (err, ESRCH, "no process with container pid %u", d->pid);
  fd = uc_proc_getfd (pid, d->fd, err);
  if (fd < 0)
    return -1;
  if (fstat (fd, &st) < 0 || (originals && d->has_ino && (unsigned long long) st.st_ino != d->ino))
    {
      close (fd);
      return uc_make_error (err, 0, "fd %u of pid %d is no longer the dumped socket", d->fd, pid);
    }
  if (uc_check_identity (fd, d, err) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Does R hold exactly the pending state D describes? */
static bool
holds (const struct uc_sock_rec *r, const UcDgram *d)
{
  unsigned want_len = d->pending_family ? d->payload.len + 8 : 0;
  bool want_cork = d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT;

  return r && r->pending == d->pending_family && r->len == want_len && ! (r->flags & UC_F_CORK) == ! want_cork;
}

/* One iterator pass: each socket holds exactly what was saved. */
static int
verify (struct uc_bpf *b, const struct uc_image *img, const unsigned long long *ino, uc_error_t *err)
{
  struct uc_sock_rec *recs = NULL;
  size_t n = 0, i;
  int ret = 0;

  if (uc_bpf_iter_udp_sorted (b, &recs, &n, err) < 0)
    return -1;
  for (i = 0; i < img->n_dgrams && ret == 0; i++)
    {
      const UcDgram *d = img->dgrams[i];
      const struct uc_sock_rec *r = uc_sock_rec_find (recs, n, ino[i]);
      char who[160];

      dgram_str (d, who, sizeof (who));
      if (r == NULL)
        ret = uc_make_error (err, 0, "socket %s: not visible to the UDP iterator after re-injection", who);
      else if (! holds (r, d))
        ret = uc_make_error (err, 0,
                             "socket %s: after re-injection pending=%u len=%u cork=%d, expected pending=%u len=%zu "
                             "cork=%d",
                             who, r->pending, r->len, ! ! (r->flags & UC_F_CORK), d->pending_family,
                             d->pending_family ? d->payload.len + 8 : 0,
                             d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT);
    }
  free (recs);
  return ret;
}

/* A dumped socket (still stopped, so its application cannot have sent or
 * corked anything meanwhile): does it hold the pending state D describes?
 * Cheap kernel views are enough here: a non-empty write queue, the cork
 * flag. (A restored socket is checked exactly, by the UDP iterator.) */
static bool
holds_dumped (int fd, const UcDgram *d)
{
  int q = 0, cork = 0;
  socklen_t l = sizeof (cork);

  if (ioctl (fd, SIOCOUTQ, &q) < 0 || getsockopt (fd, IPPROTO_UDP, UDP_CORK, &cork, &l) < 0)
    return false;
  return (d->pending_family ? q > 0 : q == 0) && ! cork == ! (d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT);
}

int
uc_put_back (const struct uc_container *c, const struct uc_image *img, bool originals,
             struct uc_putback_stats *stats, uc_error_t *err)
{
  unsigned long long *ino;
  struct uc_bpf b = { 0 };
  int ret = 0;

  stats->sockets = stats->bytes = stats->rx_dgrams = 0;
  if (img->n_dgrams == 0 && (originals || img->n_rxsocks == 0))
    return 0;
  ino = calloc (img->n_dgrams + 1, sizeof (*ino));
  if (ino == NULL)
    return uc_make_error (err, ENOMEM, "put back");
  /* BPF (the exact check) only for restored sockets: giving back to the
   * dumped ones is on the checkpoint's critical path. */
  if (uc_container_enter_netns (c, err) < 0 || (! originals && uc_bpf_open (&b, false, err) < 0))
    {
      free (ino);
      return -1;
    }
  for (size_t i = 0; i < img->n_dgrams && ret == 0; i++)
    {
      const UcDgram *d = img->dgrams[i];
      char who[160], dst[UC_ADDRSTRLEN];
      struct stat st;
      int fd;

      dgram_str (d, who, sizeof (who));
      fd = open_saved (c, d, originals, err);
      /* An earlier run killed half-way may have given this one back
       * already: left alone, so nothing doubles. */
      if (fd >= 0 && originals && d->pending_family && holds_dumped (fd, d))
        {
          uc_info ("socket %s: already holds its %zu pending bytes again: left alone", who, d->payload.len);
          close (fd);
          continue;
        }
      if (fd < 0 || fstat (fd, &st) < 0 || uc_reinject (fd, d, who, err) < 0
          || (originals && ! holds_dumped (fd, d)
              && uc_make_error (err, 0, "after re-injection the socket does not hold the datagram") < 0))
        {
          ret = uc_error_wrap (err, "socket %s: datagram of %zu bytes not put back (it stays in the image)", who,
                               d->payload.len);
          if (fd >= 0)
            close (fd);
          break;
        }
      ino[i] = st.st_ino;
      close (fd);
      stats->sockets++;
      stats->bytes += d->payload.len;
      uc_info ("socket %s: %zu bytes pending again for %s (%s)", who, d->payload.len,
               uc_dgram_dst_str (d, dst, sizeof (dst)), uc_dgram_mode_str (d));
      uc_fault (originals ? "returned" : "restored");
    }
  if (ret == 0 && img->n_dgrams && ! originals)
    ret = verify (&b, img, ino, err);
  free (ino);
  if (ret == 0 && ! originals && img->n_rxsocks)
    ret = uc_rx_put_back (&b, c, img, &stats->rx_dgrams, err);
  uc_bpf_close (&b);
  return ret;
}
