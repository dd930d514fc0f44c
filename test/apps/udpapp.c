// SPDX-License-Identifier: GPL-2.0-or-later
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
#include <netinet/udp.h>
#include <sys/wait.h>

#define APP_NAME "udpapp"
#include "app.h"

static int
receiver (int fd)
{
  static struct first_dgram d;

  recv_first (fd, &d);
  write_recv (&d);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *mode = "cork", *sizes = "100", *addr = NULL;
  int family = 4, rport = 9000, sport = 9001, opt, fd, one = 1, zero = 0, local_recv = 1;
  struct sockaddr_storage dst;
  unsigned char *payload = NULL;
  size_t total = 0;
  socklen_t dl;
  pid_t child = -1;

  while ((opt = getopt (argc, argv, "f:m:s:d:p:q:o:R")) != -1)
    switch (opt)
      {
      case 'f':
        family = atoi (optarg);
        break;
      case 'm':
        mode = optarg;
        break;
      case 's':
        sizes = optarg;
        break;
      case 'd':
        addr = optarg;
        break;
      case 'p':
        rport = atoi (optarg);
        break;
      case 'q':
        sport = atoi (optarg);
        break;
      case 'o':
        out = optarg;
        break;
      case 'R':
        local_recv = 0;
        break;
      default:
        return 2;
      }
  if (addr == NULL)
    addr = local_addr (family, 1);

  /* stdio inside the container, so that CRIU sees no outside file */
  stdio_to_log (STDIO_KEEP);

  if (local_recv)
    {
      fd = bound_socket (family_domain (family), addr, rport);
      child = fork ();
      if (child < 0)
        die ("fork");
      if (child == 0)
        return receiver (fd);
      close (fd);
    }

  fd = bound_socket (family_domain (family), local_addr (family, 0), sport);
  dl = make_addr (family_domain (family), addr, rport, &dst);
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
