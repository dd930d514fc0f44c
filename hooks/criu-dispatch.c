// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-criu: the CRIU action script of udpcork. CRIU runs every action
 * script at every action (nine per dump and restore); this small static
 * program ends at once for the actions udpcork has no business with and
 * executes udpcork-prestop (network-lock, post-dump, network-unlock) or
 * udpcork-poststart (post-restore), found next to it, for the others,
 * telling them when the action started (UDPCORK_ACTION_T0, CLOCK_MONOTONIC
 * ns): the times they log include the exec and the loading of libraries. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  static const char *const prestop[] = { "network-lock", "post-dump", "network-unlock" };
  const char *action = getenv ("CRTOOLS_SCRIPT_ACTION"), *hook = NULL, *slash;
  char self[PATH_MAX], path[PATH_MAX + 32], t0[32];
  struct timespec ts;
  ssize_t n;

  clock_gettime (CLOCK_MONOTONIC, &ts);

  if (action == NULL)
    {
      fprintf (stderr, "udpcork-criu: not run by CRIU (no CRTOOLS_SCRIPT_ACTION); use udpcork-prestop or "
                       "udpcork-poststart\n");
      return 2;
    }
  for (size_t i = 0; i < sizeof (prestop) / sizeof (*prestop); i++)
    if (strcmp (action, prestop[i]) == 0)
      hook = "udpcork-prestop";
  if (strcmp (action, "post-restore") == 0)
    hook = "udpcork-poststart";
  if (hook == NULL)
    return 0;
  n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  if (n < 0)
    {
      fprintf (stderr, "udpcork-criu: %s: readlink /proc/self/exe: %s\n", action, strerror (errno));
      return 1;
    }
  self[n] = '\0';
  slash = strrchr (self, '/');
  snprintf (path, sizeof (path), "%.*s/%s", slash ? (int) (slash - self) : 0, self, hook);
  argv[0] = path;
  snprintf (t0, sizeof (t0), "%lld", (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
  setenv ("UDPCORK_ACTION_T0", t0, 1);
  execv (path, argv);
  fprintf (stderr, "udpcork-criu: %s: cannot run %s: %s\n", action, path, strerror (errno));
  (void) argc;
  return 1;
}
