// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-prestop: before CRIU dumps a container, take its corked UDP
 * datagrams out of the kernel (unsent) and save them in the image. */
#include "hooks.h"

int
main (int argc, char **argv)
{
  return uc_hook_main (argc, argv, &uc_prestop_hook);
}
