/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Allocation that cannot fail (as crun's xmalloc): on out-of-memory the
 * process aborts with a message instead of growing error paths that never
 * run. A hook that aborts leaves every datagram where the crash-safety
 * protocol put it (socket, capture log or image). And crun-style cleanup
 * attributes: `cleanup_free char *p = NULL;`, `cleanup_close int fd = -1;`. */
#ifndef UDPCORK_XALLOC_H
#define UDPCORK_XALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

void *xmalloc (size_t size);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t size);
char *xstrdup (const char *s);
/* *V grows to hold at least N elements of SIZE bytes (*CAP doubles). */
void xgrow (void *v, size_t *cap, size_t n, size_t size);

static inline void
cleanup_freep (void *p)
{
  free (*(void **) p);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))

#endif
