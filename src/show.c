// SPDX-License-Identifier: GPL-2.0-or-later
#include "show.h"
#include "archive.h"
#include "image.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: udpcork show [--json] DIR|ARCHIVE\n"
                "       udpcork recover --pid PID [-v] DIR\n"
                "       udpcork --help | --version\n"
                "\n"
                "Print the corked UDP datagrams saved in DIR/" UC_IMG_NAME ",\n"
                "DIR being a CRIU checkpoint image directory, or in a checkpoint\n"
                "archive (podman container checkpoint --export: .tar, .tar.gz, .tar.zst).\n"
                "\n"
                "recover: give the datagrams a dump took out of the container whose init\n"
                "is PID back to its sockets, exactly once (after udpcork-prestop or CRIU\n"
                "was killed during a checkpoint).\n"
                "\n"
                "  -j, --json     print JSON instead of a table\n"
                "  -h, --help     show this help\n"
                "  -V, --version  show the version\n");
}

/* Exit status: 0 also when DIR holds no image (nothing was saved). */
static int
show_dir (const char *dir, bool json)
{
  struct uc_image img = { 0 };
  uc_error_t err = NULL;
  struct stat st;
  int dirfd, ret;

  if (stat (dir, &st) == 0 && S_ISREG (st.st_mode))
    {
      char *buf = NULL;
      size_t len = 0;
      ret = uc_archive_read_image (dir, &buf, &len, &err);
      if (ret == 0)
        ret = uc_image_parse (buf, len, UC_IMG_NAME, &img, &err);
      free (buf);
    }
  else
    {
      dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        {
          uc_make_error (&err, errno, "open directory `%s`", dir);
          uc_log_error (&err);
          return 1;
        }
      ret = uc_image_read (dirfd, UC_IMG_NAME, &img, &err);
      close (dirfd);
    }
  if (ret < 0 && err && err->status == ENOENT)
    {
      uc_error_release (&err);
      printf ("no " UC_IMG_NAME " in %s: nothing was saved\n", dir);
      return 0;
    }
  if (ret == 0)
    ret = uc_image_print (stdout, &img, json, &err);
  uc_image_free (&img);
  if (ret < 0)
    {
      uc_error_wrap (&err, "%s", dir);
      uc_log_error (&err);
      return 1;
    }
  return 0;
}

/* Returns an exit status to end with, or -1 to go on. */
static int
parse_opts (int argc, char **argv, const char *shortopts, bool *json)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  while ((c = getopt_long (argc, argv, shortopts, opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        *json = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      case 'V':
        printf ("udpcork " UDPCORK_VERSION "\n");
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  return -1;
}

int
uc_show_main (int argc, char **argv)
{
  bool json = false;
  int c;

  uc_log_init ("udpcork", 0);
  /* Options before the command word ("+": stop there), then after it. */
  c = parse_opts (argc, argv, "+jhV", &json);
  if (c >= 0)
    return c;
  if (optind >= argc)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[optind], "show") != 0)
    {
      fprintf (stderr, "udpcork: unknown command `%s`\n", argv[optind]);
      usage (stderr);
      return 2;
    }
  argc -= optind;
  argv += optind;
  optind = 0; /* full re-initialisation of getopt */
  c = parse_opts (argc, argv, "jh", &json);
  if (c >= 0)
    return c;
  if (optind != argc - 1)
    {
      fprintf (stderr, "udpcork show: expected exactly one DIR or ARCHIVE\n");
      usage (stderr);
      return 2;
    }
  return show_dir (argv[optind], json);
}
