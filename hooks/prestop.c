// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-prestop: before CRIU dumps a container, take its corked UDP
 * datagrams out of the kernel (unsent) and save them in the image. */
#include "hooks.h"

int
main (int argc, char **argv)
{
  return uc_hook_main (argc, argv, "udpcork-prestop",
                       "Save the pending corked UDP datagrams of a container before CRIU dumps it.",
                       uc_prestop);
}
