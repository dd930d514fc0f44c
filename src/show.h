/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `udpcork` command line tool: inspect saved images. */
#ifndef UDPCORK_SHOW_H
#define UDPCORK_SHOW_H

#include <stdbool.h>
#include <stdio.h>
#include "error.h"
#include "image.h"

/* Print *IMG as a table (PID FD FAMILY LOCAL DESTINATION MODE BYTES TTL TOS
 * SHA256, the digest cut to 12 hex digits) or as JSON. */
int uc_image_print (FILE *out, const struct uc_image *img, bool json, uc_error_t *err);

/* main () of `udpcork`: returns the exit status. */
int uc_show_main (int argc, char **argv);

/* udpcork recover (in the kernel-side objects). */
int uc_recover_main (int argc, char **argv);

#endif
