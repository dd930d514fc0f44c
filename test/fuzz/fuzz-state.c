// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the OCI state JSON reader (uc_state_parse_json) and the
 * config.json annotations reader (uc_annotations_from_config, through
 * a memfd so that no file is written).  Build and run with `make fuzz`. */
#include "state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void
use_state (const struct uc_state *st)
{
  size_t i;

  /* Touch every string the parser handed out. */
  for (i = 0; i < st->ann.n; i++)
    if (uc_annotation (&st->ann, st->ann.keys[i]) == NULL || strlen (st->ann.values[i]) > SIZE_MAX / 2)
      abort ();
  (void) uc_annotations_opt_out (&st->ann);
  (void) uc_annotation (&st->ann, UC_ANNOTATION_IMAGE_DIR);
  if (st->id == NULL || st->id[0] == '\0' || st->oci_version == NULL || st->status == NULL)
    abort (); /* promised by a successful parse */
  if (st->pid < 0 || st->pid > UC_PID_MAX)
    abort ();
  (void) uc_action_name (st->action);
}

static void
fuzz_config (const uint8_t *data, size_t size)
{
  static int fd = -1;
  char path[64];
  struct uc_annotations a = { 0 };
  uc_error_t err = NULL;

  if (fd < 0)
    {
      fd = memfd_create ("fuzz-config", 0);
      if (fd < 0)
        abort ();
    }
  if (ftruncate (fd, 0) < 0 || pwrite (fd, data, size, 0) != (ssize_t) size)
    abort ();
  snprintf (path, sizeof (path), "/proc/self/fd/%d", fd);
  if (uc_annotations_from_config (&a, path, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || a.n != 0)
        abort ();
      uc_error_release (&err);
    }
  else
    (void) uc_annotations_opt_out (&a);
  uc_annotations_free (&a);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct uc_state st;
  uc_error_t err = NULL;

  if (size > UC_STATE_MAX_JSON)
    return 0;
  if (uc_state_parse_json ((const char *) data, size, &st, &err) == 0)
    {
      use_state (&st);
      uc_state_free (&st);
    }
  else
    {
      if (err == NULL || err->msg == NULL)
        abort (); /* a failure must say why */
      uc_error_release (&err);
    }
  fuzz_config (data, size);
  return 0;
}
