// SPDX-License-Identifier: GPL-2.0-or-later
#include "archive_image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "image.h"
#include "xalloc.h"

/* Where checkpoint archives keep the image: podman's --export and the CRI
 * checkpoint archive put CRIU's image directory under checkpoint/. */
static const char *const members[] = { "checkpoint/" UC_IMG_NAME, UC_IMG_NAME };

static bool
is_image (const char *path)
{
  if (path == NULL)
    return false;
  if (strncmp (path, "./", 2) == 0)
    path += 2;
  for (size_t i = 0; i < sizeof (members) / sizeof (*members); i++)
    if (strcmp (path, members[i]) == 0)
      return true;
  return false;
}

static struct archive *
new_reader (uc_error_t *err)
{
  struct archive *a = archive_read_new ();

  if (a == NULL)
    abort ();
  /* Only filters libarchive runs itself: ARCHIVE_WARN would mean an
   * external program. */
  if (archive_read_support_filter_none (a) != ARCHIVE_OK || archive_read_support_filter_gzip (a) != ARCHIVE_OK
      || archive_read_support_filter_xz (a) != ARCHIVE_OK || archive_read_support_filter_zstd (a) != ARCHIVE_OK
      || archive_read_support_format_tar (a) != ARCHIVE_OK)
    {
      uc_make_error (err, 0, "libarchive cannot read tar, gzip, xz and zstd without external programs");
      archive_read_free (a);
      return NULL;
    }
  return a;
}

/* One pass over the members: the image's bytes, once. */
static int
read_members (struct archive *a, const char *name, char **buf, size_t *len, uc_error_t *err)
{
  struct archive_entry *e;
  bool found = false;
  int r;

  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      la_int64_t size;
      size_t got = 0;

      if (! is_image (archive_entry_pathname (e)))
        continue; /* its data is skipped by the next header read */
      if (found)
        return uc_make_error (err, 0, "archive `%s` holds %s twice", name, UC_IMG_NAME);
      if (archive_entry_filetype (e) != AE_IFREG)
        return uc_make_error (err, 0, "%s in archive `%s` is not a regular file", UC_IMG_NAME, name);
      size = archive_entry_size (e);
      if (! archive_entry_size_is_set (e) || size < 0 || (unsigned long long) size > UC_IMG_MAX_FILE)
        return uc_make_error (err, 0, "%s in archive `%s` has an invalid size (max %llu bytes)", UC_IMG_NAME, name,
                              UC_IMG_MAX_FILE);
      /* memory follows the data that arrives, not the size the header claims */
      for (size_t cap = 0; got < (size_t) size;)
        {
          la_ssize_t n;

          if (got == cap)
            {
              cap = cap ? cap * 2 : 1 << 20;
              if (cap > (size_t) size)
                cap = size;
              *buf = xrealloc (*buf, cap);
            }
          n = archive_read_data (a, *buf + got, cap - got);
          if (n <= 0)
            return uc_make_error (err, 0, "archive `%s`: %s cut short: %s", name, UC_IMG_NAME,
                                  n < 0 ? archive_error_string (a) : "end of data");
          got += n;
        }
      *len = got;
      found = true;
    }
  if (r != ARCHIVE_EOF)
    return uc_make_error (err, 0, "archive `%s`: %s", name,
                          archive_error_string (a) ? archive_error_string (a) : "unreadable");
  if (! found)
    return uc_make_error (err, ENOENT, "no %s in archive `%s`", UC_IMG_NAME, name);
  return 0;
}

static int
finish (struct archive *a, int ret, char **buf, size_t *len)
{
  archive_read_free (a);
  if (ret < 0)
    {
      free (*buf);
      *buf = NULL;
      *len = 0;
    }
  return ret;
}

int
uc_archive_read_image (const char *archive, char **buf, size_t *len, uc_error_t *err)
{
  cleanup_close int fd = -1;
  struct archive *a;
  struct stat st;

  *buf = NULL;
  *len = 0;
  fd = open (archive, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return uc_make_error (err, errno, "open archive `%s`", archive);
  if (fstat (fd, &st) < 0 || ! S_ISREG (st.st_mode))
    return uc_make_error (err, 0, "archive `%s` is not a regular file", archive);
  if ((a = new_reader (err)) == NULL)
    return -1;
  if (archive_read_open_fd (a, fd, 64 * 1024) != ARCHIVE_OK)
    {
      uc_make_error (err, 0, "archive `%s`: %s", archive, archive_error_string (a));
      return finish (a, -1, buf, len);
    }
  return finish (a, read_members (a, archive, buf, len, err), buf, len);
}

int
uc_archive_read_image_mem (const void *data, size_t size, const char *name, char **buf, size_t *len, uc_error_t *err)
{
  struct archive *a;

  *buf = NULL;
  *len = 0;
  if ((a = new_reader (err)) == NULL)
    return -1;
  if (archive_read_open_memory (a, data, size) != ARCHIVE_OK)
    {
      uc_make_error (err, 0, "archive `%s`: %s", name, archive_error_string (a));
      return finish (a, -1, buf, len);
    }
  return finish (a, read_members (a, name, buf, len, err), buf, len);
}
