// SPDX-License-Identifier: GPL-2.0-or-later
/* seqapp: steady corked traffic for the load tests; a container's init.
 *
 *   seqapp [-f 4|6] [-i USEC] [-o OUTDIR]
 *
 * The sender corks datagram k as three writes (UDP_CORK on, "k" split over
 * 8+100+k%900 bytes, UDP_CORK off), then sleeps USEC (default 2000), over
 * and over, until OUTDIR/stop exists; then it writes OUTDIR/sent ("N": the
 * number of datagrams completed). The receiver (a child) checks each
 * datagram's sequence number and payload and, after OUTDIR/sent plus 1 s of
 * silence, writes OUTDIR/result "received=R lost=L dup=D reorder=R bad=B last=K"
 * and OUTDIR/done. Every sleep and read retries on EINTR. */
#include <netinet/udp.h>
#include <stdint.h>

#define APP_NAME "seqapp"
#include "app.h"

/* OUTDIR/NAME, best effort */
static void
put (const char *name, const char *text)
{
  try_write_file (name, text, strlen (text));
}

static unsigned char
pat (uint32_t k, size_t i)
{
  return (unsigned char) (k * 13 + i * 7);
}

static int
receiver (int fd)
{
  static unsigned char buf[2048];
  uint64_t received = 0, lost = 0, dup = 0, reorder = 0, bad = 0;
  int64_t last = -1, sent = -1, quiet = 0;
  struct timeval tv = { 0, 100000 };
  char line[256];

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  for (;;)
    {
      ssize_t r = recv (fd, buf, sizeof (buf), 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          if (sent < 0 && have_file ("sent"))
            {
              FILE *f;
              char p[256];
              f = fopen (out_path (p, sizeof (p), "sent"), "r");
              if (f && fscanf (f, "%ld", &sent) != 1)
                sent = 0;
              if (f)
                fclose (f);
            }
          if (sent >= 0 && ++quiet >= 10)
            break;
          continue;
        }
      quiet = 0;
      uint32_t k;
      if (r < 4)
        {
          bad++;
          continue;
        }
      memcpy (&k, buf, 4);
      k = ntohl (k);
      for (ssize_t i = 4; i < r; i++)
        if (buf[i] != pat (k, i))
          {
            bad++;
            break;
          }
      if ((size_t) r != 108 + k % 900)
        bad++;
      received++;
      if ((int64_t) k == last + 1)
        last = k;
      else if ((int64_t) k > last + 1)
        {
          lost += k - last - 1; /* counted back if it comes later */
          last = k;
        }
      else
        {
          /* older than the newest: a duplicate or a late (reordered) one */
          reorder++;
          if (lost)
            lost--;
          else
            dup++;
        }
    }
  if (sent > last + 1)
    lost += sent - (last + 1);
  snprintf (line, sizeof (line), "received=%llu lost=%llu dup=%llu reorder=%llu bad=%llu last=%lld\n",
            (unsigned long long) received, (unsigned long long) lost, (unsigned long long) dup,
            (unsigned long long) reorder, (unsigned long long) bad, (long long) last);
  put ("result", line);
  put ("done", "");
  return 0;
}

int
main (int argc, char **argv)
{
  int fam = 4, opt, r, s, one = 1, zero = 0;
  long interval = 2000;
  struct sockaddr_storage dst;
  socklen_t dl;
  static unsigned char buf[1024];
  uint32_t k = 0;
  char line[64];

  while ((opt = getopt (argc, argv, "f:i:o:")) != -1)
    switch (opt)
      {
      case 'f':
        fam = atoi (optarg);
        break;
      case 'i':
        interval = atol (optarg);
        break;
      case 'o':
        out = optarg;
        break;
      default:
        return 2;
      }
  stdio_to_log (STDIO_KEEP);
  dl = make_addr (family_domain (fam), local_addr (fam, 1), 9300, &dst);
  r = socket (family_domain (fam), SOCK_DGRAM, 0);
  {
    int big = 8 << 20;
    setsockopt (r, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof (big));
  }
  if (bind (r, (struct sockaddr *) &dst, dl) < 0)
    return 1;
  if (fork () == 0)
    return receiver (r);
  close (r);
  s = socket (family_domain (fam), SOCK_DGRAM, 0);
  put ("ready", "");
  while (! have_file ("stop"))
    {
      uint32_t n = htonl (k);
      size_t len = 108 + k % 900;
      memcpy (buf, &n, 4);
      for (size_t i = 4; i < len; i++)
        buf[i] = pat (k, i);
      setsockopt (s, IPPROTO_UDP, UDP_CORK, &one, sizeof (one));
      if (sendto (s, buf, 8, 0, (struct sockaddr *) &dst, dl) != 8
          || sendto (s, buf + 8, 100, 0, (struct sockaddr *) &dst, dl) != 100
          || sendto (s, buf + 108, len - 108, 0, (struct sockaddr *) &dst, dl) != (ssize_t) (len - 108))
        {
          perror ("sendto");
          return 1;
        }
      nap_us (interval / 2); /* pending for a while: checkpoints land here too */
      setsockopt (s, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero));
      k++;
      nap_us (interval / 2);
    }
  snprintf (line, sizeof (line), "%u\n", k);
  put ("sent", line);
  for (;;)
    nap_us (100000);
}
