/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: stderr (with the program name) and syslog (LOG_DAEMON). */
#ifndef UDPCORK_LOG_H
#define UDPCORK_LOG_H

#include <syslog.h>
#include "error.h"

void uc_log_init (const char *prog, int verbose);
void uc_log (int prio, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Log *err at LOG_ERR and release it. */
void uc_log_error (uc_error_t *err);

#define uc_debug(...) uc_log (LOG_DEBUG, __VA_ARGS__)
#define uc_info(...) uc_log (LOG_INFO, __VA_ARGS__)
#define uc_warn(...) uc_log (LOG_WARNING, __VA_ARGS__)
#define uc_err(...) uc_log (LOG_ERR, __VA_ARGS__)

#endif
