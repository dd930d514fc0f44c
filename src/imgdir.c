// SPDX-License-Identifier: GPL-2.0-or-later
#include "imgdir.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "xalloc.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* Owned by root, not writable by group or others. */
static int
check_owner (int fd, const char *what, const char *path, uc_error_t *err)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    return uc_make_error (err, errno, "%s `%s`", what, path);
  if (! S_ISDIR (st.st_mode))
    return uc_make_error (err, 0, "%s `%s` is not a directory", what, path);
  if (st.st_uid != 0)
    return uc_make_error (err, 0, "%s `%s` is owned by uid %u, not root: refusing", what, path, (unsigned) st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return uc_make_error (err, 0, "%s `%s` is writable by group or others (mode %03o): refusing", what, path,
                          (unsigned) (st.st_mode & 0777));
  return 0;
}

int
uc_imgdir_open_given (const char *dir, uc_error_t *err)
{
  cleanup_close int fd = -1;
  int ret;

  struct stat lst;

  fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && lstat (dir, &lst) == 0 && S_ISLNK (lst.st_mode))
    return uc_make_error (err, 0, "image directory `%s` is a symbolic link: refusing (give the real path)", dir);
  if (fd < 0)
    return uc_make_error (err, errno, "open image directory `%s`", dir);
  if (check_owner (fd, "image directory", dir, err) < 0)
    return -1;
  ret = fd;
  fd = -1;
  return ret;
}

/* Without openat2 (Linux < 5.6, or filtered): one component at a time, no
 * symlink, no "..", no mount crossed (as RESOLVE_NO_XDEV). */
static int
walk_beneath (int rootfd, const char *rel, uc_error_t *err)
{
  cleanup_free char *copy = xstrdup (rel);
  char *save = NULL, *c;
  struct stat root, st;
  int fd;

  uc_debug ("no openat2 (%s): walking `%s` one component at a time", strerror (errno), rel);
  if (fstat (rootfd, &root) < 0 || (fd = dup (rootfd)) < 0)
    return uc_make_error (err, errno, "image root");
  for (c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      int next = openat (fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int e = errno;
      bool link = next < 0 && fstatat (fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode);
      close (fd);
      if (next < 0)
        return uc_make_error (err, link ? 0 : e, "component `%s`%s", c, link ? " is a symbolic link" : "");
      if (fstat (next, &st) < 0 || st.st_dev != root.st_dev)
        {
          close (next);
          return uc_make_error (err, 0, "component `%s` is on another mount", c);
        }
      fd = next;
    }
  return fd;
}

int
uc_imgdir_open_beneath (const char *root, const char *dir, uc_error_t *err)
{
  size_t rl = strlen (root);
  cleanup_close int rootfd = -1, fd = -1;
  const char *rel;
  int ret;

  /* textually under ROOT, with no ".", ".." or empty components */
  if (strncmp (dir, root, rl) != 0 || (dir[rl] != '/' && dir[rl] != '\0'))
    return uc_make_error (err, 0, "image directory `%s` (from an annotation) is not under %s: refusing", dir, root);
  rel = dir + rl;
  while (*rel == '/')
    rel++;
  for (const char *p = rel; *p;)
    {
      size_t n = strcspn (p, "/");
      if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return uc_make_error (err, 0,
                              "image directory `%s` (from an annotation) has `.`, `..` or empty components: "
                              "refusing",
                              dir);
      p += n;
      if (*p == '/')
        p++;
    }
  rootfd = open (root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0)
    return uc_make_error (err, errno, "image root %s (annotation image directories must be under it)", root);
  if (check_owner (rootfd, "image root", root, err) < 0)
    return -1;
  if (*rel == '\0')
    fd = dup (rootfd);
  else
    {
      struct open_how how
          = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
              .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
      fd = (int) syscall (SYS_openat2, rootfd, rel, &how, sizeof (how));
      if (fd < 0 && (errno == ENOSYS || errno == EPERM))
        fd = walk_beneath (rootfd, rel, err);
      else if (fd < 0)
        {
          int e = errno;
          return uc_make_error (err, e == ELOOP || e == EXDEV ? 0 : e, "image directory `%s` (from an annotation)%s",
                                dir,
                                e == ELOOP   ? ": a symbolic link on the way: refusing"
                                : e == EXDEV ? ": on another mount: refusing"
                                             : "");
        }
      if (fd < 0)
        return uc_error_wrap (err, "image directory `%s` (from an annotation): refusing", dir);
    }
  if (check_owner (fd, "image directory", dir, err) < 0)
    return -1;
  ret = fd;
  fd = -1;
  return ret;
}
