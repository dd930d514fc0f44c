// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the udpcork.img reader (framing + validation) and, for
 * images it accepts, every consumer without system calls (control
 * messages, raw packets, table, JSON); the same bytes read from a mapped
 * file, payloads used in place; and the CRIU core-image reader.
 * Build and run with `make fuzz`. */
#include "consume.h"
#include "criuimg.h"

#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct uc_image img;
  uc_error_t err = NULL;
  uint64_t caps;

  /* the same bytes as a CRIU core image (the capabilities udpcork reads
   * from CRIU's images at post-restore) */
  if (uc_criu_core_caps (data, size, &caps, &err) < 0)
    uc_error_release (&err);
  if (uc_image_parse (data, size, "fuzz", &img, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort (); /* a failure must say why */
      uc_error_release (&err);
      fuzz_mapped_same (data, size, false, NULL, false);
      return 0;
    }
  fuzz_mapped_same (data, size, false, &img, true);
  if (img.head == NULL || img.n_dgrams != img.head->n_dgrams || (img.n_dgrams && img.dgrams == NULL)
      || img.n_rxsocks != img.head->n_rxsocks || img.n_rxdgrams != img.head->n_rxdgrams)
    abort (); /* promised by a successful parse */
  fuzz_consume (&img, size > 8 ? data[size - 1] | data[size / 2] << 8 | (uint32_t) data[8] << 16 : 0);
  uc_image_free (&img);
  return 0;
}
