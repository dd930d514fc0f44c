#include "discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"
#include "util.h"

struct owner_scan
{
  struct uc_target *t;
  size_t n;
  const struct uc_container *c;
};

static int
owner_cb (pid_t pid, int fd, unsigned long ino, void *data)
{
  struct owner_scan *s = data;

  for (size_t i = 0; i < s->n; i++)
    {
      struct uc_target *t = &s->t[i];
      if (t->rec.ino != ino)
        continue;
      if (t->n_refs++ == 0)
        {
          t->pid = pid;
          t->fd = fd;
          t->nspid = uc_container_ns_pid (s->c, pid);
        }
    }
  return 0;
}

int
uc_discover (struct uc_bpf *b, const struct uc_container *c, struct uc_target **out, size_t *n,
             uc_error_t *err)
{
  struct uc_sock_rec *recs = NULL;
  struct owner_scan s = { .c = c };
  size_t n_recs = 0, i, kept = 0;

  *out = NULL;
  *n = 0;
  if (uc_bpf_iter_udp (b, &recs, &n_recs, err) < 0)
    return -1;
  uc_debug ("iterator: %zu UDP sockets in the network namespace of pid %d", n_recs, c->init);

  s.t = calloc (n_recs + 1, sizeof (*s.t));
  if (s.t == NULL)
    {
      free (recs);
      return uc_make_error (err, ENOMEM, "discover");
    }
  for (i = 0; i < n_recs; i++)
    if (uc_sock_is_corked (&recs[i]))
      s.t[s.n++].rec = recs[i];
  free (recs);

  for (i = 0; s.n > 0 && i < c->n_procs; i++)
    if (uc_proc_for_each_socket (c->procs[i].pid, owner_cb, &s, err) < 0)
      {
        free (s.t);
        return -1;
      }

  for (i = 0; i < s.n; i++)
    {
      if (s.t[i].n_refs == 0)
        {
          char a[UC_ADDRSTRLEN];
          uc_warn ("corked UDP socket inode %llu (%s) is not held by any process of container pid %d: "
                   "left alone",
                   (unsigned long long) s.t[i].rec.ino,
                   uc_addr_str (s.t[i].rec.family, s.t[i].rec.laddr, s.t[i].rec.lport, a, sizeof (a)),
                   c->init);
          continue;
        }
      s.t[kept++] = s.t[i];
    }
  *out = s.t;
  *n = kept;
  return 0;
}

const char *
uc_target_str (const struct uc_target *t, char *buf, size_t len)
{
  char a[UC_ADDRSTRLEN];

  snprintf (buf, len, "pid %d (container pid %d) fd %d %s %s", t->pid, t->nspid, t->fd,
            t->rec.family == AF_INET6 ? "udp6" : "udp",
            uc_addr_str (t->rec.family, t->rec.laddr, t->rec.lport, a, sizeof (a)));
  return buf;
}
