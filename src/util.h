/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the hooks and the CLI. */
#ifndef UDPCORK_UTIL_H
#define UDPCORK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* Big enough for "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535". */
#define UC_ADDRSTRLEN 64

/* Read FD to EOF into a NUL-terminated malloc'ed buffer (*OUT, length *LEN
 * without the NUL).  Fails when more than MAX bytes are available. */
int uc_read_all (int fd, size_t max, char **out, size_t *len, uc_error_t *err);

/* Format "1.2.3.4:PORT" (FAMILY AF_INET, 4 bytes at ADDR) or "[::1]:PORT"
 * (AF_INET6, 16 bytes).  Writes "?" for anything else.  Returns BUF. */
const char *uc_addr_str (int family, const void *addr, unsigned port, char *buf, size_t len);

/* Lower-case hex of DATA into OUT (NUL-terminated).  Returns -1 if OUTLEN is
 * smaller than 2 * LEN + 1, else the number of characters written. */
int uc_hex (const void *data, size_t len, char *out, size_t outlen);

int64_t uc_now_ns (void); /* CLOCK_MONOTONIC */
/* When the CRIU action began (UDPCORK_ACTION_T0 from udpcork-criu), else
 * now: the hooks' logged times include their exec and library loading. */
int64_t uc_action_start_ns (void);
double uc_ms_since (int64_t t0);
uint64_t uc_realtime_ns (void); /* CLOCK_REALTIME */

/* Peak resident set size of this process, KiB (getrusage), or -1. */
long uc_peak_rss_kib (void);

#endif
