// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the checkpoint-archive reader (libarchive in
 * process: tar, gzip, zstd, xz), then the image reader and consumers on
 * the member it finds. */
#include "archive_image.h"
#include "consume.h"

#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct uc_image img;
  uc_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;

  if (uc_archive_read_image_mem (data, size, "fuzz", &buf, &len, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || buf != NULL)
        abort ();
      uc_error_release (&err);
      return 0;
    }
  if (uc_image_parse (buf, len, "fuzz", &img, &err) == 0)
    {
      fuzz_consume (&img, (uint32_t) len);
      uc_image_free (&img);
    }
  uc_error_release (&err);
  free (buf);
  return 0;
}
