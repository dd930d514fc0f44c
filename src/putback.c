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
#include "caps.h"
#include "criuimg.h"
#include "log.h"
#include "fault.h"
#include "reinject.h"
#include "rxinject.h"
#include "sock.h"
#include "util.h"
#include "xalloc.h"
#include <string.h>

static const char *
dgram_str (const UcDgram *d, char *buf, size_t len)
{
  return uc_sock_name (buf, len, 0, d->pid, d->fd, d->family, d->local_addr.data, d->local_port);
}

/* Our duplicate of the saved socket's fd, checked (for the dumped
 * originals: the very inode). */
static int
open_saved (const struct uc_container *c, const UcDgram *d, bool same_inode, uc_error_t *err)
{
  struct uc_sock_id id = { .family = d->family,
                           .protocol = d->protocol,
                           .addr = d->local_addr.data,
                           .port = d->local_port,
                           .ino = same_inode && d->has_ino ? d->ino : 0 };
  pid_t pid = uc_container_host_pid (c, d->pid);

  if (pid == 0)
    return uc_make_error (err, ESRCH, "no process with container pid %u", d->pid);
  return uc_sock_open (c, pid, d->fd, &id, err);
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
  cleanup_free struct uc_sock_rec *recs = NULL;
  size_t n = 0;

  if (uc_bpf_iter_udp_sorted (b, &recs, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < img->n_dgrams; i++)
    {
      const UcDgram *d = img->dgrams[i];
      const struct uc_sock_rec *r = uc_sock_rec_find (recs, n, ino[i]);
      char who[160];

      dgram_str (d, who, sizeof (who));
      if (r == NULL)
        return uc_make_error (err, 0, "socket %s: not visible to the UDP iterator after re-injection", who);
      if (! holds (r, d))
        return uc_make_error (err, 0,
                              "socket %s: after re-injection pending=%u len=%u cork=%d, expected pending=%u len=%zu "
                              "cork=%d",
                              who, r->pending, r->len, ! ! (r->flags & UC_F_CORK), d->pending_family,
                              d->pending_family ? d->payload.len + 8 : 0, d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT);
    }
  return 0;
}

/* A dumped socket (its application cannot have sent or corked anything
 * meanwhile): does it hold the pending state D describes? Cheap kernel
 * views are enough here: a non-empty write queue, the cork flag. */
static bool
holds_dumped (int fd, const UcDgram *d)
{
  int q = uc_sock_outq (fd), cork = uc_sockopt (fd, IPPROTO_UDP, UDP_CORK, -1);

  if (q < 0 || cork < 0)
    return false;
  return (d->pending_family ? q > 0 : q == 0) && ! cork == ! (d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT);
}

/* Anything pending or corked? */
static bool
holds_something (int fd)
{
  return uc_sock_outq (fd) != 0 || uc_sockopt (fd, IPPROTO_UDP, UDP_CORK, -1) != 0;
}

/* The last answer of owner_caps: a container's sockets mostly belong to one
 * process, whose /proc status or CRIU core image is read once, not once per
 * socket. */
struct caps_memo
{
  uint32_t pid;
  uint64_t caps;
};

/* The effective capabilities of the process that holds D's socket: now,
 * or (CRIU_DIRFD >= 0) those CRIU gives it back when it resumes. None if
 * they cannot be told. */
static uint64_t
owner_caps (const struct uc_container *c, const UcDgram *d, int criu_dirfd, struct caps_memo *m)
{
  uc_error_t e = NULL;
  uint64_t caps = 0;

  if (m->pid == d->pid && d->pid != 0)
    return m->caps;
  if (criu_dirfd >= 0 ? uc_criu_task_caps (criu_dirfd, d->pid, &caps, &e) < 0
                      : uc_caps_of_pid (uc_container_host_pid (c, d->pid), &caps, &e) < 0)
    {
      uc_warn ("capabilities of container pid %u (%s): re-sending its datagram with none", d->pid, e->msg);
      uc_error_release (&e);
      caps = 0;
    }
  else if (caps && ! uc_caps_count_here (uc_container_host_pid (c, d->pid)))
    {
      uc_note ("container pid %u: its capabilities are those of a user namespace that does not own the network "
               "namespace: re-sending its datagram with none",
               d->pid);
      caps = 0;
    }
  m->pid = d->pid;
  m->caps = caps;
  return caps;
}

static void
put_one (const UcDgram *d, const char *who, struct uc_putback_stats *stats, const char *fault)
{
  char dst[UC_ADDRSTRLEN];

  stats->sockets++;
  stats->bytes += d->payload.len;
  uc_note ("socket %s: %zu bytes pending again for %s (%s)", who, d->payload.len,
           uc_dgram_dst_str (d, dst, sizeof (dst)), uc_dgram_mode_str (d));
  uc_fault (fault);
}

int
uc_give_back (const struct uc_container *c, const struct uc_image *img, struct uc_putback_stats *stats, uc_error_t *err)
{
  memset (stats, 0, sizeof (*stats));
  if (img->n_dgrams == 0)
    return 0;
  if (uc_container_enter_netns (c, err) < 0)
    return -1;
  struct caps_memo m = { 0 };
  struct uc_reinject_memo memo = { 0 };
  for (size_t i = 0; i < img->n_dgrams; i++)
    {
      const UcDgram *d = img->dgrams[i];
      cleanup_close int fd = -1;
      char who[160];

      dgram_str (d, who, sizeof (who));
      fd = open_saved (c, d, true, err);
      /* An earlier run killed half-way may have given this one back
       * already: left alone, so nothing doubles. */
      if (fd >= 0 && d->pending_family && holds_dumped (fd, d))
        {
          uc_info ("socket %s: already holds its %zu pending bytes again: left alone", who, d->payload.len);
          continue;
        }
      if (fd < 0 || uc_reinject (fd, d, owner_caps (c, d, -1, &m), &memo, who, err) < 0
          || (! holds_dumped (fd, d)
              && uc_make_error (err, 0, "after re-injection the socket does not hold the datagram") < 0))
        return uc_error_wrap (err, "socket %s: datagram of %zu bytes not put back (it stays in the image)", who,
                              d->payload.len);
      put_one (d, who, stats, "returned");
      uc_image_drop (img, d);
    }
  return 0;
}

static int
restore_pending (struct uc_bpf *b, const struct uc_container *c, const struct uc_image *img, int criu_dirfd,
                 struct uc_putback_stats *stats, uc_error_t *err)
{
  cleanup_free unsigned long long *ino = xcalloc (img->n_dgrams, sizeof (*ino));
  struct caps_memo m = { 0 };
  struct uc_reinject_memo memo = { 0 };

  for (size_t i = 0; i < img->n_dgrams; i++)
    {
      const UcDgram *d = img->dgrams[i];
      cleanup_close int fd = -1;
      struct stat st;
      char who[160];

      dgram_str (d, who, sizeof (who));
      fd = open_saved (c, d, false, err);
      if (fd < 0 || fstat (fd, &st) < 0)
        return uc_error_wrap (err, "socket %s: datagram of %zu bytes not put back (it stays in the image)", who,
                              d->payload.len);
      ino[i] = st.st_ino;
      /* A restored socket starts with nothing pending: if it holds
       * something, it is never appended to; the exact check below tells
       * whether it is this image's datagram (a second run). */
      if (holds_something (fd))
        {
          uc_info ("socket %s: already holds pending data: not appended to (the check below compares it with the "
                   "image)",
                   who);
          continue;
        }
      if (uc_reinject (fd, d, owner_caps (c, d, criu_dirfd, &m), &memo, who, err) < 0)
        return uc_error_wrap (err, "socket %s: datagram of %zu bytes not put back (it stays in the image)", who,
                              d->payload.len);
      put_one (d, who, stats, "restored");
      uc_image_drop (img, d);
    }
  return verify (b, img, ino, err);
}

int
uc_restore (const struct uc_container *c, const struct uc_image *img, int criu_dirfd, struct uc_putback_stats *stats,
            uc_error_t *err)
{
  struct uc_bpf b = { 0 };
  int ret = 0;

  memset (stats, 0, sizeof (*stats));
  if (img->n_dgrams == 0 && img->n_rxsocks == 0)
    return 0;
  if (uc_container_enter_netns (c, err) < 0 || uc_bpf_open (&b, false, err) < 0)
    return -1;
  if (img->n_dgrams)
    ret = restore_pending (&b, c, img, criu_dirfd, stats, err);
  if (ret == 0 && img->n_rxsocks)
    ret = uc_rx_put_back (&b, c, img, &stats->rx_dgrams, err);
  uc_bpf_close (&b);
  return ret;
}
