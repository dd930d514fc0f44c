// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the capture decoder (a captured datagram as the BPF
 * program copied it, and the iterator's record of its socket), then the
 * validator and the control-message builder on the entry it makes. Input:
 * a struct uc_sock_rec, the slot's length and mark, then the packet. */
#include "consume.h"
#include "validate.h"
#include "xalloc.h"

#include <stdint.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static struct uc_slot s;
  struct uc_sock_rec r;
  struct uc_sockview v = { .tos = -1 };
  struct uc_cmsgs c;
  uc_error_t err = NULL;
  UcDgram *d;

  if (size < sizeof (r) + 4)
    return 0;
  memcpy (&r, data, sizeof (r));
  data += sizeof (r);
  size -= sizeof (r);
  memset (&s, 0, offsetof (struct uc_slot, data));
  s.mark = data[0] | data[1] << 8;
  s.priority = data[2];
  s.tstamp = data[3];
  data += 4;
  size -= 4;
  if (size > UC_MAX_DGRAM)
    size = UC_MAX_DGRAM;
  memcpy (s.data, data, size);
  s.len = (uint32_t) size;
  if (r.cork_optlen > 40)
    r.cork_optlen = 40; /* the iterator clamps it */
  d = uc_dgram_new (&r, 1, 3, UC_CORK_MODE__UC_CORK_SOCKOPT, 1);
  if (uc_capture_decode (&s, s.data, &r, d) == NULL && uc_validate_dgram (d, "fuzz", &err) == 0)
    {
      uc_cmsg_build (d, &v, &c);
      if (c.len > UC_CMSG_SPACE)
        abort ();
    }
  uc_error_release (&err);
  protobuf_c_message_free_unpacked (&d->base, NULL);
  return 0;
}
