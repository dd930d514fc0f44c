// SPDX-License-Identifier: GPL-2.0-or-later
#include "util.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Make room for at least one more byte plus the NUL, never beyond LIMIT. */
static void
grow (char **buf, size_t *cap, size_t used, size_t limit)
{
  size_t ncap;

  if (used + 2 <= *cap)
    return;
  ncap = *cap ? *cap * 2 : 4096;
  if (ncap > limit)
    ncap = limit;
  *buf = xrealloc (*buf, ncap);
  *cap = ncap;
}

int
uc_read_all (int fd, size_t max, char **out, size_t *len, uc_error_t *err)
{
  char *buf = NULL;
  size_t cap = 0, used = 0;

  for (;;)
    {
      ssize_t r;

      /* MAX + 2: one byte past MAX to detect oversized input, and the NUL. */
      grow (&buf, &cap, used, max + 2);
      r = read (fd, buf + used, cap - used - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          uc_make_error (err, errno, "read");
          goto fail;
        }
      if (r == 0)
        break;
      used += r;
      if (used > max)
        {
          uc_make_error (err, 0, "input larger than %zu bytes", max);
          goto fail;
        }
    }
  buf[used] = '\0';
  *out = buf;
  *len = used;
  return 0;

fail:
  free (buf);
  return -1;
}

const char *
uc_addr_str (int family, const void *addr, unsigned port, char *buf, size_t len)
{
  char a[INET6_ADDRSTRLEN];

  if (addr == NULL || (family != AF_INET && family != AF_INET6) || inet_ntop (family, addr, a, sizeof (a)) == NULL)
    snprintf (buf, len, "?");
  else if (family == AF_INET)
    snprintf (buf, len, "%s:%u", a, port);
  else
    snprintf (buf, len, "[%s]:%u", a, port);
  return buf;
}

int
uc_hex (const void *data, size_t len, char *out, size_t outlen)
{
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = data;
  size_t i;

  if (outlen < 2 * len + 1)
    return -1;
  for (i = 0; i < len; i++)
    {
      out[2 * i] = digits[p[i] >> 4];
      out[2 * i + 1] = digits[p[i] & 15];
    }
  out[2 * len] = '\0';
  return (int) (2 * len);
}

static uint64_t
clock_ns (clockid_t id)
{
  struct timespec ts;

  if (clock_gettime (id, &ts) < 0)
    return 0;
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

int64_t
uc_now_ns (void)
{
  return (int64_t) clock_ns (CLOCK_MONOTONIC);
}

int64_t
uc_action_start_ns (void)
{
  const char *env = getenv ("UDPCORK_ACTION_T0");
  int64_t now = uc_now_ns (), t0;
  char *end;

  if (env == NULL)
    return now;
  errno = 0;
  t0 = strtoll (env, &end, 10);
  /* a time of the last minute, or this run's start */
  return errno || *end || t0 > now || now - t0 > 60000000000LL ? now : t0;
}

double
uc_ms_since (int64_t t0)
{
  return (double) (uc_now_ns () - t0) / 1e6;
}

uint64_t
uc_realtime_ns (void)
{
  return clock_ns (CLOCK_REALTIME);
}

long
uc_peak_rss_kib (void)
{
  struct rusage ru;
  return getrusage (RUSAGE_SELF, &ru) < 0 ? -1 : ru.ru_maxrss;
}
