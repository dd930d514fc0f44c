/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Read udpcork.img out of a checkpoint archive (podman container checkpoint
 * --export: .tar, .tar.gz, .tar.zst; the image sits under checkpoint/)
 * with tar(1), which detects the compression. */
#ifndef UDPCORK_ARCHIVE_H
#define UDPCORK_ARCHIVE_H

#include <stddef.h>
#include "error.h"

/* Returns 0 with the member's bytes in *BUF (malloc'ed), or -1 with *ERR;
 * (*err)->status is ENOENT when the archive holds no udpcork.img. */
int uc_archive_read_image (const char *archive, char **buf, size_t *len, uc_error_t *err);

#endif
