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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDP_CORK 1

static void
put (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0)
    {
      if (write (fd, text, strlen (text)) < 0)
        perror (path);
      close (fd);
    }
}

static void
nap (void)
{
  struct timespec ts = { 0, 20000000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
main (int argc, char **argv)
{
  struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons (9000) };
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  int lite = argc > 1 && strcmp (argv[1], "udplite") == 0, one = 1, fd, q = -1, null;
  char buf[3000], line[64];
  struct stat st;

  null = open ("/dev/null", O_RDWR);
  dup2 (null, 0);
  fd = open ("/out/log", O_WRONLY | O_CREAT | O_APPEND, 0644);
  dup2 (fd, 1);
  dup2 (fd, 2);
  close (fd);
  memset (buf, 'x', sizeof (buf));
  inet_pton (AF_INET, "127.0.0.1", &dst.sin_addr);
  fd = socket (AF_INET, SOCK_DGRAM, lite ? IPPROTO_UDPLITE : 0);
  if (fd < 0)
    {
      snprintf (line, sizeof (line), "socket: %s\n", strerror (errno));
      put ("/out/unsupported", line);
      for (;;)
        nap ();
    }
  if (setsockopt (fd, lite ? IPPROTO_UDPLITE : IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0
      || sendto (fd, buf, sizeof (buf), 0, (struct sockaddr *) &dst, sizeof (dst)) != sizeof (buf))
    perror ("cork");
  if (! lite && connect (fd, &unspec, sizeof (unspec)) < 0)
    perror ("connect AF_UNSPEC");
  put ("/out/ready", "");
  while (stat ("/out/go", &st) < 0)
    nap ();
  ioctl (fd, SIOCOUTQ, &q);
  snprintf (line, sizeof (line), "%d\n", q);
  put ("/out/outq", line);
  put ("/out/done", "");
  for (;;)
    nap ();
}
