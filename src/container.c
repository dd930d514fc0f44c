// SPDX-License-Identifier: GPL-2.0-or-later
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "xalloc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

unsigned long long
uc_proc_start_time (pid_t pid)
{
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  cleanup_close int fd = -1;
  ssize_t r;

  snprintf (path, sizeof (path), "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (r = read (fd, buf, sizeof (buf) - 1)) <= 0)
    return 0;
  buf[r] = '\0';
  /* field 22, counted after the ")" that ends the command name */
  p = strrchr (buf, ')');
  if (p == NULL
      || sscanf (p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start)
             != 1)
    return 0;
  return start;
}

/* Reads ppid and the last NSpid field of /proc/PID/status. */
static int
read_status (pid_t pid, pid_t *ppid, pid_t *nspid)
{
  char path[64], line[256];
  FILE *f;

  snprintf (path, sizeof (path), "/proc/%d/status", pid);
  f = fopen (path, "re");
  if (f == NULL)
    return -1;
  *ppid = -1;
  *nspid = pid;
  while (fgets (line, sizeof (line), f))
    {
      if (strncmp (line, "PPid:", 5) == 0)
        *ppid = atoi (line + 5);
      else if (strncmp (line, "NSpid:", 6) == 0)
        {
          char *last = strrchr (line, '\t');
          if (last == NULL)
            last = line + 6;
          *nspid = atoi (last);
        }
    }
  fclose (f);
  return *ppid < 0 ? -1 : 0;
}

struct pid_pair
{
  pid_t pid, ppid, nspid;
  bool taken; /* already in the container's list */
};

/* One pass over /proc: every process, with its parent. */
static int
scan_proc (struct pid_pair **out, size_t *n, uc_error_t *err)
{
  struct pid_pair *v = NULL;
  size_t cap = 0, len = 0;
  struct dirent *de;
  DIR *d = opendir ("/proc");

  if (d == NULL)
    return uc_make_error (err, errno, "open /proc");
  while ((de = readdir (d)))
    {
      pid_t pid = atoi (de->d_name), ppid, nspid;
      if (pid <= 0 || read_status (pid, &ppid, &nspid) < 0)
        continue;
      xgrow (&v, &cap, len + 1, sizeof (*v));
      v[len++] = (struct pid_pair){ pid, ppid, nspid, false };
    }
  closedir (d);
  *out = v;
  *n = len;
  return 0;
}

static bool
same_netns_as_self (pid_t pid)
{
  char path[64];
  struct stat self, ct;

  snprintf (path, sizeof (path), "/proc/%d/ns/net", pid);
  return stat ("/proc/self/ns/net", &self) == 0 && stat (path, &ct) == 0 && self.st_ino == ct.st_ino
         && self.st_dev == ct.st_dev;
}

int
uc_container_open (pid_t init, struct uc_container *c, uc_error_t *err)
{
  cleanup_free struct pid_pair *all = NULL;
  size_t n_all = 0, i, j;

  memset (c, 0, sizeof (*c));
  c->pidfd = -1;
  c->init = init;
  if (init <= 1)
    return uc_make_error (err, 0, "invalid container pid %d", init);
  /* The init is held from here on: its pid cannot be reused under us. */
  c->pidfd = (int) syscall (SYS_pidfd_open, init, 0);
  if (c->pidfd < 0)
    return uc_make_error (err, errno, "container init pid %d", init);
  if (scan_proc (&all, &n_all, err) < 0)
    return -1;
  c->procs = xcalloc (n_all + 1, sizeof (*c->procs));
  for (i = 0; i < n_all; i++)
    if (all[i].pid == init)
      {
        c->procs[c->n_procs++] = (struct uc_proc){ init, all[i].nspid, uc_proc_start_time (init) };
        all[i].taken = true;
      }
  if (c->n_procs == 0)
    return uc_make_error (err, ESRCH, "container init pid %d", init);
  /* Breadth-first over the parent links: procs[] is the queue; each
   * process at most once, whatever /proc says. */
  for (j = 0; j < c->n_procs; j++)
    for (i = 0; i < n_all; i++)
      if (! all[i].taken && all[i].ppid == c->procs[j].pid)
        {
          all[i].taken = true;
          c->procs[c->n_procs++] = (struct uc_proc){ all[i].pid, all[i].nspid, uc_proc_start_time (all[i].pid) };
        }
  c->host_netns = same_netns_as_self (init);
  /* Everything read by pid above is about the process the pidfd holds. */
  if (syscall (SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0 || c->procs[0].start == 0
      || uc_proc_start_time (init) != c->procs[0].start)
    return uc_make_error (err, ESRCH, "container init pid %d exited while udpcork looked at it", init);
  return 0;
}

void
uc_container_close (struct uc_container *c)
{
  free (c->procs);
  c->procs = NULL;
  c->n_procs = 0;
  if (c->pidfd >= 0)
    close (c->pidfd);
  c->pidfd = -1;
}

pid_t
uc_container_host_pid (const struct uc_container *c, pid_t nspid)
{
  for (size_t i = 0; i < c->n_procs; i++)
    if (c->procs[i].nspid == nspid)
      return c->procs[i].pid;
  return 0;
}

pid_t
uc_container_ns_pid (const struct uc_container *c, pid_t pid)
{
  for (size_t i = 0; i < c->n_procs; i++)
    if (c->procs[i].pid == pid)
      return c->procs[i].nspid;
  return 0;
}

int
uc_container_enter_netns (const struct uc_container *c, uc_error_t *err)
{
  char path[64];
  cleanup_close int fd = -1;

  /* setns on the init's pidfd (Linux >= 5.8): no path, no pid reuse */
  if (setns (c->pidfd, CLONE_NEWNET) == 0)
    return 0;
  if (errno != EINVAL)
    return uc_make_error (err, errno, "enter network namespace of container pid %d", c->init);
  snprintf (path, sizeof (path), "/proc/%d/ns/net", c->init);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns (fd, CLONE_NEWNET) < 0 || syscall (SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0)
    return uc_make_error (err, errno, "enter network namespace of container pid %d", c->init);
  return 0;
}

int
uc_proc_getfd (const struct uc_container *c, pid_t pid, int fd, uc_error_t *err)
{
  const struct uc_proc *p = NULL;
  cleanup_close int own = -1;
  int pidfd, ret;

  for (size_t i = 0; i < c->n_procs && p == NULL; i++)
    if (c->procs[i].pid == pid)
      p = &c->procs[i];
  if (p == NULL)
    return uc_make_error (err, ESRCH, "pid %d is not a process of container pid %d", pid, c->init);
  if (p == &c->procs[0])
    pidfd = c->pidfd;
  else
    {
      pidfd = own = (int) syscall (SYS_pidfd_open, pid, 0);
      if (own < 0)
        return uc_make_error (err, errno, "pidfd_open pid %d", pid);
      /* the pidfd is of the process scanned, not of a newcomer with its pid */
      if (uc_proc_start_time (pid) != p->start)
        return uc_make_error (err, ESRCH, "pid %d exited meanwhile", pid);
    }
  ret = (int) syscall (SYS_pidfd_getfd, pidfd, fd, 0);
  if (ret < 0)
    return uc_make_error (err, errno, "pidfd_getfd pid %d fd %d", pid, fd);
  return ret;
}

int
uc_proc_for_each_socket (pid_t pid, int (*fn) (pid_t, int, unsigned long, void *), void *data, uc_error_t *err)
{
  char path[64], link[64];
  struct dirent *de;
  int ret = 0;
  DIR *d;

  snprintf (path, sizeof (path), "/proc/%d/fd", pid);
  d = opendir (path);
  if (d == NULL)
    return errno == ENOENT ? 0 : uc_make_error (err, errno, "list fds of pid %d", pid);
  while (ret == 0 && (de = readdir (d)))
    {
      unsigned long ino;
      ssize_t l;
      int fd;

      if (de->d_name[0] == '.')
        continue;
      fd = atoi (de->d_name);
      l = readlinkat (dirfd (d), de->d_name, link, sizeof (link) - 1);
      if (l <= 0)
        continue;
      link[l] = '\0';
      if (sscanf (link, "socket:[%lu]", &ino) != 1)
        continue;
      ret = fn (pid, fd, ino, data);
    }
  closedir (d);
  return ret;
}
