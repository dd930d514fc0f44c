// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-poststart: after CRIU restores a container, put its saved
 * corked UDP datagrams back, pending exactly as they were. */
#include "hooks.h"

int
main (int argc, char **argv)
{
  return uc_hook_main (argc, argv, &uc_poststart_hook);
}
