// SPDX-License-Identifier: GPL-2.0-or-later
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "xalloc.h"

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

int
uc_make_error (uc_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg, *full = NULL;

  if (err == NULL)
    return -1; /* not wanted */
  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);
  if (status != 0)
    {
      if (asprintf (&full, "%s: %s", msg, strerror (status)) < 0)
        abort ();
      free (msg);
      msg = full;
    }
  if (*err)
    {
      /* a second error (while cleaning up after the first): the first is
       * the one reported, this one is logged, not dropped */
      uc_warn ("also: %s", msg);
      free (msg);
      return -1;
    }
  *err = xcalloc (1, sizeof (**err));
  (*err)->status = status;
  (*err)->msg = msg;
  return -1;
}

int
uc_error_wrap (uc_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *prefix, *full = NULL;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  prefix = vformat (fmt, ap);
  va_end (ap);
  if (asprintf (&full, "%s: %s", prefix, (*err)->msg) < 0)
    abort ();
  free ((*err)->msg);
  (*err)->msg = full;
  free (prefix);
  return -1;
}

void
uc_error_release (uc_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

bool
uc_error_is (uc_error_t *err, int status)
{
  if (err == NULL || *err == NULL || (*err)->status != status)
    return false;
  uc_error_release (err);
  return true;
}
