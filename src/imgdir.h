/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image directory of a hook run, opened with as much trust as its
 * source deserves:
 *   - under CRIU: CRTOOLS_IMAGE_DIR, CRIU's own /proc/PID/fd/N link;
 *   - --image-dir DIR (root's command line, a root-owned hooks.d file): not
 *     a symbolic link itself;
 *   - the annotation io.github.udpcork.image-dir (whoever creates the
 *     container sets it): only a directory under the image root
 *     (UC_IMAGE_ROOT, set at build time: IMAGEROOT=), resolved beneath it
 *     without following any symbolic link on the way (openat2
 *     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a component-by-component
 *     walk where openat2 is missing).
 * A directory given by hand or by annotation must be owned by root and not
 * writable by group or others. */
#ifndef UDPCORK_IMGDIR_H
#define UDPCORK_IMGDIR_H

#include "error.h"

#ifndef UC_IMAGE_ROOT
#define UC_IMAGE_ROOT "/var/lib/udpcork/images"
#endif

/* DIR given on the command line. */
int uc_imgdir_open_given (const char *dir, uc_error_t *err);
/* DIR named by an annotation: under ROOT only. */
int uc_imgdir_open_beneath (const char *root, const char *dir, uc_error_t *err);

#endif
