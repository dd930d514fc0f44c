// SPDX-License-Identifier: GPL-2.0-or-later
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

int
uc_make_error (uc_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg, *full = NULL;

  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);

  if (err == NULL)
    {
      free (msg);
      return -1;
    }
  if (*err) /* keep the first error */
    {
      free (msg);
      return -1;
    }
  if (status != 0 && msg && asprintf (&full, "%s: %s", msg, strerror (status)) >= 0)
    {
      free (msg);
      msg = full;
    }
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    {
      free (msg);
      return -1;
    }
  (*err)->status = status;
  (*err)->msg = msg ? msg : strdup ("out of memory");
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
  if (prefix && asprintf (&full, "%s: %s", prefix, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = full;
    }
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
