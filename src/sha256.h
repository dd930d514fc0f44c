/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 (FIPS 180-4), one-shot; used to fingerprint saved payloads. */
#ifndef UDPCORK_SHA256_H
#define UDPCORK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define UC_SHA256_LEN 32

void uc_sha256 (const void *data, size_t len, uint8_t out[UC_SHA256_LEN]);

#endif
