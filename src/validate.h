/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Semantic validation of images and capture logs, right after parsing and
 * before any consumer (poststart, give-back, recover, show) sees them: every
 * field bounded as the kernel bounds it, families, addresses and counts
 * consistent, each socket saved at most once. One error names the entry and
 * the field. The consumers then rely on it, and the builders of control
 * messages and packets check their own bounds again (defence in depth). */
#ifndef UDPCORK_VALIDATE_H
#define UDPCORK_VALIDATE_H

#include <stdbool.h>
#include "error.h"
#include "image.h"

/* LOG: IMG is a capture log (pending datagrams only). */
int uc_validate_image (const struct uc_image *img, bool log, uc_error_t *err);

/* One pending datagram; ENTRY names it in the error ("entry 3 (dgram 2)"). */
int uc_validate_dgram (const UcDgram *d, const char *entry, uc_error_t *err);

/* Dump ids (journal, capture log, head): 1..63 characters of [A-Za-z0-9._-]. */
bool uc_dump_id_valid (const char *id);

#endif
