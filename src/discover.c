// SPDX-License-Identifier: GPL-2.0-or-later
#include "discover.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <strings.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/sockios.h>
#include "log.h"
#include "sock.h"
#include "xalloc.h"
#include "util.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

/* Every UDP socket of the netns, sorted by inode, and what the fd walk
 * learned about each. */
struct scan
{
  struct uc_sock_rec *recs;
  struct uc_target *t; /* parallel to recs */
  size_t n;
  const struct uc_container *c;
  struct uc_target *unseen; /* socket fds the iterator did not visit */
  size_t n_unseen, cap_unseen;
};

static int
owner_cb (pid_t pid, int fd, unsigned long ino, void *data)
{
  struct scan *s = data;
  const struct uc_sock_rec *r = uc_sock_rec_find (s->recs, s->n, ino);
  struct uc_target *t;

  if (r)
    t = &s->t[r - s->recs];
  else
    {
      for (size_t i = 0; i < s->n_unseen; i++)
        if (s->unseen[i].rec.ino == ino)
          return 0;
      xgrow (&s->unseen, &s->cap_unseen, s->n_unseen + 1, sizeof (*s->unseen));
      t = &s->unseen[s->n_unseen++];
      memset (t, 0, sizeof (*t));
      t->rec.ino = ino;
    }
  if (t->n_refs++ == 0)
    {
      t->pid = pid;
      t->fd = fd;
      t->nspid = uc_container_ns_pid (s->c, pid);
    }
  return 0;
}

/* A socket of the container that the UDP iterator did not visit: an
 * unhashed UDP socket (e.g. disconnected with connect(AF_UNSPEC)), a UDP-Lite
 * socket, or one of another netns. If it is a corked UDP socket udpcork
 * cannot save it: fail closed. */
static int
check_unseen (const struct uc_container *c, struct uc_target *t, uc_error_t *err)
{
  cleanup_close int fd = uc_sock_open (c, t->pid, t->fd, NULL, NULL);
  int dom, proto, cork, outq, ret = 0;
  char who[160];

  if (fd < 0)
    return 0; /* gone meanwhile: nothing to save */
  dom = uc_sockopt (fd, SOL_SOCKET, SO_DOMAIN, -1);
  proto = uc_sockopt (fd, SOL_SOCKET, SO_PROTOCOL, -1);
  if ((dom == AF_INET || dom == AF_INET6) && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE))
    {
      cork = uc_sockopt (fd, proto, UDP_CORK, -1);
      outq = uc_sock_outq (fd);
      snprintf (who, sizeof (who), "pid %d (container pid %d) fd %d inode %llu", t->pid, t->nspid, t->fd,
                (unsigned long long) t->rec.ino);
      if (cork > 0 || outq > 0)
        ret = uc_make_error (err, 0,
                             "socket %s: %s socket with %s that the UDP iterator cannot see (%s); udpcork cannot "
                             "save it, refusing the checkpoint: every socket keeps its data",
                             who, proto == IPPROTO_UDPLITE ? "UDP-Lite" : "UDP",
                             cork > 0 ? "UDP_CORK set" : "a pending datagram",
                             proto == IPPROTO_UDPLITE ? "UDP-Lite is not supported"
                                                      : "unhashed, e.g. after connect(AF_UNSPEC), or in another "
                                                        "network namespace");
      else
        uc_debug ("socket %s: not visible to the UDP iterator, not corked", who);
    }
  return ret;
}

int
uc_discover (struct uc_bpf *b, const struct uc_container *c, struct uc_target **out, size_t *n, uc_error_t *err)
{
  struct scan s = { .c = c };
  size_t i, kept = 0;
  int ret = 0;

  *out = NULL;
  *n = 0;
  if (uc_bpf_iter_udp_sorted (b, &s.recs, &s.n, err) < 0)
    return -1;
  uc_debug ("iterator: %zu UDP sockets in the network namespace of pid %d", s.n, c->init);
  s.t = xcalloc (s.n + 1, sizeof (*s.t));
  for (i = 0; i < s.n; i++)
    s.t[i].rec = s.recs[i];

  for (i = 0; ret == 0 && i < c->n_procs; i++)
    {
      ret = uc_proc_for_each_socket (c->procs[i].pid, owner_cb, &s, err);
    }
  for (i = 0; ret == 0 && i < s.n_unseen; i++)
    ret = check_unseen (c, &s.unseen[i], err);

  for (i = 0; ret == 0 && i < s.n; i++)
    {
      if (! uc_sock_is_corked (&s.t[i].rec) && ! uc_sock_has_rx (&s.t[i].rec))
        continue;
      if (s.t[i].n_refs == 0)
        {
          char a[UC_ADDRSTRLEN];
          uc_warn ("UDP socket inode %llu (%s) with pending or unread data is not held by any process of container "
                   "pid %d: left alone",
                   (unsigned long long) s.t[i].rec.ino,
                   uc_addr_str (s.t[i].rec.family, s.t[i].rec.laddr, s.t[i].rec.lport, a, sizeof (a)), c->init);
          continue;
        }
      s.t[kept++] = s.t[i];
    }
  free (s.recs);
  free (s.unseen);
  if (ret < 0)
    {
      free (s.t);
      return -1;
    }
  *out = s.t;
  *n = kept;
  return 0;
}

const char *
uc_target_str (const struct uc_target *t, char *buf, size_t len)
{
  return uc_sock_name (buf, len, t->pid, t->nspid, t->fd, t->rec.family, t->rec.laddr, t->rec.lport);
}

/* /proc/PID/net/udp{,6}, udplite{,6}: inode -> queues, sorted by inode. */
struct qent
{
  unsigned long long ino;
  unsigned long tx, rx;
};

static int
cmp_qent (const void *a, const void *b)
{
  const struct qent *x = a, *y = b;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void
read_tables (pid_t pid, struct qent **out, size_t *n)
{
  static const char *const tables[] = { "udp", "udp6", "udplite", "udplite6" };
  size_t cap = 0, len = 0;
  struct qent *v = NULL;
  char path[64], line[512];

  for (size_t t = 0; t < 4; t++)
    {
      FILE *f;
      snprintf (path, sizeof (path), "/proc/%d/net/%s", pid, tables[t]);
      f = fopen (path, "re");
      if (f == NULL)
        continue;
      while (fgets (line, sizeof (line), f))
        {
          struct qent e;
          /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
          if (sscanf (line, " %*d: %*s %*s %*x %lx:%lx %*x:%*x %*x %*u %*u %llu", &e.tx, &e.rx, &e.ino) != 3)
            continue;
          xgrow (&v, &cap, len + 1, sizeof (*v));
          v[len++] = e;
        }
      fclose (f);
    }
  qsort (v, len, sizeof (*v), cmp_qent);
  *out = v;
  *n = len;
}

struct quick
{
  const struct uc_container *c;
  struct qent *q;
  size_t n;
  bool maybe;
};

static int
quick_cb (pid_t pid, int fd, unsigned long ino, void *data)
{
  struct quick *s = data;
  struct qent key = { .ino = ino }, *e;
  char path[64], proto[32] = "";
  ssize_t l;
  int cork;

  snprintf (path, sizeof (path), "/proc/%d/fd/%d", pid, fd);
  l = getxattr (path, "system.sockprotoname", proto, sizeof (proto) - 1);
  if (l > 0)
    proto[l] = '\0';
  if (l <= 0 || strncasecmp (proto, "UDP", 3) != 0)
    return 0; /* TCP, UNIX, ...: not ours */
  e = bsearch (&key, s->q, s->n, sizeof (key), cmp_qent);
  if (e == NULL || e->tx || e->rx)
    {
      s->maybe = true; /* queued data, or a UDP socket the table does not show */
      return 1;
    }
  cleanup_close int sk = uc_sock_open (s->c, pid, fd, NULL, NULL);
  if (sk < 0)
    return 0;
  cork = uc_sockopt (sk,
                     strncasecmp (proto, "UDP-Lite", 8) == 0 || strncasecmp (proto, "UDPLITE", 7) == 0 ? IPPROTO_UDPLITE
                                                                                                       : IPPROTO_UDP,
                     UDP_CORK, -1);
  if (cork > 0)
    {
      s->maybe = true;
      return 1;
    }
  return 0;
}

int
uc_discover_quick (const struct uc_container *c, bool *maybe, uc_error_t *err)
{
  struct quick s = { .c = c };

  *maybe = true;
  read_tables (c->init, &s.q, &s.n);
  for (size_t i = 0; i < c->n_procs && ! s.maybe; i++)
    if (uc_proc_for_each_socket (c->procs[i].pid, quick_cb, &s, err) < 0)
      {
        free (s.q);
        return -1;
      }
  free (s.q);
  *maybe = s.maybe;
  return 0;
}
