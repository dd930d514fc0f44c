// SPDX-License-Identifier: GPL-2.0-or-later
/* manysock: the application of the benchmark (test/bench/run); runs as a
 * container's init. Static, no libc name lookups.
 *
 *   manysock -f 4|6 -n N -s BYTES [-c 1|0] [-b BASEPORT] [-p RECVPORT] [-o OUTDIR]
 *
 * Forks a receiver bound to the loopback (127.0.0.1 or ::1) at RECVPORT,
 * then opens N UDP sockets, socket i bound to port BASEPORT + i. With -c 1
 * (default) each one corks a datagram of BYTES bytes (UDP_CORK, one send
 * with MSG_MORE) for the receiver; with -c 0 the sockets are only bound (the
 * baseline that CRIU can dump by itself). Writes OUTDIR/ready, then waits for
 * OUTDIR/go. Then each socket uncorks (-c 1) or sends its datagram (-c 0),
 * paced so that the receiver's buffer never overflows; the receiver counts
 * the datagrams and bytes that arrive and writes OUTDIR/result
 * ("count=N bytes=B") once it has N datagrams (plus 200 ms for
 * duplicates) or after 10 s without any; then OUTDIR/done.
 * RLIMIT_NOFILE is raised to its hard limit (the bundle must allow N + 16).
 * Every sleep and read retries on EINTR (CRIU restores interrupted syscalls
 * that way). */
#include <netinet/udp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define APP_NAME "manysock"
#include "app.h"

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif

/* Shared between the sender and the receiver (MAP_SHARED, forked). */
struct shared
{
  volatile long received;
};

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int
receiver (int fd, long expect, struct shared *sh)
{
  static unsigned char buf[65536];
  struct timeval tv = { 0, 200 * 1000 };
  long long count = 0, bytes = 0, last = 0, done_at = -1;
  char res[128];

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  for (;;)
    {
      ssize_t r = recv (fd, buf, sizeof (buf), 0);
      long long t = now_ms ();

      if (r >= 0)
        {
          count++;
          bytes += r;
          sh->received = count;
          last = t;
          if (count == expect && done_at < 0)
            done_at = t + 200; /* a short drain for duplicates */
        }
      else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
        die ("recv");
      if (done_at >= 0 && t >= done_at)
        break;
      if (done_at < 0 && have_file ("go"))
        {
          if (last == 0)
            last = t; /* go seen: start the silence clock */
          if (expect == 0 || t - last > 10000)
            break;
        }
    }
  snprintf (res, sizeof (res), "count=%lld bytes=%lld\n", count, bytes);
  write_file ("result", res, strlen (res));
  return 0;
}

int
main (int argc, char **argv)
{
  int family = 4, cork = 1, base = 20000, rport = 9000, opt, fd, one = 1, zero = 0;
  long n = 1, size = 0, window;
  int *socks;
  unsigned char *payload;
  struct sockaddr_storage dst;
  struct shared *sh;
  struct rlimit rl;
  socklen_t dl;
  pid_t child;
  int rcvbuf = 64 << 20;
  socklen_t rl_len = sizeof (rcvbuf);

  while ((opt = getopt (argc, argv, "f:n:s:c:b:p:o:")) != -1)
    switch (opt)
      {
      case 'f':
        family = atoi (optarg);
        break;
      case 'n':
        n = atol (optarg);
        break;
      case 's':
        size = atol (optarg);
        break;
      case 'c':
        cork = atoi (optarg);
        break;
      case 'b':
        base = atoi (optarg);
        break;
      case 'p':
        rport = atoi (optarg);
        break;
      case 'o':
        out = optarg;
        break;
      default:
        return 2;
      }
  if ((family != 4 && family != 6) || n < 0 || size < 0 || size > 65507 || base + n > 65536)
    {
      fprintf (stderr, "manysock: bad arguments\n");
      return 2;
    }

  /* stdio inside the container, so that CRIU sees no outside file */
  stdio_to_log (STDIO_CLOSE_NULL | STDIO_CLOSE_LOG);

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && (rlim_t) n + 16 > rl.rlim_cur)
    {
      fprintf (stderr, "manysock: RLIMIT_NOFILE is %llu, %ld sockets need %ld: raise it in the bundle\n",
               (unsigned long long) rl.rlim_cur, n, n + 16);
      return 1;
    }

  sh = mmap (NULL, sizeof (*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED)
    die ("mmap");
  sh->received = 0;

  /* The receiver: a buffer big enough for a window of datagrams. */
  fd = bound_socket (family_domain (family), local_addr (family, 1), rport);
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof (rcvbuf)) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof (rcvbuf));
  if (getsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl_len) < 0)
    die ("SO_RCVBUF");
  /* in flight at most a quarter of the buffer, counting generous overhead */
  window = (rcvbuf / 4) / (size + 2048);
  if (window < 1)
    window = 1;
  child = fork ();
  if (child < 0)
    die ("fork");
  if (child == 0)
    return receiver (fd, n, sh);
  close (fd);

  socks = calloc (n ? n : 1, sizeof (*socks));
  payload = calloc (1, size ? size : 1);
  if (socks == NULL || payload == NULL)
    die ("calloc");
  for (long i = 0; i < size; i++)
    payload[i] = (unsigned char) (i * 7 + 13);
  dl = make_addr (family_domain (family), local_addr (family, 1), rport, &dst);
  for (long i = 0; i < n; i++)
    {
      socks[i] = bound_socket (family_domain (family), local_addr (family, 0), base + i);
      if (! cork)
        continue;
      if (setsockopt (socks[i], IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0)
        die ("UDP_CORK");
      if (sendto (socks[i], payload, size, MSG_MORE, (struct sockaddr *) &dst, dl) != (ssize_t) size)
        die ("sendto (corked)");
    }
  write_file ("ready", "", 0);
  printf ("manysock: %ld IPv%d sockets, %s, %ld bytes each, window %ld; waiting for %s/go\n", n, family,
          cork ? "corked" : "not corked", size, window, out);
  fflush (stdout);

  wait_file ("go");
  for (long i = 0; i < n; i++)
    {
      /* pace; give up pacing after 10 s (a lost datagram must not hang us) */
      for (int w = 0; i - sh->received >= window && w < 10000; w++)
        nap_ms (1);
      if (cork)
        {
          if (setsockopt (socks[i], IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero)) < 0)
            die ("UDP_CORK=0");
        }
      else if (sendto (socks[i], payload, size, 0, (struct sockaddr *) &dst, dl) != (ssize_t) size)
        die ("sendto");
    }
  while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  printf ("manysock: done\n");
  fflush (stdout);
  write_file ("done", "", 0);
  return 0;
}
