// SPDX-License-Identifier: GPL-2.0-or-later
/* oddsock: a container init holding a corked UDP socket that the kernel's
 * UDP iterator does not visit.
 *
 *   oddsock unhashed   auto-bound UDP socket, corked, then connect(AF_UNSPEC)
 *                      (the kernel unhashes it; the pending datagram stays)
 *   oddsock udplite    UDP-Lite socket with a corked datagram
 *
 * Writes /out/ready (or /out/unsupported with the reason), waits for
 * /out/go, then writes the socket's write queue size (SIOCOUTQ) to
 * /out/outq and /out/done, and idles. Static, EINTR-safe. */
#include <linux/sockios.h>
#include <sys/ioctl.h>

#define APP_NAME "oddsock"
#include "app.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDP_CORK 1

/* OUTDIR/NAME, best effort */
static void
put (const char *name, const char *text)
{
  if (try_write_file (name, text, strlen (text)) < 0)
    perror (name);
}

int
main (int argc, char **argv)
{
  struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons (9000) };
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  int lite = argc > 1 && strcmp (argv[1], "udplite") == 0, one = 1, fd, q = -1;
  char buf[3000], line[64];

  stdio_to_log (STDIO_CLOSE_LOG);
  memset (buf, 'x', sizeof (buf));
  inet_pton (AF_INET, "127.0.0.1", &dst.sin_addr);
  fd = socket (AF_INET, SOCK_DGRAM, lite ? IPPROTO_UDPLITE : 0);
  if (fd < 0)
    {
      snprintf (line, sizeof (line), "socket: %s\n", strerror (errno));
      put ("unsupported", line);
      for (;;)
        nap_ms (20);
    }
  if (setsockopt (fd, lite ? IPPROTO_UDPLITE : IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0
      || sendto (fd, buf, sizeof (buf), 0, (struct sockaddr *) &dst, sizeof (dst)) != sizeof (buf))
    perror ("cork");
  if (! lite && connect (fd, &unspec, sizeof (unspec)) < 0)
    perror ("connect AF_UNSPEC");
  put ("ready", "");
  wait_file ("go");
  ioctl (fd, SIOCOUTQ, &q);
  snprintf (line, sizeof (line), "%d\n", q);
  put ("outq", line);
  put ("done", "");
  for (;;)
    nap_ms (20);
}
