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
uc_journal_read (int dirfd, enum uc_journal *j, uc_error_t *err)
{
  char buf[32] = "";
  ssize_t r;
  int fd;

  *j = UC_JOURNAL_NONE;
  fd = openat (dirfd, UC_JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : uc_make_error (err, errno, "open %s", UC_JOURNAL_NAME);
  r = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (r < 0)
    return uc_make_error (err, errno, "read %s", UC_JOURNAL_NAME);
  buf[r] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  for (int i = UC_JOURNAL_CAPTURED; i <= UC_JOURNAL_RETURNED; i++)
    if (strcmp (buf, names[i]) == 0)
      {
        *j = i;
        return 0;
      }
  return uc_make_error (err, 0, "%s: unknown state `%s`", UC_JOURNAL_NAME, buf);
}

int
uc_journal_write (int dirfd, enum uc_journal j, uc_error_t *err)
{
  const char *tmp = UC_JOURNAL_NAME ".tmp";
  char line[32];
  int fd, len = snprintf (line, sizeof (line), "%s\n", uc_journal_str (j));

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
