// SPDX-License-Identifier: GPL-2.0-or-later
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const names[] = { "none", "captured", "returned" };

const char *
uc_journal_str (enum uc_journal j)
{
  return j <= UC_JOURNAL_RETURNED ? names[j] : "?";
}

int
uc_journal_read (int dirfd, enum uc_journal *j, char id[UC_DUMP_ID_LEN], uc_error_t *err)
{
  char buf[160] = "", state[32] = "";
  ssize_t r;
  int fd;

  *j = UC_JOURNAL_NONE;
  id[0] = '\0';
  fd = openat (dirfd, UC_JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : uc_make_error (err, errno, "open %s", UC_JOURNAL_NAME);
  r = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (r < 0)
    return uc_make_error (err, errno, "read %s", UC_JOURNAL_NAME);
  buf[r] = '\0';
  if (sscanf (buf, "%31s %63s", state, id) < 1)
    return uc_make_error (err, 0, "%s: empty", UC_JOURNAL_NAME);
  for (int i = UC_JOURNAL_CAPTURED; i <= UC_JOURNAL_RETURNED; i++)
    if (strcmp (state, names[i]) == 0)
      {
        *j = i;
        return 0;
      }
  return uc_make_error (err, 0, "%s: unknown state `%s`", UC_JOURNAL_NAME, state);
}

int
uc_journal_write (int dirfd, enum uc_journal j, const char *id, uc_error_t *err)
{
  const char *tmp = UC_JOURNAL_NAME ".tmp";
  char line[128];
  int fd, len = snprintf (line, sizeof (line), "%s %s\n", uc_journal_str (j), id);

  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return uc_make_error (err, errno, "create %s", tmp);
  if (write (fd, line, len) != len || fsync (fd) < 0)
    {
      int e = errno;
      close (fd);
      unlinkat (dirfd, tmp, 0);
      return uc_make_error (err, e, "write %s", tmp);
    }
  close (fd);
  if (renameat (dirfd, tmp, dirfd, UC_JOURNAL_NAME) < 0)
    return uc_make_error (err, errno, "rename %s", tmp);
  fsync (dirfd);
  return 0;
}

void
uc_dump_id (const char *image_dir, char id[UC_DUMP_ID_LEN])
{
  char path[64], stat[1024] = "", *p;
  unsigned long long start = 0;
  int pid = 0, fd, n;
  ssize_t r;

  if (image_dir == NULL || sscanf (image_dir, "/proc/%d/fd/%d", &pid, &n) != 2)
    pid = getppid ();
  snprintf (path, sizeof (path), "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      r = read (fd, stat, sizeof (stat) - 1);
      close (fd);
      stat[r > 0 ? r : 0] = '\0';
      /* field 22, counted after the ")" that ends the command name */
      p = strrchr (stat, ')');
      if (p)
        sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start);
    }
  snprintf (id, UC_DUMP_ID_LEN, "criu-%d-%llu", pid, start);
}
