// SPDX-License-Identifier: GPL-2.0-or-later
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "container.h"
#include "image.h"
#include "validate.h"
#include "xalloc.h"

static const char *const names[] = { "none", "captured", "returned" };

const char *
uc_journal_str (enum uc_journal j)
{
  return j <= UC_JOURNAL_RETURNED ? names[j] : "?";
}

/* A small text file of DIRFD (no symlink, no FIFO, at most MAX - 1 bytes)
 * into BUF, NUL-terminated. 0 with *MISSING set if it does not exist. */
static int
read_small (int dirfd, const char *name, char *buf, size_t max, bool *missing, uc_error_t *err)
{
  const void *data;
  uc_error_t e = NULL;
  size_t len;

  *missing = false;
  if (uc_file_map (dirfd, name, max - 1, &data, &len, &e) < 0)
    {
      *missing = e->status == ENOENT;
      if (*missing)
        {
          uc_error_release (&e);
          return 0;
        }
      uc_make_error (err, 0, "read %s: %s", name, e->msg);
      uc_error_release (&e);
      return -1;
    }
  memcpy (buf, data, len);
  buf[len] = '\0';
  uc_file_unmap (data, len);
  return 0;
}

int
uc_journal_read (int dirfd, enum uc_journal *j, char id[UC_DUMP_ID_LEN], uc_error_t *err)
{
  char buf[160], state[32] = "", tail[2];
  bool missing;

  *j = UC_JOURNAL_NONE;
  id[0] = '\0';
  if (read_small (dirfd, UC_JOURNAL_NAME, buf, sizeof (buf), &missing, err) < 0)
    return -1;
  if (missing)
    return 0;
  if (sscanf (buf, "%31s %63s %1s", state, id, tail) != 2 || ! uc_dump_id_valid (id))
    {
      id[0] = '\0';
      return uc_make_error (err, 0, "%s: not `STATE DUMP-ID`", UC_JOURNAL_NAME);
    }
  for (int i = UC_JOURNAL_CAPTURED; i <= UC_JOURNAL_RETURNED; i++)
    if (strcmp (state, names[i]) == 0)
      {
        *j = i;
        return 0;
      }
  id[0] = '\0';
  return uc_make_error (err, 0, "%s: unknown state", UC_JOURNAL_NAME);
}

/* NAME in DIRFD replaced atomically by LINE. */
static int
write_small (int dirfd, const char *name, const char *line, uc_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  size_t len = strlen (line);

  if (asprintf (&tmp, "%s.tmp", name) < 0)
    abort ();
  fd = uc_create_excl (dirfd, tmp, err);
  if (fd < 0)
    return -1;
  if (write (fd, line, len) != (ssize_t) len || fsync (fd) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return uc_make_error (err, e, "write %s", tmp);
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    return uc_make_error (err, errno, "rename %s", tmp);
  if (fsync (dirfd) < 0)
    return uc_make_error (err, errno, "fsync the directory of %s", name);
  return 0;
}

int
uc_journal_write (int dirfd, enum uc_journal j, const char *id, uc_error_t *err)
{
  char line[128];

  if (! uc_dump_id_valid (id))
    return uc_make_error (err, 0, "invalid dump id");
  snprintf (line, sizeof (line), "%s %s\n", uc_journal_str (j), id);
  return write_small (dirfd, UC_JOURNAL_NAME, line, err);
}

void
uc_dump_id (const char *image_dir, char id[UC_DUMP_ID_LEN])
{
  int pid = 0, n;

  if (image_dir == NULL || sscanf (image_dir, "/proc/%d/fd/%d", &pid, &n) != 2 || pid <= 0)
    pid = getppid ();
  snprintf (id, UC_DUMP_ID_LEN, "criu-%d-%llu", pid, uc_proc_start_time (pid));
}

/* ------------------------------------------------------- restore marker */

static void
restore_id (pid_t init, char id[UC_DUMP_ID_LEN])
{
  snprintf (id, UC_DUMP_ID_LEN, "restored-%d-%llu", init, uc_proc_start_time (init));
}

int
uc_restored_check (int dirfd, pid_t init, bool *done, uc_error_t *err)
{
  char buf[4096], id[UC_DUMP_ID_LEN], *save = NULL;
  bool missing;

  *done = false;
  if (read_small (dirfd, UC_RESTORED_NAME, buf, sizeof (buf), &missing, err) < 0)
    return -1;
  if (missing)
    return 0;
  restore_id (init, id);
  for (char *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (strcmp (l, id) == 0)
      *done = true;
  return 0;
}

int
uc_restored_mark (int dirfd, pid_t init, uc_error_t *err)
{
  char buf[4096], id[UC_DUMP_ID_LEN];
  cleanup_free char *all = NULL;
  bool missing;
  size_t keep;

  if (read_small (dirfd, UC_RESTORED_NAME, buf, sizeof (buf), &missing, err) < 0)
    {
      uc_error_release (err);
      buf[0] = '\0';
    }
  if (missing)
    buf[0] = '\0';
  restore_id (init, id);
  /* the last restores only: the file stays small */
  keep = strlen (buf);
  while (keep > sizeof (buf) - 2 * UC_DUMP_ID_LEN)
    {
      char *nl = strchr (buf, '\n');
      if (nl == NULL)
        {
          buf[0] = '\0';
          break;
        }
      memmove (buf, nl + 1, strlen (nl + 1) + 1);
      keep = strlen (buf);
    }
  if (asprintf (&all, "%s%s\n", buf, id) < 0)
    abort ();
  return write_small (dirfd, UC_RESTORED_NAME, all, err);
}
