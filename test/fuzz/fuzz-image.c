// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the udpcork.img reader (uc_image_parse) and, for images
 * it accepts, both printers (table and JSON) into /dev/null.  Build and run
 * with `make fuzz`. */
#include "image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static FILE *devnull;
  struct uc_image img;
  uc_error_t err = NULL;

  if (devnull == NULL && (devnull = fopen ("/dev/null", "w")) == NULL)
    abort ();
  if (uc_image_parse (data, size, "fuzz", &img, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort (); /* a failure must say why */
      uc_error_release (&err);
      return 0;
    }
  if (img.head == NULL || img.n_dgrams != img.head->n_dgrams || (img.n_dgrams && img.dgrams == NULL)
      || img.n_rxsocks != img.head->n_rxsocks || img.n_rxdgrams != img.head->n_rxdgrams)
    abort (); /* promised by a successful parse */
  if (uc_image_print (devnull, &img, false, &err) < 0)
    uc_error_release (&err);
  if (uc_image_print (devnull, &img, true, &err) < 0)
    uc_error_release (&err);
  uc_image_free (&img);
  return 0;
}
