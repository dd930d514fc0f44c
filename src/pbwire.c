// SPDX-License-Identifier: GPL-2.0-or-later
/* A protobuf wire-format scanner: varints and field by field iteration
 * (src/criuimg.c walks CRIU's images with it, src/image_read.c finds the
 * payload of a datagram in its packed bytes). */
#include "pbwire.h"

bool
uc_pb_varint (const uint8_t **p, const uint8_t *end, uint64_t *v)
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

bool
uc_pb_next (const uint8_t **p, const uint8_t *end, struct uc_pb_field *f, bool *bad)
{
  uint64_t key;

  *bad = false;
  if (*p >= end)
    return false;
  if (! uc_pb_varint (p, end, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
    return ! (*bad = true);
  f->num = (uint32_t) (key >> 3);
  f->wt = key & 7;
  switch (f->wt)
    {
    case 0: /* varint */
      if (! uc_pb_varint (p, end, &f->v))
        return ! (*bad = true);
      return true;
    case 1: /* 64-bit */
    case 5: /* 32-bit */
      if ((size_t) (end - *p) < (f->wt == 1 ? 8u : 4u))
        return ! (*bad = true);
      *p += f->wt == 1 ? 8 : 4;
      return true;
    case 2: /* length-delimited */
      if (! uc_pb_varint (p, end, &f->v) || f->v > (uint64_t) (end - *p))
        return ! (*bad = true);
      f->p = *p;
      f->len = (size_t) f->v;
      *p += f->len;
      return true;
    default: /* groups (3, 4), unknown types */
      return ! (*bad = true);
    }
}

const uint8_t *
uc_pb_find_bytes (const uint8_t *p, size_t len, uint32_t num, size_t *out_len, bool *bad)
{
  const uint8_t *end = p + len, *found = NULL;
  struct uc_pb_field f;

  while (uc_pb_next (&p, end, &f, bad))
    if (f.num == num && f.wt == 2)
      {
        found = f.p;
        *out_len = f.len;
      }
  return *bad ? NULL : found;
}
