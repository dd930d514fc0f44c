// SPDX-License-Identifier: GPL-2.0-or-later
/* rxq: the application of the receive-queue tests; a container's init.
 *
 *   rxq -f 4|6 -n N [-p PORT] [-s SIZES] [-c] [-o OUTDIR]
 *
 * The receiver binds the wildcard address, PORT (default 9100), with a big
 * receive buffer. A child process (the sender) binds several sockets to
 * different source addresses and ports (one of them 127.0.0.1:PORT+1 / the
 * same for ::1, which stays bound while the container is checkpointed and
 * restored), sends N datagrams round robin to different destination
 * addresses of the container (127.0.0.1, 127.0.0.5; ::1), with different
 * TTL/TOS and sizes (SIZES, comma-separated, cycled; default 1,100,1400,0,
 * 9000), writes OUTDIR/sent.txt and keeps its sockets open forever. The
 * receiver then writes OUTDIR/ready, waits for OUTDIR/go, reads every queued
 * datagram and writes OUTDIR/rx.txt, then OUTDIR/done. One line per
 * datagram in both files: "SRC SPORT DST TTL TOS LEN HASH", in order.
 * With -c the receiver socket also holds a corked datagram of 500 bytes
 * for 127.0.0.1:9999 / [::1]:9999 (uncorked after go). With -k K the app
 * uses SO_PEEK_OFF: before ready it peeks K datagrams; after go its first
 * peek (written to OUTDIR/peek.txt, same format) must be datagram K+1.
 * Static; every sleep and read retries on EINTR. */
#define _GNU_SOURCE
#include <netinet/udp.h>
#include <stdint.h>

#define APP_NAME "rxq"
#include "app.h"

static FILE *
open_out (const char *name, const char *mode)
{
  char p[256];
  FILE *f = fopen (out_path (p, sizeof (p), name), mode);
  if (f == NULL)
    die ("%s", p);
  return f;
}

static uint64_t
fnv (const unsigned char *p, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  while (n--)
    h = (h ^ *p++) * 1099511628211ull;
  return h;
}

static void
sender (int fam, int n, int port, const char *sizes)
{
  static const char *src4[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4" };
  static const char *dst4[] = { "127.0.0.1", "127.0.0.5" };
  static const char *src6[] = { "::1", "::1", "::1", "::1" };
  static const char *dst6[] = { "::1", "::1" };
  static unsigned char buf[65536];
  int fds[4], nsizes = 0, sz[32], one = 1;
  FILE *f = open_out ("sent.txt", "w");

  for (const char *s = sizes; s && *s && nsizes < 32; s = strchr (s, ',') ? strchr (s, ',') + 1 : NULL)
    sz[nsizes++] = atoi (s);
  for (int k = 0; k < 4; k++)
    {
      struct sockaddr_storage ss;
      /* source port PORT+1 from 127.0.0.1 stays bound here through the
       * checkpoint; the others get their own ports */
      socklen_t l
          = make_addr (family_domain (fam), fam == 4 ? src4[k] : src6[k], k == 0 ? port + 1 : port + 10 + k, &ss);
      int ttl = 20 + k * 40, tos = k * 0x24 + (k & 3);
      fds[k] = socket (family_domain (fam), SOCK_DGRAM, 0);
      if (fds[k] < 0)
        die ("socket");
      setsockopt (fds[k], SOL_IP, IP_FREEBIND, &one, sizeof (one));
      setsockopt (fds[k], SOL_IPV6, IPV6_FREEBIND, &one, sizeof (one));
      if (bind (fds[k], (struct sockaddr *) &ss, l) < 0)
        die ("bind sender");
      if (fam == 4)
        {
          setsockopt (fds[k], IPPROTO_IP, IP_TTL, &ttl, sizeof (ttl));
          setsockopt (fds[k], IPPROTO_IP, IP_TOS, &tos, sizeof (tos));
        }
      else
        {
          setsockopt (fds[k], IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof (ttl));
          setsockopt (fds[k], IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof (tos));
        }
    }
  for (int i = 0; i < n; i++)
    {
      int k = i % 4, len = nsizes ? sz[i % nsizes] : 100, ttl = 20 + k * 40, tos = k * 0x24 + (k & 3);
      const char *dst = fam == 4 ? dst4[i % 2] : dst6[i % 2];
      struct sockaddr_storage ss;
      socklen_t l = make_addr (family_domain (fam), dst, port, &ss);
      for (int j = 0; j < len; j++)
        buf[j] = (unsigned char) (i * 31 + j * 7);
      if (sendto (fds[k], buf, len, 0, (struct sockaddr *) &ss, l) != len)
        die ("sendto");
      fprintf (f, "%s %d %s %d %d %d %016llx\n", fam == 4 ? src4[k] : src6[k], k == 0 ? port + 1 : port + 10 + k, dst,
               ttl, tos, len, (unsigned long long) fnv (buf, len));
    }
  fclose (f);
  write_file ("sent", "", 0);
  for (;;)
    nap_ms (20);
}

int
main (int argc, char **argv)
{
  int fam = 4, n = 100, port = 9100, opt, fd, one = 1, big = 16 << 20, corked = 0, peeks = 0;
  const char *sizes = "1,100,1400,0,9000";
  static unsigned char buf[65536];
  struct sockaddr_storage ss;
  socklen_t l;
  FILE *f;

  while ((opt = getopt (argc, argv, "f:n:p:s:ck:o:")) != -1)
    switch (opt)
      {
      case 'f':
        fam = atoi (optarg);
        break;
      case 'n':
        n = atoi (optarg);
        break;
      case 'p':
        port = atoi (optarg);
        break;
      case 's':
        sizes = optarg;
        break;
      case 'c':
        corked = 1;
        break;
      case 'k':
        peeks = atoi (optarg);
        break;
      case 'o':
        out = optarg;
        break;
      default:
        return 2;
      }
  stdio_to_log (STDIO_CLOSE_LOG);
  fd = socket (family_domain (fam), SOCK_DGRAM, 0);
  l = make_addr (family_domain (fam), local_addr (fam, 0), port, &ss);
  if (fd < 0 || bind (fd, (struct sockaddr *) &ss, l) < 0)
    die ("bind receiver");
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof (big)) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof (big));
  if (corked)
    {
      struct sockaddr_storage d;
      socklen_t dl = make_addr (family_domain (fam), local_addr (fam, 1), 9999, &d);
      memset (buf, 'c', 500);
      if (setsockopt (fd, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0
          || sendto (fd, buf, 500, 0, (struct sockaddr *) &d, dl) != 500)
        die ("cork");
    }
  if (fork () == 0)
    sender (fam, n, port, sizes);
  wait_file ("sent");
  if (peeks > 0)
    {
      int zero = 0;
      if (setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof (zero)) < 0)
        die ("SO_PEEK_OFF");
      for (int i = 0; i < peeks; i++)
        while (recv (fd, buf, sizeof (buf), MSG_PEEK) < 0 && errno == EINTR)
          ;
    }
  write_file ("ready", "", 0);
  wait_file ("go");

  setsockopt (fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof (one));
  setsockopt (fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof (one));
  setsockopt (fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof (one));
  if (fam == 6)
    {
      setsockopt (fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof (one));
      setsockopt (fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof (one));
      setsockopt (fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof (one));
    }
  f = open_out (peeks > 0 ? "peek.txt" : "rx.txt", "w");
  for (int peeked = peeks > 0 ? 0 : 1;;)
    {
      union
      {
        char b[256];
        struct cmsghdr a;
      } cb;
      struct sockaddr_storage from;
      struct iovec iov = { buf, sizeof (buf) };
      struct msghdr m = { &from, sizeof (from), &iov, 1, cb.b, sizeof (cb.b), 0 };
      char src[64] = "?", dst[64] = "?";
      int ttl = -1, tos = -1, sport = 0;
      ssize_t r = recvmsg (fd, &m, MSG_DONTWAIT | (peeked ? 0 : MSG_PEEK));

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        break;
      addr_str (&from, src, sizeof (src), &sport);
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&m); c; c = CMSG_NXTHDR (&m, c))
        {
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
            inet_ntop (AF_INET, &((struct in_pktinfo *) CMSG_DATA (c))->ipi_addr, dst, sizeof (dst));
          else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
            inet_ntop (AF_INET6, &((struct in6_pktinfo *) CMSG_DATA (c))->ipi6_addr, dst, sizeof (dst));
          else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
            memcpy (&ttl, CMSG_DATA (c), sizeof (int));
          else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
            tos = *(unsigned char *) CMSG_DATA (c);
          else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            memcpy (&ttl, CMSG_DATA (c), sizeof (int));
          else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
            memcpy (&tos, CMSG_DATA (c), sizeof (int));
        }
      fprintf (f, "%s %d %s %d %d %zd %016llx\n", src, sport, dst, ttl, tos, r, (unsigned long long) fnv (buf, r));
      if (! peeked)
        {
          /* then read the whole queue from its head */
          int off = -1;
          fclose (f);
          setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof (off));
          f = open_out ("rx.txt", "w");
          peeked = 1;
        }
    }
  fclose (f);
  if (corked)
    {
      int zero = 0;
      setsockopt (fd, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero));
    }
  write_file ("done", "", 0);
  for (;;)
    nap_ms (20);
}
