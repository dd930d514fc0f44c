/* SPDX-License-Identifier: GPL-2.0-or-later */
/* app.h: helpers shared by the test applications (the .c files of test/apps). Header
 * only, all static, so that each application still builds from its one .c
 * file (static, no libc name lookups).
 *
 * Before the include, an application defines APP_NAME (the prefix of its
 * error messages). Files are named relative to the output directory `out`
 * (default /out; applications with -o set it). Every sleep retries on EINTR
 * (CRIU restores interrupted syscalls that way). */
#ifndef UDPCORK_TEST_APP_H
#define UDPCORK_TEST_APP_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef APP_NAME
#error "define APP_NAME before including app.h"
#endif

#define APP_UNUSED __attribute__ ((unused))

static const char *out APP_UNUSED = "/out";

/* "APP_NAME: <message>: <strerror(errno)>" on stderr, then exit 1. */
static APP_UNUSED void __attribute__ ((noreturn, format (printf, 1, 2))) die (const char *fmt, ...)
{
  va_list ap;
  int e = errno;
  va_start (ap, fmt);
  fprintf (stderr, APP_NAME ": ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, ": %s\n", strerror (e));
  va_end (ap);
  exit (1);
}

static APP_UNUSED void
nap_us (long us)
{
  struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static APP_UNUSED void
nap_ms (long ms)
{
  nap_us (ms * 1000);
}

/* OUTDIR/NAME into P (PLEN bytes). */
static APP_UNUSED const char *
out_path (char *p, size_t plen, const char *name)
{
  snprintf (p, plen, "%s/%s", out, name);
  return p;
}

static APP_UNUSED int
have_file (const char *name)
{
  char path[256];
  struct stat st;
  return stat (out_path (path, sizeof (path), name), &st) == 0;
}

/* Polls every 20 ms until OUTDIR/NAME exists. */
static APP_UNUSED void
wait_file (const char *name)
{
  while (! have_file (name))
    nap_ms (20);
}

/* Writes OUTDIR/NAME atomically (NAME.tmp, then rename); -1 on failure. */
static APP_UNUSED int
try_write_file (const char *name, const void *data, size_t len)
{
  char path[256], tmp[300];
  int fd;

  out_path (path, sizeof (path), name);
  snprintf (tmp, sizeof (tmp), "%s.tmp", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || (len && write (fd, data, len) != (ssize_t) len) || close (fd) < 0 || rename (tmp, path) < 0)
    return -1;
  return 0;
}

static APP_UNUSED void
write_file (const char *name, const void *data, size_t len)
{
  char path[256];
  if (try_write_file (name, data, len) < 0)
    die ("%s", out_path (path, sizeof (path), name));
}

/* stdio inside the container, so that CRIU sees no outside file: stdin
 * from /dev/null, stdout and stderr appended to OUTDIR/log. The two
 * descriptors opened for that stay open (as 3 and 4, which later
 * descriptor numbers depend on) unless CLOSE says otherwise. */
enum
{
  STDIO_KEEP = 0,
  STDIO_CLOSE_LOG = 1,  /* close the log's own descriptor */
  STDIO_CLOSE_NULL = 2, /* close /dev/null's own descriptor */
};

static APP_UNUSED void
stdio_to_log (int close_what)
{
  char log[256];
  int null = open ("/dev/null", O_RDONLY);
  int fd = open (out_path (log, sizeof (log), "log"), O_WRONLY | O_CREAT | O_APPEND, 0644);

  if (null >= 0)
    dup2 (null, 0);
  if (fd >= 0)
    {
      dup2 (fd, 1);
      dup2 (fd, 2);
    }
  if ((close_what & STDIO_CLOSE_NULL) && null > 2)
    close (null);
  if ((close_what & STDIO_CLOSE_LOG) && fd > 2)
    close (fd);
}

/* 4 or 6 as AF_INET or AF_INET6. */
static APP_UNUSED int
family_domain (int family)
{
  return family == 4 ? AF_INET : AF_INET6;
}

/* The loopback address of FAMILY (4, 6), or (LOOPBACK 0) the wildcard. */
static APP_UNUSED const char *
local_addr (int family, int loopback)
{
  if (family == 4)
    return loopback ? "127.0.0.1" : "0.0.0.0";
  return loopback ? "::1" : "::";
}

/* ADDR:PORT of domain DOM (AF_INET, AF_INET6) in SS; dies on a bad ADDR. */
static APP_UNUSED socklen_t
make_addr (int dom, const char *addr, int port, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (dom == AF_INET)
    {
      struct sockaddr_in *s = (struct sockaddr_in *) ss;
      s->sin_family = AF_INET;
      s->sin_port = htons (port);
      if (inet_pton (AF_INET, addr, &s->sin_addr) != 1)
        {
          errno = EINVAL;
          die ("bad IPv4 address %s", addr);
        }
      return sizeof (*s);
    }
  struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
  s->sin6_family = AF_INET6;
  s->sin6_port = htons (port);
  if (inet_pton (AF_INET6, addr, &s->sin6_addr) != 1)
    {
      errno = EINVAL;
      die ("bad IPv6 address %s", addr);
    }
  return sizeof (*s);
}

/* A UDP socket of domain DOM bound to ADDR:PORT; dies on failure. */
static APP_UNUSED int
bound_socket (int dom, const char *addr, int port)
{
  struct sockaddr_storage ss;
  socklen_t l = make_addr (dom, addr, port, &ss);
  int fd = socket (dom, SOCK_DGRAM, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *) &ss, l) < 0)
    die ("bind port %d", port);
  return fd;
}

/* The address of SA (sockaddr_in or sockaddr_in6) as text in BUF, its
 * port in *PORT; returns BUF. */
static APP_UNUSED const char *
addr_str (const void *sa, char *buf, size_t len, int *port)
{
  const struct sockaddr *s = sa;
  if (s->sa_family == AF_INET)
    {
      inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, len);
      *port = ntohs (((const struct sockaddr_in *) sa)->sin_port);
    }
  else
    {
      inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, buf, len);
      *port = ntohs (((const struct sockaddr_in6 *) sa)->sin6_port);
    }
  return buf;
}

/* The first datagram on a socket, and how many came with it. */
struct first_dgram
{
  unsigned char data[65536];
  ssize_t len;
  struct sockaddr_storage from;
  int count;
};

/* Waits for the first datagram on FD, then counts the ones that follow
 * (duplicates) until 1 s of silence. */
static APP_UNUSED void
recv_first (int fd, struct first_dgram *d)
{
  static unsigned char buf[65536];
  struct sockaddr_storage from;
  struct timeval tv = { 1, 0 };
  ssize_t r;

  d->len = -1;
  d->count = 0;
  memset (&d->from, 0, sizeof (d->from));
  for (;;)
    {
      socklen_t fl = sizeof (from);
      r = recvfrom (fd, buf, sizeof (buf), 0, (struct sockaddr *) &from, &fl);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (r < 0)
        die ("recvfrom");
      if (d->count++ == 0)
        {
          memcpy (d->data, buf, r);
          d->len = r;
          d->from = from;
          /* after the first datagram, wait 1 s for duplicates */
          setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
        }
    }
}

/* OUTDIR/recv.bin (the first datagram) and OUTDIR/recv.meta
 * ("count=N len=L sport=P"). */
static APP_UNUSED void
write_recv (const struct first_dgram *d)
{
  char meta[128], text[INET6_ADDRSTRLEN];
  int sport;

  addr_str (&d->from, text, sizeof (text), &sport);
  write_file ("recv.bin", d->data, d->len);
  snprintf (meta, sizeof (meta), "count=%d len=%zd sport=%d\n", d->count, d->len, sport);
  write_file ("recv.meta", meta, strlen (meta));
}

#endif
