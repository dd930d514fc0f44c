// SPDX-License-Identifier: GPL-2.0-or-later
#include "xalloc.h"

#include <stdio.h>
#include <string.h>

static void __attribute__ ((noreturn)) oom (size_t size)
{
  fprintf (stderr, "udpcork: out of memory (allocating %zu bytes)\n", size);
  abort ();
}

void *
xmalloc (size_t size)
{
  void *p = malloc (size ? size : 1);
  if (p == NULL)
    oom (size);
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    oom (n * size);
  return p;
}

void *
xrealloc (void *p, size_t size)
{
  p = realloc (p, size ? size : 1);
  if (p == NULL)
    oom (size);
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    oom (strlen (s) + 1);
  return p;
}

void
xgrow (void *v, size_t *cap, size_t n, size_t size)
{
  void **vp = v;

  if (n <= *cap)
    return;
  while (*cap < n)
    *cap = *cap ? *cap * 2 : 16;
  if (*cap > (size_t) -1 / size)
    oom ((size_t) -1);
  *vp = xrealloc (*vp, *cap * size);
}
