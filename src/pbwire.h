/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The protobuf wire format, read by hand where protobuf-c is not the right
 * tool: fields of messages without their .proto (CRIU's images), or where
 * a field lies in the packed bytes (a payload borrowed from a mapping).
 * Bounds-checked on every byte: the input may be hostile. */
#ifndef UDPCORK_PBWIRE_H
#define UDPCORK_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One field: number, wire type, and its value (varint) or its bytes
 * (length-delimited). */
struct uc_pb_field
{
  uint32_t num, wt;
  uint64_t v;
  const uint8_t *p;
  size_t len;
};

/* A varint of [*P, END) into *V, *P moved past it; false if it runs off
 * the end or over 10 bytes. */
bool uc_pb_varint (const uint8_t **p, const uint8_t *end, uint64_t *v);

/* The field at *P (before END) into *F, *P moved past it. False at the end
 * and on bad framing (then *BAD is set: a field number of 0 or over 32
 * bits, a truncated value, a group or an unknown wire type). */
bool uc_pb_next (const uint8_t **p, const uint8_t *end, struct uc_pb_field *f, bool *bad);

/* The bytes of the length-delimited field NUM of the message [P, P + LEN)
 * (its last occurrence, as protobuf merges) and their length in *OUT_LEN,
 * or NULL (absent, or bad framing: *BAD set). */
const uint8_t *uc_pb_find_bytes (const uint8_t *p, size_t len, uint32_t num, size_t *out_len, bool *bad);

#endif
