/* udprecv: a receiver only, for end-to-end tests where the corked
 * datagram goes to another host or container (udpapp -R on the sender).
 * Static, no libc name lookups.
 *
 *   udprecv -f 4|6 [-a ADDR] [-p PORT] [-o OUTDIR]
 *
 * Binds ADDR:PORT (default the wildcard address, port 9000), writes
 * OUTDIR/listening, waits for the first datagram, then for 1 s of silence
 * (to count duplicates), and writes OUTDIR/recv.bin (the first datagram),
 * OUTDIR/recv.from (its source address) and last OUTDIR/recv.meta
 * ("count=N len=L sport=P", as udpapp's receiver). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *out = "/out";

static void
die (const char *what)
{
  fprintf (stderr, "udprecv: %s: %s\n", what, strerror (errno));
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

int
main (int argc, char **argv)
{
  static unsigned char buf[65536], first[65536];
  const char *addr = NULL;
  int family = 4, port = 9000, opt, fd, count = 0, sport = 0;
  struct sockaddr_storage ss, from, first_from;
  struct timeval tv = { 1, 0 };
  ssize_t r, first_len = -1;
  char meta[128], text[INET6_ADDRSTRLEN + 2];
  socklen_t l;

  while ((opt = getopt (argc, argv, "f:a:p:o:")) != -1)
    switch (opt)
      {
      case 'f': family = atoi (optarg); break;
      case 'a': addr = optarg; break;
      case 'p': port = atoi (optarg); break;
      case 'o': out = optarg; break;
      default: return 2;
      }
  if (addr == NULL)
    addr = family == 4 ? "0.0.0.0" : "::";

  memset (&ss, 0, sizeof (ss));
  if (family == 4)
    {
      struct sockaddr_in *s = (struct sockaddr_in *) &ss;
      s->sin_family = AF_INET;
      s->sin_port = htons (port);
      if (inet_pton (AF_INET, addr, &s->sin_addr) != 1)
        die ("bad IPv4 address");
      l = sizeof (*s);
    }
  else
    {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *) &ss;
      s->sin6_family = AF_INET6;
      s->sin6_port = htons (port);
      if (inet_pton (AF_INET6, addr, &s->sin6_addr) != 1)
        die ("bad IPv6 address");
      l = sizeof (*s);
    }
  fd = socket (ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &ss, l) < 0)
    die ("bind");
  write_file ("listening", "", 0);

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
          first_from = from;
          /* after the first datagram, wait 1 s for duplicates */
          setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
        }
    }
  if (first_from.ss_family == AF_INET)
    {
      struct sockaddr_in *s = (struct sockaddr_in *) &first_from;
      sport = ntohs (s->sin_port);
      inet_ntop (AF_INET, &s->sin_addr, text, sizeof (text));
    }
  else
    {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *) &first_from;
      sport = ntohs (s->sin6_port);
      inet_ntop (AF_INET6, &s->sin6_addr, text, sizeof (text));
    }
  strcat (text, "\n");
  write_file ("recv.bin", first, first_len);
  write_file ("recv.from", text, strlen (text));
  snprintf (meta, sizeof (meta), "count=%d len=%zd sport=%d\n", count, first_len, sport);
  write_file ("recv.meta", meta, strlen (meta));
  return 0;
}
