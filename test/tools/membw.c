// SPDX-License-Identifier: GPL-2.0-or-later
/* membw [MIB]: this machine's memory copy bandwidth (memcpy of MIB MiB,
 * default 256, best of 5), printed as "memcpy_gbps=N.NN": the physical
 * limit the benchmark compares capture and re-injection throughput with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  size_t len = (argc > 1 ? strtoul (argv[1], NULL, 10) : 256) << 20;
  char *src = malloc (len), *dst = malloc (len);
  double best = 0;

  if (src == NULL || dst == NULL || len == 0)
    {
      fprintf (stderr, "membw: cannot allocate 2 x %zu bytes\n", len);
      return 1;
    }
  memset (src, 1, len);
  memset (dst, 2, len); /* both faulted in: only the copy is timed */
  for (int i = 0; i < 5; i++)
    {
      double t = now ();
      memcpy (dst, src, len);
      t = now () - t;
      if (len / t > best)
        best = len / t;
      src[i] = dst[len - 1 - i]; /* keep the copies */
    }
  printf ("memcpy_gbps=%.2f\n", best / 1e9);
  return 0;
}
