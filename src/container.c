// SPDX-License-Identifier: GPL-2.0-or-later
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

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
      if (len == cap)
        {
          struct pid_pair *nv = realloc (v, (cap = cap ? cap * 2 : 256) * sizeof (*v));
          if (nv == NULL)
            {
              free (v);
              closedir (d);
              return uc_make_error (err, ENOMEM, "scan /proc");
            }
          v = nv;
        }
      v[len++] = (struct pid_pair) { pid, ppid, nspid };
    }
  closedir (d);
  *out = v;
  *n = len;
  return 0;
}

int
uc_container_open (pid_t init, struct uc_container *c, uc_error_t *err)
{
  struct pid_pair *all = NULL;
  size_t n_all = 0, i, j;
  char path[64];

  memset (c, 0, sizeof (*c));
  c->netns_fd = -1;
  c->init = init;
  if (init <= 1)
    return uc_make_error (err, 0, "invalid container pid %d", init);
  if (scan_proc (&all, &n_all, err) < 0)
    return -1;
  c->procs = calloc (n_all + 1, sizeof (*c->procs));
  if (c->procs == NULL)
    {
      free (all);
      return uc_make_error (err, ENOMEM, "container %d", init);
    }
  for (i = 0; i < n_all; i++)
    if (all[i].pid == init)
      c->procs[c->n_procs++] = (struct uc_proc) { init, all[i].nspid };
  if (c->n_procs == 0)
    {
      free (all);
      return uc_make_error (err, ESRCH, "container init pid %d", init);
    }
  /* Breadth-first over the parent links: procs[] is the queue. */
  for (j = 0; j < c->n_procs; j++)
    for (i = 0; i < n_all; i++)
      if (all[i].ppid == c->procs[j].pid)
        c->procs[c->n_procs++] = (struct uc_proc) { all[i].pid, all[i].nspid };
  free (all);

  snprintf (path, sizeof (path), "/proc/%d/ns/net", init);
  c->netns_fd = open (path, O_RDONLY | O_CLOEXEC);
  if (c->netns_fd < 0)
    return uc_make_error (err, errno, "open network namespace of container pid %d", init);
  return 0;
}

void
uc_container_close (struct uc_container *c)
{
  free (c->procs);
  c->procs = NULL;
  if (c->netns_fd >= 0)
    close (c->netns_fd);
  c->netns_fd = -1;
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
  if (setns (c->netns_fd, CLONE_NEWNET) < 0)
    return uc_make_error (err, errno, "enter network namespace of container pid %d", c->init);
  return 0;
}

int
uc_proc_getfd (pid_t pid, int fd, uc_error_t *err)
{
  int pidfd, ret;

  pidfd = syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return uc_make_error (err, errno, "pidfd_open pid %d", pid);
  ret = syscall (SYS_pidfd_getfd, pidfd, fd, 0);
  if (ret < 0)
    uc_make_error (err, errno, "pidfd_getfd pid %d fd %d", pid, fd);
  close (pidfd);
  return ret < 0 ? -1 : ret;
}

int
uc_proc_for_each_socket (pid_t pid, int (*fn) (pid_t, int, unsigned long, void *), void *data,
                         uc_error_t *err)
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
