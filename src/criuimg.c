// SPDX-License-Identifier: GPL-2.0-or-later
#include "criuimg.h"

#include <stdbool.h>
#include <stdio.h>
#include "fileio.h"
#include "pbwire.h"

static uint32_t
get_u32le (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

int
uc_criu_core_caps (const uint8_t *data, size_t len, uint64_t *eff, uc_error_t *err)
{
  const uint8_t *core, *tc, *creds, *p, *end;
  size_t size, tcl = 0, crl = 0;
  unsigned words = 0;
  struct uc_pb_field f;
  bool bad = false;

  *eff = 0;
  if (len < 12 || get_u32le (data) != UC_CRIU_IMG_MAGIC || get_u32le (data + 4) != UC_CRIU_CORE_MAGIC)
    return uc_make_error (err, 0, "not a CRIU core image");
  size = get_u32le (data + 8);
  if (size > len - 12)
    return uc_make_error (err, 0, "CRIU core image: truncated entry");
  core = data + 12;
  tc = uc_pb_find_bytes (core, size, 5, &tcl, &bad);
  creds = tc ? uc_pb_find_bytes (tc, tcl, 10, &crl, &bad) : NULL;
  if (creds == NULL)
    return uc_make_error (err, 0, "CRIU core image: %s", bad ? "malformed" : "no credentials");
  /* cap_eff: repeated uint32, unpacked (one varint per word) or packed */
  for (p = creds, end = creds + crl; uc_pb_next (&p, end, &f, &bad);)
    {
      if (f.num != 11)
        continue;
      if (f.wt == 0 && words < 2)
        *eff |= (f.v & 0xffffffffull) << (32 * words++);
      else if (f.wt == 2)
        for (const uint8_t *q = f.p, *qe = f.p + f.len; q < qe && words < 2;)
          {
            uint64_t w;
            if (! uc_pb_varint (&q, qe, &w))
              return uc_make_error (err, 0, "CRIU core image: malformed capabilities");
            *eff |= (w & 0xffffffffull) << (32 * words++);
          }
    }
  if (bad)
    return uc_make_error (err, 0, "CRIU core image: malformed credentials");
  return 0;
}

int
uc_criu_task_caps (int dirfd, pid_t pid, uint64_t *eff, uc_error_t *err)
{
  char name[64];
  const void *data;
  size_t len;
  int ret;

  snprintf (name, sizeof (name), "core-%d.img", pid);
  if (uc_file_map (dirfd, name, 16u << 20, &data, &len, err) < 0)
    return uc_error_wrap (err, "CRIU image %s", name);
  ret = uc_criu_core_caps (data, len, eff, err);
  uc_file_unmap (data, len);
  return ret < 0 ? uc_error_wrap (err, "%s", name) : 0;
}
