// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the capture-log reader (udpcork.capture: entries up
 * to the end, a torn last one dropped), in memory and from a mapped file,
 * then the consumers of what it accepts. */
#include "consume.h"

#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct uc_image img;
  uc_error_t err = NULL;
  bool torn;

  if (uc_image_parse_log (data, size, &img, &torn, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort ();
      uc_error_release (&err);
      fuzz_mapped_same (data, size, true, NULL, false);
      return 0;
    }
  fuzz_mapped_same (data, size, true, &img, true);
  if (img.head == NULL || img.n_rxsocks || img.n_rxdgrams)
    abort ();
  fuzz_consume (&img, size > 8 ? data[size - 1] | data[size / 2] << 8 : 0);
  uc_image_free (&img);
  return 0;
}
