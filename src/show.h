/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `udpcork` command line tool: inspect saved images. */
#ifndef UDPCORK_SHOW_H
#define UDPCORK_SHOW_H

/* main () of `udpcork`: returns the exit status. */
int uc_show_main (int argc, char **argv);

/* udpcork recover (in the kernel-side objects). */
int uc_recover_main (int argc, char **argv);

#endif
