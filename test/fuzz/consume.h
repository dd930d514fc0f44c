/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the consumers of a validated image do with it, without system
 * calls: the control messages of every pending datagram (for a socket state
 * drawn from SEED), its destination, the raw packet of every unread
 * datagram, the table and the JSON. Shared by the fuzz targets; any
 * out-of-bounds access is ASan's to report. */
#ifndef UDPCORK_FUZZ_CONSUME_H
#define UDPCORK_FUZZ_CONSUME_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

/* Where fuzz_mapped_same writes its input (removed at exit). */
static char fuzz_dir[] = "/tmp/uc-fuzz-XXXXXX";

static void
fuzz_dir_remove (void)
{
  char path[sizeof (fuzz_dir) + 32];

  snprintf (path, sizeof (path), "%s/%s", fuzz_dir, UC_LOG_NAME);
  unlink (path);
  snprintf (path, sizeof (path), "%s/fuzz.img", fuzz_dir);
  unlink (path);
  rmdir (fuzz_dir);
}

/* The same bytes read the way the hooks read them, from a file mapped
 * read-only whose payloads are used in place (uc_image_read,
 * uc_image_read_log): the outcome and every payload must equal those of the
 * in-memory parse REF (accepted: REF_OK), and dropping each payload's
 * pages as re-injection does stays in bounds. */
static __attribute__ ((unused)) void
fuzz_mapped_same (const uint8_t *data, size_t size, bool log, const struct uc_image *ref, bool ref_ok)
{
  static int dirfd = -1;
  struct uc_image img;
  uc_error_t err = NULL;
  const char *name = log ? UC_LOG_NAME : "fuzz.img";
  bool torn = false;
  int fd, ret;

  if (dirfd < 0)
    {
      if (mkdtemp (fuzz_dir) == NULL || (dirfd = open (fuzz_dir, O_RDONLY | O_DIRECTORY)) < 0)
        abort ();
      atexit (fuzz_dir_remove);
    }
  fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || (size && write (fd, data, size) != (ssize_t) size) || close (fd) < 0)
    abort ();
  ret = log ? uc_image_read_log (dirfd, &img, &torn, &err) : uc_image_read (dirfd, name, &img, &err);
  if ((ret == 0) != ref_ok)
    abort (); /* mapped and in-memory readers disagree */
  if (ret < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort ();
      uc_error_release (&err);
      return;
    }
  if (img.n_dgrams != ref->n_dgrams || img.n_rxdgrams != ref->n_rxdgrams)
    abort ();
  for (size_t i = 0; i < img.n_dgrams; i++)
    {
      const ProtobufCBinaryData *a = &img.dgrams[i]->payload, *b = &ref->dgrams[i]->payload;
      if (a->len != b->len || (a->len && memcmp (a->data, b->data, a->len) != 0))
        abort (); /* a payload borrowed from the mapping is not the one protobuf-c read */
      uc_image_drop (&img, img.dgrams[i]);
    }
  uc_image_free (&img);
}

#endif
