/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The packet codec: pure functions, no system calls, so that they are unit
 * tested and fuzzed on their own.
 *   - a captured datagram (IP + UDP header + payload, as the capture program
 *     copied it) decoded into an image entry;
 *   - IPv4 options: checked as the kernel checks options a socket sets, and
 *     given back as the application wrote them;
 *   - the raw IP + UDP packet that puts an unread datagram back. */
#ifndef UDPCORK_PACKET_H
#define UDPCORK_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "udpcork.h"
#include "udpcork.pb-c.h"

/* Largest UDP payloads the kernel sends in one datagram: 65535 minus the
 * IPv4 (20 bytes, without options) and UDP headers, or minus the UDP header
 * for IPv6 (the IPv6 payload length does not count its own header). */
#define UC_MAX_PAYLOAD_V4 65507
#define UC_MAX_PAYLOAD_V6 65527
/* Largest IPv6 datagram whose unread copy udpcork can put back (a raw
 * socket with its own 40-byte header). */
#define UC_RX_MAX_V6 65488
/* IPv4 options: the header has room for 40 bytes. */
#define UC_MAX_IPOPT 40

/* IPv4 options ... Returns NULL if OPT (LEN bytes) is well formed for the
 * kernel (ip_options_compile, as for a socket's options), else why not.
 * *PRIVILEGED tells whether an option needs CAP_NET_RAW (security, stream
 * id, CIPSO, unknown types, timestamp flags other than 0, 1 and 3). */
const char *uc_ipopt_check (const uint8_t *opt, size_t len, bool *privileged);

/* The options of a cork as the application wrote them: the kernel keeps
 * them compiled, with the pointer of a record-route or timestamp option past
 * the slot it fills for this host at output. OPT gets R's options back. */
void uc_ipopt_unwind (const struct uc_sock_rec *r, uint8_t opt[UC_MAX_IPOPT]);

/* A new image entry for socket R (owner NSPID/FD as the container sees
 * them, cork mode MODE): identity and mode; the datagram comes from
 * uc_capture_decode. */
UcDgram *uc_dgram_new (const struct uc_sock_rec *r, uint32_t nspid, uint32_t fd, uint32_t mode, uint64_t cookie);

/* Fill D (owner and identity already set) from a captured datagram: the
 * headers as sent (addresses, ports, TTL, TOS, flow label), the payload, and
 * what the cork kept (R). DATA holds S->len bytes. Returns NULL, or why the
 * record is not acceptable. D's bytes fields are allocated (xmalloc). */
const char *uc_capture_decode (const struct uc_slot *s, const uint8_t *data, const struct uc_sock_rec *r, UcDgram *d);

/* The Internet checksum (RFC 1071) of a UDP datagram U of ULEN bytes
 * (header included, its checksum field zero) with the pseudo header of
 * SRC and DST (ALEN 4 or 16 bytes); never 0 (0 means "none" for IPv4). */
uint16_t uc_udp_checksum (const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *u, size_t ulen);

/* The IP + UDP packet that delivers D to DST:DPORT (DST as long as D's
 * source), in BUF (CAP bytes). Returns the packet length, or 0 if D does
 * not fit (the caller's bound is checked, whatever the image says). */
size_t uc_rx_packet (uint8_t *buf, size_t cap, const UcRxdgram *d, const uint8_t *dst, unsigned dport);

#endif
