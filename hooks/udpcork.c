// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork: inspect the datagrams saved at checkpoint; recover them by hand. */
#include <string.h>
#include "show.h"

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "recover") == 0)
    return uc_recover_main (argc - 1, argv + 1);
  return uc_show_main (argc, argv);
}
