/* SPDX-License-Identifier: GPL-2.0-or-later */
/* udpcork error values, in the style of crun's libcrun_error_t:
 * a function that fails fills *err and returns a negative value; the caller
 * either handles it (uc_error_release) or adds context and passes it up.
 * A caller that does not want the error passes ERR = NULL: the one way to
 * ignore an error. A second error made while *ERR already holds one (while
 * cleaning up after it) is logged as a warning, never silently dropped. */
#ifndef UDPCORK_ERROR_H
#define UDPCORK_ERROR_H

#include <stdbool.h>

#include <stdarg.h>

struct uc_error_s
{
  int status; /* errno, or 0 */
  char *msg;
};
typedef struct uc_error_s *uc_error_t;

/* Set *err to MSG (printf format) plus ": strerror(STATUS)" when STATUS != 0.
 * Returns -1 so that callers can write
 * `return uc_make_error (err, errno, "open `%s`", path);`. */
int uc_make_error (uc_error_t *err, int status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Prefix the message of an existing error with more context. Returns -1. */
int uc_error_wrap (uc_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void uc_error_release (uc_error_t *err);

/* An expected failure: if *ERR has STATUS (e.g. ENOENT: "nothing there"),
 * release it and return true; else leave it for the caller. */
bool uc_error_is (uc_error_t *err, int status);

#endif
