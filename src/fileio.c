// SPDX-License-Identifier: GPL-2.0-or-later
/* File helpers of the image directory: full writes, exclusive creation,
 * atomic replacement (write a .tmp, fsync, rename, fsync the directory)
 * and read-only mappings. */
#include "fileio.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
uc_write_all (int fd, const void *buf, size_t len, uc_error_t *err)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t r = write (fd, p, len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return uc_make_error (err, errno, "write");
      p += r;
      len -= r;
    }
  return 0;
}

int
uc_fsync_dir (int dirfd, uc_error_t *err)
{
  cleanup_close int fd = dirfd == AT_FDCWD ? open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

  if (fsync (dirfd == AT_FDCWD ? fd : dirfd) < 0)
    return uc_make_error (err, errno, "fsync directory");
  return 0;
}

int
uc_create_excl (int dirfd, const char *name, uc_error_t *err)
{
  int fd;

  /* A leftover of a killed run, or something planted (a FIFO, a link to
   * another file): the name goes, whatever it points at is left alone. */
  if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
    return uc_make_error (err, errno, "remove stale `%s`", name);
  fd = openat (dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return uc_make_error (err, errno, "create `%s`", name);
  if (fchmod (fd, 0600) < 0)
    {
      int e = errno;
      close (fd);
      unlinkat (dirfd, name, 0); /* created, but not private: it goes */
      return uc_make_error (err, e, "chmod `%s`", name);
    }
  return fd;
}

int
uc_file_replace (int dirfd, const char *name, const void *data, size_t len, bool durable, uc_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&tmp, "%s.tmp", name) < 0)
    abort ();
  fd = uc_create_excl (dirfd, tmp, err);
  if (fd < 0)
    return -1;
  if (uc_write_all (fd, data, len, err) < 0 || (durable && fsync (fd) < 0 && uc_make_error (err, errno, "fsync") < 0)
      || (renameat (dirfd, tmp, dirfd, name) < 0 && uc_make_error (err, errno, "rename to `%s`", name) < 0))
    {
      unlinkat (dirfd, tmp, 0);
      return uc_error_wrap (err, "write `%s`", tmp);
    }
  if (durable && uc_fsync_dir (dirfd, err) < 0)
    return uc_error_wrap (err, "write `%s`", name);
  return 0;
}

int
uc_file_map (int dirfd, const char *name, size_t max, const void **data, size_t *len, uc_error_t *err)
{
  static const uint8_t empty[1];
  cleanup_close int fd = -1;
  struct stat st;
  void *map;

  /* O_NONBLOCK: a FIFO planted under this name does not block the hook */
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    return uc_make_error (err, errno, "refusing to open a symbolic link");
  if (fd < 0)
    return uc_make_error (err, errno, "open");
  if (fstat (fd, &st) < 0)
    return uc_make_error (err, errno, "fstat");
  if (! S_ISREG (st.st_mode))
    return uc_make_error (err, 0, "not a regular file");
  if ((unsigned long long) st.st_size > max)
    return uc_make_error (err, 0, "file is %lld bytes (max %zu)", (long long) st.st_size, max);
  *len = st.st_size;
  if (st.st_size == 0)
    {
      *data = empty;
      return 0;
    }
  map = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return uc_make_error (err, errno, "mmap");
  madvise (map, st.st_size, MADV_SEQUENTIAL);
  *data = map;
  return 0;
}

void
uc_file_unmap (const void *data, size_t len)
{
  if (len)
    munmap ((void *) data, len);
}
