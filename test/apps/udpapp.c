/* udpapp: the application of the end-to-end tests; runs as a container's
 * init. Static, no libc name lookups.
 *
 *   udpapp -f 4|6 -m cork|more -s 100,100,3000 [-d ADDR] [-p RECVPORT] [-q SENDPORT] [-o OUTDIR] [-R]
 *
 * Forks a receiver bound to ADDR:RECVPORT, then corks one datagram on a
 * sender bound to SENDPORT: with UDP_CORK (-m cork) or with MSG_MORE on every
 * write (-m more), one write per size. Writes OUTDIR/sent.bin (the payload
 * it expects to arrive) and OUTDIR/ready, then waits for OUTDIR/go; then it
 * uncorks (or sends an empty last write without MSG_MORE) and waits for the
 * receiver, which writes OUTDIR/recv.bin (the first datagram) and
 * OUTDIR/recv.meta ("count=N len=L sport=P") after 1 s of silence. Finally
 * OUTDIR/done. With -R there is no local receiver: the datagram goes to
 * ADDR:RECVPORT somewhere else (e.g. udprecv in another container), and
 * OUTDIR/done comes right after the uncork. Every sleep and read retries on EINTR (CRIU restores
 * interrupted syscalls that way). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *out = "/out";

static void
die (const char *what)
{
  fprintf (stderr, "udpapp: %s: %s\n", what, strerror (errno));
  exit (1);
}

static void
write_file (const char *name, const void *data, size_t len)
{
  char path[256], tmp[300];
  int fd;

  snprintf (path, sizeof (path), "%s/%s", out, name);
  snprintf (tmp, sizeof (tmp), "%s.tmp", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || (len && write (fd, data, len) != (ssize_t) len) || close (fd) < 0 || rename (tmp, path) < 0)
    die (path);
}

static void
nap_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void
wait_file (const char *name)
{
  char path[256];
  struct stat st;

  snprintf (path, sizeof (path), "%s/%s", out, name);
  while (stat (path, &st) < 0)
    nap_ms (20);
}

static socklen_t
make_addr (int family, const char *addr, int port, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (family == 4)
    {
      struct sockaddr_in *s = (struct sockaddr_in *) ss;
      s->sin_family = AF_INET;
      s->sin_port = htons (port);
      if (inet_pton (AF_INET, addr, &s->sin_addr) != 1)
        die ("bad IPv4 address");
      return sizeof (*s);
    }
  struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
  s->sin6_family = AF_INET6;
  s->sin6_port = htons (port);
  if (inet_pton (AF_INET6, addr, &s->sin6_addr) != 1)
    die ("bad IPv6 address");
  return sizeof (*s);
}

static int
bound_socket (int family, const char *addr, int port)
{
  struct sockaddr_storage ss;
  socklen_t l = make_addr (family, addr, port, &ss);
  int fd = socket (family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *) &ss, l) < 0)
    die ("bind");
  return fd;
}

static int
receiver (int fd)
{
  static unsigned char buf[65536], first[65536];
  struct sockaddr_storage from;
  struct timeval tv = { 1, 0 };
  ssize_t r, first_len = -1;
  int count = 0, sport = 0;
  char meta[128];

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
      if (count++ == 0)
        {
          memcpy (first, buf, r);
          first_len = r;
          sport = ntohs (from.ss_family == AF_INET ? ((struct sockaddr_in *) &from)->sin_port
                                                   : ((struct sockaddr_in6 *) &from)->sin6_port);
          /* after the first datagram, wait 1 s for duplicates */
          setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
        }
    }
  write_file ("recv.bin", first, first_len);
  snprintf (meta, sizeof (meta), "count=%d len=%zd sport=%d\n", count, first_len, sport);
  write_file ("recv.meta", meta, strlen (meta));
  return 0;
}

int
main (int argc, char **argv)
{
  const char *mode = "cork", *sizes = "100", *addr = NULL;
  int family = 4, rport = 9000, sport = 9001, opt, fd, one = 1, zero = 0, null, local_recv = 1;
  struct sockaddr_storage dst;
  unsigned char *payload = NULL;
  size_t total = 0;
  socklen_t dl;
  pid_t child = -1;

  while ((opt = getopt (argc, argv, "f:m:s:d:p:q:o:R")) != -1)
    switch (opt)
      {
      case 'f': family = atoi (optarg); break;
      case 'm': mode = optarg; break;
      case 's': sizes = optarg; break;
      case 'd': addr = optarg; break;
      case 'p': rport = atoi (optarg); break;
      case 'q': sport = atoi (optarg); break;
      case 'o': out = optarg; break;
      case 'R': local_recv = 0; break;
      default: return 2;
      }
  if (addr == NULL)
    addr = family == 4 ? "127.0.0.1" : "::1";

  /* stdio inside the container, so that CRIU sees no outside file */
  {
    char log[256];
    snprintf (log, sizeof (log), "%s/log", out);
    null = open ("/dev/null", O_RDONLY);
    fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null >= 0)
      dup2 (null, 0);
    if (fd >= 0)
      {
        dup2 (fd, 1);
        dup2 (fd, 2);
      }
  }

  if (local_recv)
    {
      fd = bound_socket (family, addr, rport);
      child = fork ();
      if (child < 0)
        die ("fork");
      if (child == 0)
        return receiver (fd);
      close (fd);
    }

  fd = bound_socket (family, family == 4 ? "0.0.0.0" : "::", sport);
  dl = make_addr (family, addr, rport, &dst);
  if (strcmp (mode, "cork") == 0 && setsockopt (fd, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0)
    die ("UDP_CORK");
  for (const char *s = sizes; *s;)
    {
      size_t n = strtoul (s, NULL, 10), i;
      payload = realloc (payload, total + n + 1);
      for (i = 0; i < n; i++)
        payload[total + i] = (unsigned char) ((total + i) * 7 + 13);
      if (sendto (fd, payload + total, n, MSG_MORE, (struct sockaddr *) &dst, dl) != (ssize_t) n)
        die ("sendto");
      total += n;
      s = strchr (s, ',');
      if (s == NULL)
        break;
      s++;
    }
  write_file ("sent.bin", payload, total);
  write_file ("ready", "", 0);
  printf ("udpapp: %zu bytes pending (%s), waiting for %s/go\n", total, mode, out);
  fflush (stdout);

  wait_file ("go");
  if (strcmp (mode, "cork") == 0)
    {
      if (setsockopt (fd, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero)) < 0)
        die ("UDP_CORK=0");
    }
  else if (sendto (fd, "", 0, 0, (struct sockaddr *) &dst, dl) < 0)
    die ("last sendto");
  while (child > 0 && waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  write_file ("done", "", 0);
  return 0;
}
