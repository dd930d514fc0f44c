/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal TAP output for the unit tests: one "ok N - desc" line per check. */
#ifndef UDPCORK_TAP_H
#define UDPCORK_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "error.h"

static int tap_n, tap_failed;

static __attribute__ ((format (printf, 2, 3))) bool
tap_check (bool ok, const char *fmt, ...)
{
  va_list ap;

  printf ("%sok %d - ", ok ? "" : "not ", ++tap_n);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  fflush (stdout);
  if (! ok)
    tap_failed++;
  return ok;
}

#define CHECK(cond, ...) tap_check (! ! (cond), __VA_ARGS__)

/* RET must be < 0 with *ERR set, its message containing WANT and no newline.
 * Prints the message as a diagnostic and releases *ERR. */
static bool
tap_check_error (int ret, uc_error_t *err, const char *want, const char *desc)
{
  const char *msg = *err ? (*err)->msg : "(no error)";
  bool ok = ret < 0 && *err && strstr (msg, want) && ! strchr (msg, '\n');

  printf ("# %s\n", msg);
  tap_check (ok, "%s: fails with \"%s\"", desc, want);
  uc_error_release (err);
  return ok;
}

/* RET must be 0 with no error; on failure prints the error. */
static bool
tap_check_ok (int ret, uc_error_t *err, const char *desc)
{
  if (*err)
    printf ("# unexpected error: %s\n", (*err)->msg);
  uc_error_release (err);
  return tap_check (ret == 0, "%s", desc);
}

static int
tap_done (void)
{
  printf ("1..%d\n", tap_n);
  if (tap_failed)
    printf ("# %d of %d checks failed\n", tap_failed, tap_n);
  return tap_failed ? 1 : 0;
}

#endif
