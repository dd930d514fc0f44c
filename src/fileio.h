/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files of an image directory: written in full, created exclusively,
 * replaced atomically, mapped for reading. Every name is relative to a
 * directory fd (AT_FDCWD: the working directory); no symlink is followed. */
#ifndef UDPCORK_FILEIO_H
#define UDPCORK_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* All LEN bytes of BUF to FD (short writes and EINTR resumed). */
int uc_write_all (int fd, const void *buf, size_t len, uc_error_t *err);

/* fsync the directory DIRFD (AT_FDCWD: the working directory), so that a
 * rename in it is durable. */
int uc_fsync_dir (int dirfd, uc_error_t *err);

/* Create NAME in DIRFD exclusively (0600, read-write, never following a link): a stale
 * file of that name is removed first. Returns the fd, or -1 with *ERR (and
 * no NAME left behind). */
int uc_create_excl (int dirfd, const char *name, uc_error_t *err);

/* Replace NAME in DIRFD atomically by the LEN bytes of DATA, mode 0600:
 * "NAME.tmp" created with uc_create_excl, written in full, renamed over
 * NAME; DURABLE: fsync of the file before and of the directory after (else
 * it only has to outlive a killed process, which the page cache does). On
 * failure "NAME.tmp" is removed and NAME is left as it was (unless only the
 * directory's fsync failed). */
int uc_file_replace (int dirfd, const char *name, const void *data, size_t len, bool durable, uc_error_t *err);

/* Read the regular file NAME of DIRFD (no symlink, at most MAX bytes) into
 * a private mapping: *DATA, *LEN; unmap with uc_file_unmap. */
int uc_file_map (int dirfd, const char *name, size_t max, const void **data, size_t *len, uc_error_t *err);
void uc_file_unmap (const void *data, size_t len);

#endif
