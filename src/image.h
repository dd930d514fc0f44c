/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The saved-queue image udpcork.img in a CRIU image directory.
 *
 * Layout (see udpcork.proto): u32 magic, u32 version, then entries of a
 * u32 size (little endian) plus that many bytes of protobuf: one UcHead,
 * then exactly head->n_dgrams UcDgram. */
#ifndef UDPCORK_IMAGE_H
#define UDPCORK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "error.h"
#include "udpcork.pb-c.h"

#define UC_IMG_NAME "udpcork.img"
#define UC_IMG_MAGIC 0x4b435055u    /* "UPCK" little endian */
#define UC_IMG_VERSION 1u
#define UC_IMG_MAX_ENTRY (1u << 20) /* bytes in one protobuf entry */
#define UC_IMG_MAX_FILE (1ull << 30) /* bytes in the whole image */

struct uc_image
{
  UcHead *head;
  size_t n_dgrams;
  UcDgram **dgrams;
  size_t n_rxsocks;
  UcRxsock **rxsocks;
  size_t n_rxdgrams;
  UcRxdgram **rxdgrams;
};

/* Write NAME in DIRFD (AT_FDCWD allowed) atomically, mode 0600, through
 * "NAME.tmp" + fsync + rename + fsync of the directory.  Sets
 * head->version = UC_IMG_VERSION and head->n_dgrams = N.  On failure the tmp
 * file is removed and the error names the file. */
int uc_image_write (int dirfd, const char *name, UcHead *head, UcDgram *const *dgrams, size_t n, uc_error_t *err);
/* The same with receive queues: IMG->head's counts are set from IMG. */
int uc_image_write_all (int dirfd, const char *name, struct uc_image *img, uc_error_t *err);

/* Read and validate NAME in DIRFD.  Returns 0 and fills *IMG (free with
 * uc_image_free), or -1 with *ERR; (*err)->status is ENOENT if the file does
 * not exist.  Symlinks, non-regular files and files over UC_IMG_MAX_FILE are
 * refused. */
int uc_image_read (int dirfd, const char *name, struct uc_image *img, uc_error_t *err);

/* The capture log, udpcork.capture: the same framing, written while
 * datagrams are taken out of the kernel, one fsynced entry per socket, so
 * that a killed udpcork-prestop leaves every datagram it took on disk. Its
 * head has n_dgrams 0: the entries run to the end of the file. */
#define UC_LOG_NAME "udpcork.capture"
struct uc_image_log
{
  int dirfd, fd;
  size_t n;
};
int uc_image_log_open (int dirfd, UcHead *head, struct uc_image_log *l, uc_error_t *err);
int uc_image_log_append (struct uc_image_log *l, const UcDgram *d, uc_error_t *err);
/* Close; and remove the file if REMOVE. */
void uc_image_log_close (struct uc_image_log *l, bool remove);
/* Read a capture log: its head and every complete entry; a last entry cut
 * short by a kill is dropped (*TORN says so). */
int uc_image_read_log (int dirfd, struct uc_image *img, bool *torn, uc_error_t *err);

/* The same checks on an image already in memory (NAME is for messages). */
int uc_image_parse (const void *data, size_t len, const char *name, struct uc_image *img, uc_error_t *err);

/* Fill a protobuf bytes field with a malloc'ed copy of LEN bytes (an empty
 * field gets a 1-byte buffer). -1 on ENOMEM. */
int uc_img_bytes (ProtobufCBinaryData *b, const void *data, size_t len);

/* Free what *IMG owns and zero it; safe on a zeroed struct. */
void uc_image_free (struct uc_image *img);

/* Print *IMG as a table (PID FD FAMILY LOCAL DESTINATION MODE BYTES TTL TOS
 * SHA256, the digest cut to 12 hex digits) or as JSON. */
int uc_image_print (FILE *out, const struct uc_image *img, bool json, uc_error_t *err);

#endif
