// SPDX-License-Identifier: GPL-2.0-or-later
#include "criuimg.h"

#include <stdbool.h>
#include <stdio.h>
#include "image.h"

/* One protobuf field: number, wire type, and its value (varint) or its
 * bytes (length-delimited). Returns false at the end or on bad framing. */
struct field
{
  uint32_t num, wt;
  uint64_t v;
  const uint8_t *p;
  size_t len;
};

static bool
varint (const uint8_t **p, const uint8_t *end, uint64_t *v)
{
  *v = 0;
  for (int s = 0; s < 64 && *p < end; s += 7)
    {
      uint8_t c = *(*p)++;
      *v |= (uint64_t) (c & 0x7f) << s;
      if (! (c & 0x80))
        return true;
    }
  return false;
}

static bool
next_field (const uint8_t **p, const uint8_t *end, struct field *f, bool *bad)
{
  uint64_t key;

  *bad = false;
  if (*p >= end)
    return false;
  if (! varint (p, end, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
    return ! (*bad = true);
  f->num = (uint32_t) (key >> 3);
  f->wt = key & 7;
  switch (f->wt)
    {
    case 0:
      if (! varint (p, end, &f->v))
        return ! (*bad = true);
      return true;
    case 1:
    case 5:
      if ((size_t) (end - *p) < (f->wt == 1 ? 8u : 4u))
        return ! (*bad = true);
      *p += f->wt == 1 ? 8 : 4;
      return true;
    case 2:
      if (! varint (p, end, &f->v) || f->v > (uint64_t) (end - *p))
        return ! (*bad = true);
      f->p = *p;
      f->len = (size_t) f->v;
      *p += f->len;
      return true;
    default:
      return ! (*bad = true);
    }
}

/* The length-delimited field NUM of a message (the last one, as protobuf
 * merges), or NULL. */
static const uint8_t *
submessage (const uint8_t *p, size_t len, uint32_t num, size_t *out_len, bool *bad)
{
  const uint8_t *end = p + len, *found = NULL;
  struct field f;

  while (next_field (&p, end, &f, bad))
    if (f.num == num && f.wt == 2)
      {
        found = f.p;
        *out_len = f.len;
      }
  return *bad ? NULL : found;
}

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
  struct field f;
  bool bad = false;

  *eff = 0;
  if (len < 12 || get_u32le (data) != UC_CRIU_IMG_MAGIC || get_u32le (data + 4) != UC_CRIU_CORE_MAGIC)
    return uc_make_error (err, 0, "not a CRIU core image");
  size = get_u32le (data + 8);
  if (size > len - 12)
    return uc_make_error (err, 0, "CRIU core image: truncated entry");
  core = data + 12;
  tc = submessage (core, size, 5, &tcl, &bad);
  creds = tc ? submessage (tc, tcl, 10, &crl, &bad) : NULL;
  if (creds == NULL)
    return uc_make_error (err, 0, "CRIU core image: %s", bad ? "malformed" : "no credentials");
  /* cap_eff: repeated uint32, unpacked (one varint per word) or packed */
  for (p = creds, end = creds + crl; next_field (&p, end, &f, &bad);)
    {
      if (f.num != 11)
        continue;
      if (f.wt == 0 && words < 2)
        *eff |= (f.v & 0xffffffffull) << (32 * words++);
      else if (f.wt == 2)
        for (const uint8_t *q = f.p, *qe = f.p + f.len; q < qe && words < 2;)
          {
            uint64_t w;
            if (! varint (&q, qe, &w))
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
