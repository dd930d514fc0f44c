// SPDX-License-Identifier: GPL-2.0-or-later
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "image.h"
#include "util.h"

/* Run tar with ARGV; its standard output into *OUT (at most MAX bytes). */
static int
run_tar (char *const argv[], size_t max, char **out, size_t *len, uc_error_t *err)
{
  int p[2], status, ret;
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return uc_make_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return uc_make_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      dup2 (p[1], STDOUT_FILENO);
      execvp (argv[0], argv);
      _exit (127);
    }
  close (p[1]);
  ret = uc_read_all (p[0], max, out, len, err);
  close (p[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (ret == 0 && (! WIFEXITED (status) || WEXITSTATUS (status) != 0))
    {
      free (*out);
      *out = NULL;
      ret = uc_make_error (err, 0, "`%s %s` failed (exit %d)", argv[0], argv[1],
                           WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
    }
  return ret;
}

/* The archive member that is udpcork's image, or NULL. */
static char *
find_member (char *list)
{
  for (char *save = NULL, *l = strtok_r (list, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      size_t n = strlen (l), k = strlen (UC_IMG_NAME);
      if (n >= k && strcmp (l + n - k, UC_IMG_NAME) == 0 && (n == k || l[n - k - 1] == '/'))
        return l;
    }
  return NULL;
}

int
uc_archive_read_image (const char *archive, char **buf, size_t *len, uc_error_t *err)
{
  char *list = NULL, *member;
  size_t list_len;
  int ret;

  {
    char *const argv[] = { "tar", "-t", "-f", (char *) archive, NULL };
    if (run_tar (argv, 64u << 20, &list, &list_len, err) < 0)
      return uc_error_wrap (err, "list archive `%s`", archive);
  }
  member = find_member (list);
  if (member == NULL)
    {
      free (list);
      return uc_make_error (err, ENOENT, "no %s in archive `%s`", UC_IMG_NAME, archive);
    }
  {
    char *const argv[] = { "tar", "-x", "-O", "-f", (char *) archive, member, NULL };
    ret = run_tar (argv, UC_IMG_MAX_FILE, buf, len, err);
  }
  if (ret < 0)
    uc_error_wrap (err, "extract %s from `%s`", member, archive);
  free (list);
  return ret;
}
