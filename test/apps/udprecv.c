// SPDX-License-Identifier: GPL-2.0-or-later
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
#define APP_NAME "udprecv"
#include "app.h"

int
main (int argc, char **argv)
{
  static struct first_dgram d;
  const char *addr = NULL;
  int family = 4, port = 9000, opt, fd, sport;
  char text[INET6_ADDRSTRLEN + 2];

  while ((opt = getopt (argc, argv, "f:a:p:o:")) != -1)
    switch (opt)
      {
      case 'f':
        family = atoi (optarg);
        break;
      case 'a':
        addr = optarg;
        break;
      case 'p':
        port = atoi (optarg);
        break;
      case 'o':
        out = optarg;
        break;
      default:
        return 2;
      }
  if (addr == NULL)
    addr = local_addr (family, 0);

  fd = bound_socket (family_domain (family), addr, port);
  write_file ("listening", "", 0);

  recv_first (fd, &d);
  addr_str (&d.from, text, sizeof (text), &sport);
  strcat (text, "\n");
  write_file ("recv.from", text, strlen (text));
  write_recv (&d); /* recv.meta last */
  return 0;
}
