// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork recover --pid PID DIR */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "imgdir.h"
#include "log.h"
#include "recover.h"
#include "show.h"
#include "xalloc.h"

int
uc_recover_main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "pid", required_argument, NULL, 'p' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct uc_container c = UC_CONTAINER_INIT;
  uc_error_t err = NULL;
  bool found = false;
  cleanup_close int dirfd = -1;
  int opt, pid = 0, verbose = 0, ret;

  while ((opt = getopt_long (argc, argv, "p:vh", opts, NULL)) != -1)
    switch (opt)
      {
      case 'p':
        pid = atoi (optarg);
        break;
      case 'v':
        verbose = 1;
        break;
      case 'h':
        printf ("Usage: udpcork recover --pid PID [-v] DIR\n"
                "Give the datagrams that a dump into DIR took out of the container whose\n"
                "init is PID (host pid) back to its sockets, exactly once.\n");
        return 0;
      default:
        return 2;
      }
  if (optind != argc - 1 || pid <= 0)
    {
      fprintf (stderr, "udpcork recover: expected --pid PID and one DIR\n");
      return 2;
    }
  uc_log_init ("udpcork", verbose);
  /* the same checks as a hook's --image-dir: no link, root's, not writable by others */
  dirfd = uc_imgdir_open_given (argv[optind], &err);
  if (dirfd < 0)
    ret = -1;
  else
    ret = uc_container_open (pid, &c, &err);
  if (ret == 0)
    ret = uc_recover (&c, dirfd, NULL, "recover", &found, &err);
  if (ret == 0 && ! found)
    printf ("nothing to recover in %s: no datagram is held only there\n", argv[optind]);
  if (ret < 0)
    uc_log_error (&err);
  uc_container_close (&c);
  return ret < 0 ? 1 : 0;
}
