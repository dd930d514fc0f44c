/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the consumers of a validated image do with it, without system
 * calls: the control messages of every pending datagram (for a socket state
 * drawn from SEED), its destination, the raw packet of every unread
 * datagram, the table and the JSON. Shared by the fuzz targets; any
 * out-of-bounds access is ASan's to report. */
#ifndef UDPCORK_FUZZ_CONSUME_H
#define UDPCORK_FUZZ_CONSUME_H

#include <stdio.h>
#include <stdlib.h>
#include "cmsg.h"
#include "image.h"
#include "packet.h"
#include "show.h"

static void
fuzz_consume (const struct uc_image *img, uint32_t seed)
{
  static FILE *devnull;
  static uint8_t pkt[65535 + 40];
  uc_error_t err = NULL;

  if (devnull == NULL && (devnull = fopen ("/dev/null", "w")) == NULL)
    abort ();
  for (size_t i = 0; i < img->n_dgrams; i++)
    {
      struct uc_sockview v = { .priority = seed & 7,
                               .tos = (int) (seed >> 3) & 0xff,
                               .mark = seed >> 11 & 1,
                               .bound_ifindex = seed >> 12 & 3,
                               .udp_segment = seed >> 14 & 1,
                               .txtime = seed >> 15 & 1,
                               .flowinfo_send = seed >> 16 & 1,
                               .src_usable = seed >> 17 & 1,
                               .oif_exists = seed >> 18 & 1 };
      struct sockaddr_storage ss;
      struct uc_cmsgs c;

      uc_cmsg_build (img->dgrams[i], &v, &c);
      if (c.len > UC_CMSG_SPACE)
        abort ();
      uc_cmsg_dest (img->dgrams[i], &v, &ss);
    }
  for (size_t i = 0; i < img->n_rxdgrams; i++)
    {
      const UcRxdgram *r = img->rxdgrams[i];
      size_t n = uc_rx_packet (pkt, sizeof (pkt), r, r->dst_addr.data, img->rxsocks[r->sock]->local_port);
      if (n == 0 || n > sizeof (pkt))
        abort (); /* a validated datagram always fits */
    }
  if (uc_image_print (devnull, img, false, &err) < 0)
    uc_error_release (&err);
  if (uc_image_print (devnull, img, true, &err) < 0)
    uc_error_release (&err);
}

#endif
