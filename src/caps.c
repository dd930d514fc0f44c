// SPDX-License-Identifier: GPL-2.0-or-later
#include "caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int
capget_ (struct __user_cap_data_struct *d)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  return (int) syscall (SYS_capget, &h, d);
}

static int
capset_ (const struct __user_cap_data_struct *d)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  return (int) syscall (SYS_capset, &h, d);
}

int
uc_caps_lower (uint64_t eff, struct uc_caps *saved, uc_error_t *err)
{
  struct __user_cap_data_struct low[_LINUX_CAPABILITY_U32S_3];

  if (capget_ (saved->data) < 0)
    return uc_make_error (err, errno, "capget");
  memcpy (low, saved->data, sizeof (low));
  low[0].effective = (uint32_t) eff & low[0].permitted;
  low[1].effective = (uint32_t) (eff >> 32) & low[1].permitted;
  if (capset_ (low) < 0)
    return uc_make_error (err, errno, "capset (drop effective capabilities)");
  return 0;
}

int
uc_caps_restore (const struct uc_caps *saved, uc_error_t *err)
{
  if (capset_ (saved->data) < 0)
    return uc_make_error (err, errno, "capset (restore capabilities)");
  return 0;
}

int
uc_caps_of_pid (pid_t pid, uint64_t *eff, uc_error_t *err)
{
  char path[64], line[256];
  FILE *f;
  int ret = -1;

  snprintf (path, sizeof (path), "/proc/%d/status", pid);
  f = fopen (path, "re");
  if (f == NULL)
    return uc_make_error (err, errno, "capabilities of pid %d", pid);
  while (ret < 0 && fgets (line, sizeof (line), f))
    if (sscanf (line, "CapEff: %lx", (unsigned long *) eff) == 1)
      ret = 0;
  fclose (f);
  if (ret < 0)
    return uc_make_error (err, 0, "capabilities of pid %d: no CapEff", pid);
  return 0;
}

static bool
same_ns (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

bool
uc_caps_count_here (pid_t pid)
{
  struct stat owner, self, net_owner;
  char path[64];
  int net, user;
  bool ok;

  snprintf (path, sizeof (path), "/proc/%d/ns/user", pid);
  if (stat (path, &owner) < 0 || stat ("/proc/self/ns/user", &self) < 0)
    return false;
  if (same_ns (&owner, &self))
    return true;
  net = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (net < 0)
    return false;
  user = ioctl (net, NS_GET_USERNS);
  close (net);
  if (user < 0)
    return false;
  ok = fstat (user, &net_owner) == 0 && same_ns (&owner, &net_owner);
  close (user);
  return ok;
}
