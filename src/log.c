// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *log_prog = "udpcork";
static int log_verbose;

void
uc_log_init (const char *prog, int verbose)
{
  const char *env = getenv ("UDPCORK_DEBUG");
  log_prog = prog;
  log_verbose = verbose || (env && *env && *env != '0');
  openlog (prog, LOG_PID, LOG_DAEMON);
}

void
uc_log (int prio, const char *fmt, ...)
{
  static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
  va_list ap;

  if (prio == LOG_DEBUG && ! log_verbose)
    return;
  va_start (ap, fmt);
  fprintf (stderr, "%s: %s: ", log_prog, names[prio & 7]);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  va_start (ap, fmt);
  vsyslog (prio, fmt, ap);
  va_end (ap);
}

void
uc_log_error (uc_error_t *err)
{
  if (err && *err)
    uc_log (LOG_ERR, "%s", (*err)->msg);
  uc_error_release (err);
}
