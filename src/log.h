/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: stderr (with the program name; CRIU copies a hook's stderr into
 * its dump or restore log) and syslog (LOG_DAEMON), if a syslog daemon
 * listens. Per-socket detail (uc_note) goes to stderr only, written in
 * batches (log.c): the system log gets one summary per run, warnings and
 * errors, not 10000 lines for a checkpoint of 10000 sockets. */
#ifndef UDPCORK_LOG_H
#define UDPCORK_LOG_H

#include <syslog.h>
#include "error.h"

void uc_log_init (const char *prog, int verbose);
void uc_log (int prio, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Log *err at LOG_ERR and release it. */
void uc_log_error (uc_error_t *err);

/* or'ed into PRIO: not to syslog */
#define UC_LOG_STDERR_ONLY 0x10000

#define uc_note(...) uc_log (LOG_INFO | UC_LOG_STDERR_ONLY, __VA_ARGS__)
#define uc_debug(...) uc_log (LOG_DEBUG, __VA_ARGS__)
#define uc_info(...) uc_log (LOG_INFO, __VA_ARGS__)
#define uc_warn(...) uc_log (LOG_WARNING, __VA_ARGS__)
#define uc_err(...) uc_log (LOG_ERR, __VA_ARGS__)

#endif
