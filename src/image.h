/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image file format: udpcork.img in a CRIU image directory, and the
 * capture log udpcork.capture (the same framing).
 *
 * Layout (see udpcork.proto): u32 magic, u32 version, then entries of a
 * u32 size (little endian) plus that many bytes of protobuf: one UcHead,
 * then head->n_dgrams UcDgram (pending datagrams), head->n_rxsocks UcRxsock
 * (sockets with saved receive queues) and head->n_rxdgrams UcRxdgram (their
 * unread datagrams, in queue order). A capture log has a head with all
 * counts 0 and UcDgram entries up to the end of the file.
 *
 * Everything read here comes from outside (an imported archive, a
 * directory an annotation names): the readers check the framing, then the
 * meaning of every field (validate.h) before any consumer sees it. */
#ifndef UDPCORK_IMAGE_H
#define UDPCORK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"
#include "fileio.h" /* uc_file_map, uc_create_excl: declared here before */
#include "udpcork.pb-c.h"

#define UC_IMG_NAME "udpcork.img"
#define UC_LOG_NAME "udpcork.capture"
#define UC_IMG_MAGIC 0x4b435055u /* "UPCK" little endian */
#define UC_IMG_VERSION 1u
#define UC_IMG_MAX_ENTRY (1u << 20)  /* bytes in one protobuf entry */
#define UC_IMG_MAX_FILE (1ull << 30) /* bytes in the whole image */
/* Entries in one image or capture log (pending datagrams, receive-queue
 * sockets and their datagrams): what a hook holds unpacked stays within a
 * few hundred MiB whatever an image declares. A dump that would need more
 * is refused before any socket is touched. */
#define UC_IMG_MAX_ENTRIES (1u << 20)

struct uc_image
{
  UcHead *head;
  size_t n_dgrams;
  UcDgram **dgrams;
  size_t n_rxsocks;
  UcRxsock **rxsocks;
  size_t n_rxdgrams;
  UcRxdgram **rxdgrams;
  /* Read from a file (uc_image_read, uc_image_read_log): the file's
   * mapping, which the datagrams' payloads point into rather than being
   * copied (memory holds only the payloads in use: uc_image_drop). */
  const uint8_t *map;
  size_t map_len;
};

/* Write NAME in DIRFD atomically, mode 0600: an exclusively created
 * "NAME.tmp" (a stale one is removed first; whatever sits there is never
 * followed or truncated), fsync, rename, fsync of the directory. Sets the
 * head's version and counts from IMG. */
int uc_image_write (int dirfd, const char *name, struct uc_image *img, uc_error_t *err);

/* The same with the datagram entries of the capture log LOG, copied in
 * the kernel as they are (IMG holds no datagram). */
struct uc_image_log;
int uc_image_write_from_log (int dirfd, const char *name, struct uc_image *img, const struct uc_image_log *log,
                             uc_error_t *err);

/* Read NAME in DIRFD: framing, then semantic validation. Returns 0 and
 * fills *IMG (free with uc_image_free), or -1 with *ERR ((*err)->status is
 * ENOENT if the file does not exist). Symlinks, non-regular files and files
 * over UC_IMG_MAX_FILE are refused. */
int uc_image_read (int dirfd, const char *name, struct uc_image *img, uc_error_t *err);
/* The same on bytes in memory (NAME is for messages). */
int uc_image_parse (const void *data, size_t len, const char *name, struct uc_image *img, uc_error_t *err);

/* The capture log: written while datagrams are taken out of the kernel,
 * one entry per socket, appended before anything else happens to it. */
struct uc_image_log
{
  int dirfd, fd;
  size_t n;         /* entries appended */
  off_t start, end; /* where they lie in the file */
  uint8_t *buf;     /* each entry packed here, then written at once */
};
int uc_image_log_open (int dirfd, UcHead *head, struct uc_image_log *l, uc_error_t *err);
int uc_image_log_append (struct uc_image_log *l, const UcDgram *d, uc_error_t *err);
/* Close; and remove the file if REMOVE. */
void uc_image_log_close (struct uc_image_log *l, bool remove);
/* Read a capture log: its head and every complete entry, validated; a last
 * entry cut short by a kill is dropped (*TORN says so). */
int uc_image_read_log (int dirfd, struct uc_image *img, bool *torn, uc_error_t *err);
int uc_image_parse_log (const void *data, size_t len, struct uc_image *img, bool *torn, uc_error_t *err);

/* Framing only, no validation: for test tools that craft bad images. */
int uc_image_parse_unvalidated (const void *data, size_t len, bool log, struct uc_image *img, uc_error_t *err);

/* Fill a protobuf bytes field with a malloc'ed copy of LEN bytes (an empty
 * field gets a 1-byte buffer). */
void uc_img_bytes (ProtobufCBinaryData *b, const void *data, size_t len);

/* D's payload has been used: its pages of IMG's mapping go from memory
 * (any page read again comes back from the page cache). */
void uc_image_drop (const struct uc_image *img, const UcDgram *d);

/* Free what *IMG owns and zero it; safe on a zeroed struct. */
void uc_image_free (struct uc_image *img);

#endif
