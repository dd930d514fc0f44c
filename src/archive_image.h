/* SPDX-License-Identifier: GPL-2.0-or-later */
/* udpcork.img out of a checkpoint archive (podman container checkpoint
 * --export, the CRI checkpoint kubelet asks for: .tar, .tar.gz, .tar.zst,
 * .tar.xz; the image sits under checkpoint/), read in process with
 * libarchive: the member is matched by its exact name, its size is capped,
 * nothing is extracted to disk, and no command is ever run. */
#ifndef UDPCORK_ARCHIVE_IMAGE_H
#define UDPCORK_ARCHIVE_IMAGE_H

#include <stddef.h>
#include "error.h"

/* Returns 0 with the member's bytes in *BUF (malloc'ed), or -1 with *ERR;
 * (*err)->status is ENOENT when the archive holds no udpcork.img. */
int uc_archive_read_image (const char *archive, char **buf, size_t *len, uc_error_t *err);
/* The same from an archive in memory (NAME is for messages). */
int uc_archive_read_image_mem (const void *data, size_t size, const char *name, char **buf, size_t *len,
                               uc_error_t *err);

#endif
