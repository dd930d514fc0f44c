// SPDX-License-Identifier: GPL-2.0-or-later
/* fidelity: the application of the randomized fidelity test
 * (test/e2e/fidelity.bats); runs as a container's init. Static, no libc
 * name lookups.
 *
 *   fidelity CASEFILE [OUTDIR]       (OUTDIR defaults to /out)
 *
 * CASEFILE (made by test/fidelity/gen) has one case per line, key=value
 * fields separated by blanks; '#' lines are comments:
 *
 *   id=N         case id (unique in the file)
 *   proc=P       0: socket of the init; 1, 2: socket of forked child P
 *   fam=4|6|m    IPv4, IPv6, or an IPv6 socket sending to ::ffff:127.x
 *   conn=0|1     connect() + send(), or sendto()
 *   bind=auto|any|lo   never bound (port picked by the kernel), or bound to
 *                the wildcard / loopback address and port=PORT
 *   port=PORT rport=RPORT dst=ADDR   local port, receiver port, destination
 *   mode=cork|more   UDP_CORK, or MSG_MORE on every write
 *   w=S1,S2,...  the writes before the checkpoint (first one carries the cmsgs)
 *   post=S1,...|-    writes after "go", before the datagram is completed
 *   ttl= tos= prio= mark= gso= df= opts=  s:VALUE (socket option before the
 *                first write), c:VALUE (cmsg on the first write) or -
 *                (opts: nop|rr; gso: UDP_SEGMENT size; df: IPV6_DONTFRAG)
 *   src=ADDR|-   IP_PKTINFO / IPV6_PKTINFO source (cmsg on the first write)
 *   ifi=0|1      PKTINFO ipi_ifindex = lo
 *   dev=0|1      SO_BINDTODEVICE lo
 *   rp=0|1       SO_REUSEPORT, with an idle second socket in the group
 *   dup=0|1      the datagram is completed through a dup() of the socket
 *   flow=0|1     record the IPv6 flow label at the receiver
 *   next=0|1     after the completion, send one more datagram (4 bytes, no
 *                cmsgs): the socket options as restored
 *
 * Sequence: the init adds fd00::2 and fd00::3 to lo, binds one receiver per
 * case, forks the children, and every process corks its cases' datagrams.
 * Then OUTDIR/ports ("ID PORT", the local port after the first write) and
 * OUTDIR/ready; it waits for OUTDIR/go, turns the receivers' options on
 * (after a restore, since CRIU does not keep them all), writes OUTDIR/go2
 * (the children wait for it), does the "post" writes and completes every
 * datagram: UDP_CORK=0, or a last write without MSG_MORE. Each receiver
 * (UDP_GRO on: a GSO datagram arrives whole with its segment size) records
 * every datagram: length, SHA-256, source, destination, ifindex, TTL/hop
 * limit, TOS/traffic class, GRO size, skb mark and priority (SO_RCVMARK,
 * SO_RCVPRIORITY), IPv4 options, flow label. OUTDIR/result: per case a line
 * "id=N port=... complete=... ndg=K" then one line per datagram, by case
 * id; the local port of an auto-bound socket is written "auto" when the
 * datagram came from the port seen before "ready", else "CHANGED:a->b".
 * Errors say ERR. Finally OUTDIR/done. Every sleep and read retries on
 * EINTR (CRIU restores interrupted syscalls that way). */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <net/if.h>

#define APP_NAME "fidelity"
#include "app.h"

#ifndef UDP_CORK
#define UDP_CORK 1
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11
#endif
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY 82
#endif

#define MAX_CASES 256
#define MAX_W 16

struct acase
{
  /* from the case file */
  int id, proc, conn, port, rport, cork, nw, w[MAX_W], npost, post[MAX_W];
  char fam, bind[8], dst[64], src[64];
  int ttl, tos, prio, mark, gso, df, opts;                              /* values */
  char ttl_how, tos_how, prio_how, mark_how, gso_how, df_how, opts_how; /* 0, 's', 'c' */
  int ifi, dev, rp, dup, flow, next;
  /* run time (shared memory: children fill in their cases) */
  int fd, fd2, partner, rfd, port_before;
  size_t total;
  char err[160], complete[160];
};

static struct acase *cases;
static int ncases;

/* --- SHA-256 -------------------------------------------------------------- */
static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block (uint32_t h[8], const unsigned char *p)
{
  uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
  int i;

  for (i = 0; i < 16; i++)
    w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
  for (i = 16; i < 64; i++)
    w[i] = w[i - 16] + (ROR (w[i - 15], 7) ^ ROR (w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7]
           + (ROR (w[i - 2], 17) ^ ROR (w[i - 2], 19) ^ (w[i - 2] >> 10));
  a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (i = 0; i < 64; i++)
    {
      t1 = hh + (ROR (e, 6) ^ ROR (e, 11) ^ ROR (e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      t2 = (ROR (a, 2) ^ ROR (a, 13) ^ ROR (a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void
sha256_hex (const unsigned char *data, size_t len, char hex[65])
{
  uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  unsigned char blk[128];
  size_t i = 0, rest, n;
  uint64_t bits = (uint64_t) len * 8;

  for (; i + 64 <= len; i += 64)
    sha256_block (h, data + i);
  rest = len - i;
  memset (blk, 0, sizeof (blk));
  memcpy (blk, data + i, rest);
  blk[rest] = 0x80;
  n = rest + 1 + 8 <= 64 ? 64 : 128;
  for (i = 0; i < 8; i++)
    blk[n - 1 - i] = (unsigned char) (bits >> (8 * i));
  sha256_block (h, blk);
  if (n == 128)
    sha256_block (h, blk + 64);
  for (i = 0; i < 8; i++)
    sprintf (hex + 8 * i, "%08x", h[i]);
}

/* --- case file -------------------------------------------------------------- */
static int
parse_list (const char *v, int *a)
{
  int n = 0;
  if (strcmp (v, "-") == 0)
    return 0;
  while (*v && n < MAX_W)
    {
      a[n++] = atoi (v);
      v = strchr (v, ',');
      if (v == NULL)
        break;
      v++;
    }
  return n;
}

/* "s:5", "c:5" or "-" */
static void
parse_how (const char *v, char *how, int *val)
{
  *how = 0;
  if (strcmp (v, "-") == 0)
    return;
  if ((v[0] != 's' && v[0] != 'c') || v[1] != ':')
    {
      errno = EINVAL;
      die ("bad attribute value '%s'", v);
    }
  *how = v[0];
  if (strcmp (v + 2, "nop") == 0)
    *val = 1;
  else if (strcmp (v + 2, "rr") == 0)
    *val = 2;
  else
    *val = atoi (v + 2);
}

static int lo_mtu;

/* A smaller MTU on lo: datagrams bigger than it sit in several skbs while
 * corked (and leave as IP fragments). */
static void
set_lo_mtu (int mtu)
{
  struct ifreq ifr = { 0 };
  int s = socket (AF_INET, SOCK_DGRAM, 0);

  strcpy (ifr.ifr_name, "lo");
  ifr.ifr_mtu = mtu;
  if (s < 0 || ioctl (s, SIOCSIFMTU, &ifr) < 0)
    die ("set lo mtu %d", mtu);
  close (s);
}

static void
read_cases (const char *file)
{
  FILE *f = fopen (file, "r");
  char line[2048];

  if (f == NULL)
    die ("%s", file);
  while (fgets (line, sizeof (line), f))
    {
      struct acase *c;
      char *tok, *save = NULL;

      if (line[0] == '#' || line[0] == '\n')
        continue;
      if (strncmp (line, "mtu=", 4) == 0)
        {
          lo_mtu = atoi (line + 4); /* lo's MTU for the whole run */
          continue;
        }
      if (ncases == MAX_CASES)
        {
          errno = E2BIG;
          die ("%s", file);
        }
      c = &cases[ncases++];
      memset (c, 0, sizeof (*c));
      c->fd = c->fd2 = c->partner = c->rfd = -1;
      strcpy (c->bind, "auto");
      c->fam = '4';
      for (tok = strtok_r (line, " \t\n", &save); tok; tok = strtok_r (NULL, " \t\n", &save))
        {
          char *v = strchr (tok, '=');
          if (v == NULL)
            continue;
          *v++ = 0;
#define IS(k) (strcmp (tok, k) == 0)
          if (IS ("id"))
            c->id = atoi (v);
          else if (IS ("proc"))
            c->proc = atoi (v);
          else if (IS ("fam"))
            c->fam = v[0];
          else if (IS ("conn"))
            c->conn = atoi (v);
          else if (IS ("bind"))
            snprintf (c->bind, sizeof (c->bind), "%s", v);
          else if (IS ("port"))
            c->port = atoi (v);
          else if (IS ("rport"))
            c->rport = atoi (v);
          else if (IS ("dst"))
            snprintf (c->dst, sizeof (c->dst), "%s", v);
          else if (IS ("src"))
            snprintf (c->src, sizeof (c->src), "%s", strcmp (v, "-") ? v : "");
          else if (IS ("mode"))
            c->cork = strcmp (v, "cork") == 0;
          else if (IS ("w"))
            c->nw = parse_list (v, c->w);
          else if (IS ("post"))
            c->npost = parse_list (v, c->post);
          else if (IS ("ttl"))
            parse_how (v, &c->ttl_how, &c->ttl);
          else if (IS ("tos"))
            parse_how (v, &c->tos_how, &c->tos);
          else if (IS ("prio"))
            parse_how (v, &c->prio_how, &c->prio);
          else if (IS ("mark"))
            parse_how (v, &c->mark_how, &c->mark);
          else if (IS ("gso"))
            parse_how (v, &c->gso_how, &c->gso);
          else if (IS ("df"))
            parse_how (v, &c->df_how, &c->df);
          else if (IS ("opts"))
            parse_how (v, &c->opts_how, &c->opts);
          else if (IS ("ifi"))
            c->ifi = atoi (v);
          else if (IS ("dev"))
            c->dev = atoi (v);
          else if (IS ("rp"))
            c->rp = atoi (v);
          else if (IS ("dup"))
            c->dup = atoi (v);
          else if (IS ("flow"))
            c->flow = atoi (v);
          else if (IS ("next"))
            c->next = atoi (v);
#undef IS
        }
      if (c->nw == 0)
        c->w[c->nw++] = 0;
    }
  fclose (f);
}

/* --- addresses ------------------------------------------------------------- */
static int
domain_of (const struct acase *c)
{
  return c->fam == '4' ? AF_INET : AF_INET6;
}

/* Add ADDR/128 (no DAD) to lo (ifindex 1) with rtnetlink. */
static void
add_addr6 (const char *addr)
{
  struct
  {
    struct nlmsghdr nh;
    struct ifaddrmsg ifa;
    char attrs[64];
  } req;
  struct rtattr *rta;
  char ack[512];
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  int s = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ssize_t r;

  memset (&req, 0, sizeof (req));
  req.nh.nlmsg_len = NLMSG_LENGTH (sizeof (struct ifaddrmsg));
  req.nh.nlmsg_type = RTM_NEWADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifa.ifa_family = AF_INET6;
  req.ifa.ifa_prefixlen = 128;
  req.ifa.ifa_flags = IFA_F_NODAD;
  req.ifa.ifa_index = 1;
  for (int t = IFA_LOCAL; t >= IFA_ADDRESS; t--)
    {
      rta = (struct rtattr *) ((char *) &req + NLMSG_ALIGN (req.nh.nlmsg_len));
      rta->rta_type = t;
      rta->rta_len = RTA_LENGTH (16);
      inet_pton (AF_INET6, addr, RTA_DATA (rta));
      req.nh.nlmsg_len = NLMSG_ALIGN (req.nh.nlmsg_len) + RTA_ALIGN (rta->rta_len);
    }
  if (s < 0 || sendto (s, &req, req.nh.nlmsg_len, 0, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    die ("netlink RTM_NEWADDR %s", addr);
  do
    r = recv (s, ack, sizeof (ack), 0);
  while (r < 0 && errno == EINTR);
  if (r < (ssize_t) NLMSG_LENGTH (sizeof (struct nlmsgerr)))
    die ("netlink ack");
  struct nlmsghdr *nh = (struct nlmsghdr *) ack;
  if (nh->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *) NLMSG_DATA (nh))->error)
    {
      errno = -((struct nlmsgerr *) NLMSG_DATA (nh))->error;
      die ("add %s to lo", addr);
    }
  close (s);
}

/* The kernel installs the local route of a new IPv6 address from its DAD
 * work, a moment after RTM_NEWADDR: wait until ADDR is bindable and a
 * datagram to it would leave from it (a corked datagram keeps the route it
 * got at its first write). */
static void
wait_local6 (const char *addr)
{
  for (int i = 0; i < 500; i++)
    {
      struct sockaddr_storage ss, me;
      socklen_t l = make_addr (AF_INET6, addr, 9, &ss), ml = sizeof (me);
      int s = socket (AF_INET6, SOCK_DGRAM, 0), ok;
      struct sockaddr_storage b;
      socklen_t bl = make_addr (AF_INET6, addr, 0, &b);
      char a[64];
      int port;

      ok = s >= 0 && bind (s, (struct sockaddr *) &b, bl) == 0 && connect (s, (struct sockaddr *) &ss, l) == 0
           && getsockname (s, (struct sockaddr *) &me, &ml) == 0
           && strcmp (addr_str (&me, a, sizeof (a), &port), addr) == 0;
      if (s >= 0)
        close (s);
      if (ok)
        {
          /* and the local route: a second socket, unbound */
          s = socket (AF_INET6, SOCK_DGRAM, 0);
          ml = sizeof (me);
          ok = s >= 0 && connect (s, (struct sockaddr *) &ss, l) == 0
               && getsockname (s, (struct sockaddr *) &me, &ml) == 0
               && strcmp (addr_str (&me, a, sizeof (a), &port), addr) == 0;
          if (s >= 0)
            close (s);
          if (ok)
            return;
        }
      nap_ms (10);
    }
  errno = ETIMEDOUT;
  die ("%s never became usable on lo", addr);
}

/* --- the datagrams ---------------------------------------------------------- */
/* Payload byte I of case ID: the same in every run. */
static unsigned char *
payload_of (const struct acase *c, size_t *len)
{
  size_t n = 0, i;
  unsigned char *p;
  uint32_t x = 2166136261u ^ (uint32_t) c->id * 16777619u;

  for (int k = 0; k < c->nw; k++)
    n += c->w[k];
  for (int k = 0; k < c->npost; k++)
    n += c->post[k];
  p = malloc (n + 1);
  if (p == NULL)
    die ("malloc");
  for (i = 0; i < n; i++)
    {
      x = x * 1103515245u + 12345u;
      p[i] = (unsigned char) (x >> 23);
    }
  *len = n;
  return p;
}

struct cmsgs
{
  union
  {
    char buf[1024];
    struct cmsghdr align;
  } u;
  size_t len;
};

static void
cm_add (struct cmsgs *m, int level, int type, const void *data, size_t len)
{
  struct cmsghdr *h = (struct cmsghdr *) (m->u.buf + m->len);
  memset (h, 0, CMSG_SPACE (len));
  h->cmsg_level = level;
  h->cmsg_type = type;
  h->cmsg_len = CMSG_LEN (len);
  memcpy (CMSG_DATA (h), data, len);
  m->len += CMSG_SPACE (len);
}

static const unsigned char opt_nop[4] = { 1, 1, 1, 0 };
static const unsigned char opt_rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };

#define FAIL(...)                                                                                                      \
  do                                                                                                                   \
    {                                                                                                                  \
      int e_ = errno;                                                                                                  \
      int n_ = snprintf (c->err, sizeof (c->err), __VA_ARGS__);                                                        \
      snprintf (c->err + n_, sizeof (c->err) - n_, ": %s", strerror (e_));                                             \
      return -1;                                                                                                       \
    }                                                                                                                  \
  while (0)

static int
sockopt (int fd, int level, int name, int v)
{
  return setsockopt (fd, level, name, &v, sizeof (v));
}

static int
bind_like (const struct acase *c, int fd)
{
  struct sockaddr_storage ss;
  int dom = domain_of (c);
  const char *a
      = strcmp (c->bind, "lo") == 0 ? (dom == AF_INET ? "127.0.0.1" : "::1") : (dom == AF_INET ? "0.0.0.0" : "::");
  socklen_t l = make_addr (dom, a, c->port, &ss);
  return bind (fd, (struct sockaddr *) &ss, l);
}

/* Socket, options, bind, connect, cork, the writes: the pending datagram. */
static int
build (struct acase *c)
{
  int dom = domain_of (c), v4 = c->fam != '6', fd;
  struct sockaddr_storage dst, me;
  socklen_t dl = make_addr (dom, c->dst, c->rport, &dst), ml = sizeof (me);
  unsigned char *p = payload_of (c, &c->total);
  size_t off = 0;
  struct cmsgs m = { .len = 0 };
  struct iovec iov;
  struct msghdr msg = { 0 };
  int port;
  char a[64];

  fd = c->fd = socket (dom, SOCK_DGRAM, 0);
  if (fd < 0)
    FAIL ("socket");
  if (c->rp && sockopt (fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
    FAIL ("SO_REUSEPORT");
  if (c->dev && setsockopt (fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0)
    FAIL ("SO_BINDTODEVICE");
  if (strcmp (c->bind, "auto") != 0 && bind_like (c, fd) < 0)
    FAIL ("bind");
  if (c->rp)
    {
      c->partner = socket (dom, SOCK_DGRAM, 0);
      if (c->partner < 0 || sockopt (c->partner, SOL_SOCKET, SO_REUSEPORT, 1) < 0
          || (c->dev && setsockopt (c->partner, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0)
          || bind_like (c, c->partner) < 0)
        FAIL ("SO_REUSEPORT partner");
    }
  /* socket options; TOS before the priority (IP_TOS sets the priority too) */
  if (c->tos_how == 's' && sockopt (fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, c->tos) < 0)
    FAIL ("TOS");
  if (c->ttl_how == 's' && sockopt (fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS, c->ttl) < 0)
    FAIL ("TTL");
  if (c->prio_how == 's' && sockopt (fd, SOL_SOCKET, SO_PRIORITY, c->prio) < 0)
    FAIL ("SO_PRIORITY");
  if (c->mark_how == 's' && sockopt (fd, SOL_SOCKET, SO_MARK, c->mark) < 0)
    FAIL ("SO_MARK");
  if (c->gso_how == 's' && sockopt (fd, SOL_UDP, UDP_SEGMENT, c->gso) < 0)
    FAIL ("UDP_SEGMENT");
  if (c->df_how == 's' && sockopt (fd, IPPROTO_IPV6, IPV6_DONTFRAG, c->df) < 0)
    FAIL ("IPV6_DONTFRAG");
  if (c->opts_how == 's'
      && setsockopt (fd, IPPROTO_IP, IP_OPTIONS, c->opts == 1 ? opt_nop : opt_rr, c->opts == 1 ? 4 : 8) < 0)
    FAIL ("IP_OPTIONS");
  if (c->conn && connect (fd, (struct sockaddr *) &dst, dl) < 0)
    FAIL ("connect");
  if (c->cork && sockopt (fd, IPPROTO_UDP, UDP_CORK, 1) < 0)
    FAIL ("UDP_CORK");

  /* control messages of the first write */
  if (c->ttl_how == 'c')
    cm_add (&m, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_HOPLIMIT, &c->ttl, sizeof (int));
  if (c->tos_how == 'c')
    cm_add (&m, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &c->tos, sizeof (int));
  if (c->src[0] || c->ifi)
    {
      if (dom == AF_INET)
        {
          struct in_pktinfo pi = { 0 };
          if (c->src[0] && inet_pton (AF_INET, c->src, &pi.ipi_spec_dst) != 1)
            FAIL ("bad source %s", c->src);
          pi.ipi_ifindex = c->ifi ? 1 : 0;
          cm_add (&m, IPPROTO_IP, IP_PKTINFO, &pi, sizeof (pi));
        }
      else
        {
          struct in6_pktinfo pi = { 0 };
          if (c->src[0] && inet_pton (AF_INET6, c->src, &pi.ipi6_addr) != 1)
            FAIL ("bad source %s", c->src);
          if (! c->src[0] && c->fam == 'm') /* a v4-mapped "any" */
            pi.ipi6_addr.s6_addr[10] = pi.ipi6_addr.s6_addr[11] = 0xff;
          pi.ipi6_ifindex = c->ifi ? 1 : 0;
          cm_add (&m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof (pi));
        }
    }
  if (c->prio_how == 'c')
    {
      uint32_t v = c->prio;
      cm_add (&m, SOL_SOCKET, SO_PRIORITY, &v, sizeof (v));
    }
  if (c->mark_how == 'c')
    {
      uint32_t v = c->mark;
      cm_add (&m, SOL_SOCKET, SO_MARK, &v, sizeof (v));
    }
  if (c->gso_how == 'c')
    {
      uint16_t v = c->gso;
      cm_add (&m, SOL_UDP, UDP_SEGMENT, &v, sizeof (v));
    }
  if (c->df_how == 'c')
    cm_add (&m, IPPROTO_IPV6, IPV6_DONTFRAG, &c->df, sizeof (int));
  if (c->opts_how == 'c')
    cm_add (&m, IPPROTO_IP, IP_RETOPTS, c->opts == 1 ? opt_nop : opt_rr, c->opts == 1 ? 4 : 8);

  for (int k = 0; k < c->nw; k++)
    {
      ssize_t r;
      iov.iov_base = p + off;
      iov.iov_len = c->w[k];
      memset (&msg, 0, sizeof (msg));
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      if (! c->conn)
        {
          msg.msg_name = &dst;
          msg.msg_namelen = dl;
        }
      if (k == 0 && m.len)
        {
          msg.msg_control = m.u.buf;
          msg.msg_controllen = m.len;
        }
      r = sendmsg (fd, &msg, c->cork ? 0 : MSG_MORE);
      if (r != c->w[k])
        FAIL ("write %d of %d bytes returned %zd", k + 1, c->w[k], r);
      off += c->w[k];
      if (k == 0)
        {
          if (getsockname (fd, (struct sockaddr *) &me, &ml) < 0)
            FAIL ("getsockname");
          addr_str (&me, a, sizeof (a), &port);
          c->port_before = port;
        }
    }
  free (p);
  c->fd2 = fd;
  if (c->dup && (c->fd2 = dup (fd)) < 0)
    FAIL ("dup");
  return 0;
}

/* After "go": the post writes, then uncork / last write. */
static void
complete (struct acase *c)
{
  int fd = c->fd2, n = 0;
  size_t pre = c->total, off;
  unsigned char *p = payload_of (c, &c->total);
  struct sockaddr_storage dst;
  socklen_t dl = make_addr (domain_of (c), c->dst, c->rport, &dst);
  char *s = c->complete;
  size_t sl = sizeof (c->complete);
  ssize_t r;

  (void) pre;
  off = 0;
  for (int k = 0; k < c->nw; k++)
    off += c->w[k];
  if (fd < 0)
    {
      snprintf (s, sl, "not-built");
      free (p);
      return;
    }
  for (int k = 0; k < c->npost; k++)
    {
      int flags = (! c->cork && k < c->npost - 1) ? MSG_MORE : 0;
      if (c->conn)
        r = send (fd, p + off, c->post[k], flags);
      else
        r = sendto (fd, p + off, c->post[k], flags, (struct sockaddr *) &dst, dl);
      n += snprintf (s + n, sl - n, "%s%zd", k ? "," : "post:", r < 0 ? (ssize_t) -errno : r);
      off += c->post[k];
    }
  if (n)
    n += snprintf (s + n, sl - n, "/");
  if (c->cork)
    r = sockopt (fd, IPPROTO_UDP, UDP_CORK, 0);
  else if (c->npost == 0)
    r = c->conn ? send (fd, "", 0, 0) : sendto (fd, "", 0, 0, (struct sockaddr *) &dst, dl);
  else
    r = 0;
  snprintf (s + n, sl - n, "%s", r < 0 ? strerror (errno) : "ok");
  if (c->next)
    {
      /* one more datagram, no cmsgs: the socket options as restored */
      n = strlen (s);
      r = c->conn ? send (fd, "next", 4, 0) : sendto (fd, "next", 4, 0, (struct sockaddr *) &dst, dl);
      snprintf (s + n, sl - n, "/next:%s", r < 0 ? strerror (errno) : "ok");
    }
  for (char *q = s; *q; q++)
    if (*q == ' ')
      *q = '_';
  free (p);
}

/* --- receivers -------------------------------------------------------------- */
static void
make_receiver (struct acase *c)
{
  struct sockaddr_storage ss;
  int dom = c->fam == '6' ? AF_INET6 : AF_INET;
  socklen_t l = make_addr (dom, dom == AF_INET ? "0.0.0.0" : "::", c->rport, &ss);

  c->rfd = socket (dom, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (c->rfd < 0 || (dom == AF_INET6 && sockopt (c->rfd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
      || bind (c->rfd, (struct sockaddr *) &ss, l) < 0)
    die ("receiver of case %d", c->id);
}

/* What CRIU may not restore: set after the restore, before any datagram. */
static void
arm_receiver (struct acase *c)
{
  int fd = c->rfd;
  int ok = sockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20) == 0 && sockopt (fd, SOL_UDP, UDP_GRO, 1) == 0
           && sockopt (fd, SOL_SOCKET, SO_RCVMARK, 1) == 0 && sockopt (fd, SOL_SOCKET, SO_RCVPRIORITY, 1) == 0;
  if (c->fam == '6')
    ok = ok && sockopt (fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) == 0
         && sockopt (fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) == 0 && sockopt (fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0
         && (! c->flow || sockopt (fd, IPPROTO_IPV6, IPV6_FLOWINFO, 1) == 0);
  else
    ok = ok && sockopt (fd, IPPROTO_IP, IP_RECVTTL, 1) == 0 && sockopt (fd, IPPROTO_IP, IP_RECVTOS, 1) == 0
         && sockopt (fd, IPPROTO_IP, IP_PKTINFO, 1) == 0 && sockopt (fd, IPPROTO_IP, IP_RECVOPTS, 1) == 0;
  if (! ok)
    die ("receiver options of case %d", c->id);
}

struct line
{
  int id;
  char *text;
};
static struct line *lines;
static size_t nlines, lines_cap;
static int ndg[MAX_CASES];

static void
add_line (int id, char *text)
{
  if (nlines == lines_cap)
    {
      lines_cap = lines_cap ? 2 * lines_cap : 256;
      lines = realloc (lines, lines_cap * sizeof (*lines));
      if (lines == NULL)
        die ("realloc");
    }
  lines[nlines].id = id;
  lines[nlines++].text = text;
}

static void
drain (int ci)
{
  static unsigned char buf[70000];
  struct acase *c = &cases[ci];

  for (;;)
    {
      union
      {
        char b[1024];
        struct cmsghdr align;
      } ctl;
      struct sockaddr_storage from;
      struct iovec iov = { buf, sizeof (buf) };
      struct msghdr msg = { .msg_name = &from,
                            .msg_namelen = sizeof (from),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.b,
                            .msg_controllen = sizeof (ctl.b) };
      ssize_t r = recvmsg (c->rfd, &msg, MSG_DONTWAIT);
      char fa[64], da[64] = "-", sport[48], gro[16] = "-", mark[16] = "-", prio[16] = "-", opts[100] = "-",
                   flow[16] = "-";
      char hex[65], *t;
      int fport, ttl = -1, tos = -1, ifi = -1;
      const char *pay;

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        break;
      for (struct cmsghdr *h = CMSG_FIRSTHDR (&msg); h; h = CMSG_NXTHDR (&msg, h))
        {
          void *d = CMSG_DATA (h);
          if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TTL)
            ttl = *(int *) d;
          else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TOS)
            tos = *(unsigned char *) d;
          else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO)
            {
              struct in_pktinfo *pi = d;
              inet_ntop (AF_INET, &pi->ipi_addr, da, sizeof (da));
              ifi = pi->ipi_ifindex;
            }
          else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_RECVOPTS)
            {
              size_t n = h->cmsg_len - CMSG_LEN (0), k;
              for (k = 0; k < n && 2 * k + 2 < sizeof (opts); k++)
                sprintf (opts + 2 * k, "%02x", ((unsigned char *) d)[k]);
              if (n == 0)
                strcpy (opts, "empty");
            }
          else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_HOPLIMIT)
            ttl = *(int *) d;
          else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_TCLASS)
            tos = *(int *) d;
          else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO)
            {
              struct in6_pktinfo *pi = d;
              inet_ntop (AF_INET6, &pi->ipi6_addr, da, sizeof (da));
              ifi = pi->ipi6_ifindex;
            }
          else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_FLOWINFO)
            snprintf (flow, sizeof (flow), "%05x", ntohl (*(uint32_t *) d) & 0xfffff);
          else if (h->cmsg_level == SOL_UDP && h->cmsg_type == UDP_GRO)
            snprintf (gro, sizeof (gro), "%d", *(int *) d);
          else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_MARK)
            snprintf (mark, sizeof (mark), "%u", *(uint32_t *) d);
          else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_PRIORITY)
            snprintf (prio, sizeof (prio), "%u", *(uint32_t *) d);
        }
      addr_str (&from, fa, sizeof (fa), &fport);
      if (strcmp (c->bind, "auto") != 0)
        snprintf (sport, sizeof (sport), "%d", fport);
      else if (fport == c->port_before)
        snprintf (sport, sizeof (sport), "auto");
      else
        snprintf (sport, sizeof (sport), "CHANGED:%d->%d", c->port_before, fport);
      sha256_hex (buf, r, hex);
      {
        size_t el;
        unsigned char *ep = payload_of (c, &el);
        pay = (size_t) r == el && memcmp (ep, buf, el) == 0 ? "ok" : "other";
        free (ep);
      }
      if (asprintf (&t,
                    "id=%d dg=%d len=%zd%s pay=%s sha=%s from=%s sport=%s dst=%s ifi=%d ttl=%d tos=0x%02x gro=%s "
                    "mark=%s prio=%s opts=%s%s%s",
                    c->id, ++ndg[ci], r, (msg.msg_flags & MSG_TRUNC) ? " TRUNC" : "", pay, hex, fa, sport, da, ifi, ttl,
                    tos, gro, mark, prio, opts, c->flow ? " flow=" : "", c->flow ? flow : "")
          < 0)
        die ("asprintf");
      add_line (c->id, t);
    }
}

int
main (int argc, char **argv)
{
  int nchild = 0, maxproc = 0, pfd[2];
  pid_t kids[8];
  char *buf;
  size_t bl = 0;
  FILE *f;

  if (argc < 2)
    {
      fprintf (stderr, "usage: fidelity CASEFILE [OUTDIR]\n");
      return 2;
    }
  if (argc > 2)
    out = argv[2];

  /* stdio inside the container, so that CRIU sees no outside file */
  stdio_to_log (STDIO_KEEP);
  setvbuf (stdout, NULL, _IOLBF, 0);

  cases = mmap (NULL, MAX_CASES * sizeof (*cases), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (cases == MAP_FAILED)
    die ("mmap");
  read_cases (argv[1]);
  if (lo_mtu > 0)
    set_lo_mtu (lo_mtu);
  add_addr6 ("fd00::2");
  add_addr6 ("fd00::3");
  wait_local6 ("fd00::2");
  wait_local6 ("fd00::3");
  /* and let the address work settle: a datagram corked before that, to
   * fd00::2, was now and then silently lost at its uncork in a run without
   * checkpoint (its route, taken at the first write, went stale) */
  nap_ms (300);
  for (int i = 0; i < ncases; i++)
    {
      make_receiver (&cases[i]);
      if (cases[i].proc > maxproc)
        maxproc = cases[i].proc;
    }

  if (pipe (pfd) < 0)
    die ("pipe");
  for (int pr = 1; pr <= maxproc && pr < 8; pr++)
    {
      pid_t k = fork ();
      if (k < 0)
        die ("fork");
      if (k == 0)
        {
          close (pfd[0]);
          for (int i = 0; i < ncases; i++)
            close (cases[i].rfd);
          for (int i = 0; i < ncases; i++)
            if (cases[i].proc == pr)
              build (&cases[i]);
          while (write (pfd[1], "x", 1) < 0 && errno == EINTR)
            ;
          close (pfd[1]);
          wait_file ("go2");
          for (int i = 0; i < ncases; i++)
            if (cases[i].proc == pr)
              complete (&cases[i]);
          _exit (0);
        }
      kids[nchild++] = k;
    }
  close (pfd[1]);
  for (int i = 0; i < ncases; i++)
    if (cases[i].proc == 0)
      build (&cases[i]);
  for (int k = 0; k < nchild; k++)
    {
      char ch;
      ssize_t r;
      do
        r = read (pfd[0], &ch, 1);
      while (r < 0 && errno == EINTR);
      if (r != 1)
        die ("child ready");
    }
  close (pfd[0]);

  f = open_memstream (&buf, &bl);
  for (int i = 0; i < ncases; i++)
    {
      fprintf (f, "%d %d\n", cases[i].id, cases[i].port_before);
      if (cases[i].err[0])
        printf ("fidelity: case %d: ERR %s\n", cases[i].id, cases[i].err);
    }
  fclose (f);
  write_file ("ports", buf, bl);
  free (buf);
  write_file ("ready", "", 0);
  printf ("fidelity: %d cases pending, waiting for %s/go\n", ncases, out);

  wait_file ("go");
  for (int i = 0; i < ncases; i++)
    arm_receiver (&cases[i]);
  write_file ("go2", "", 0);
  for (int i = 0; i < ncases; i++)
    if (cases[i].proc == 0)
      complete (&cases[i]);
  for (int k = 0; k < nchild; k++)
    while (waitpid (kids[k], NULL, 0) < 0 && errno == EINTR)
      ;
  nap_ms (100);
  for (int i = 0; i < ncases; i++)
    drain (i);
  nap_ms (300);
  for (int i = 0; i < ncases; i++)
    drain (i);

  for (int i = 0; i < ncases; i++)
    {
      struct acase *c = &cases[i];
      char *t;
      if (asprintf (&t, "id=%d port=%s complete=%s ndg=%d%s%s", c->id, strcmp (c->bind, "auto") ? "bound" : "auto",
                    c->complete[0] ? c->complete : "-", ndg[i], c->err[0] ? " ERR " : "", c->err)
          < 0)
        die ("asprintf");
      for (char *q = t; *q; q++)
        if (*q == '\n')
          *q = ' ';
      add_line (c->id - 1000000, t); /* sorts before the case's datagrams below */
    }
  /* by case id: the case line, then its datagrams in arrival order */
  f = open_memstream (&buf, &bl);
  {
    int *ids = malloc (ncases * sizeof (int));
    for (int i = 0; i < ncases; i++)
      ids[i] = cases[i].id;
    for (int i = 1; i < ncases; i++) /* insertion sort, few cases */
      for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--)
        {
          int x = ids[j];
          ids[j] = ids[j - 1];
          ids[j - 1] = x;
        }
    for (int i = 0; i < ncases; i++)
      {
        for (size_t k = 0; k < nlines; k++)
          if (lines[k].id == ids[i] - 1000000)
            fprintf (f, "%s\n", lines[k].text);
        for (size_t k = 0; k < nlines; k++)
          if (lines[k].id == ids[i])
            fprintf (f, "%s\n", lines[k].text);
      }
    free (ids);
  }
  fclose (f);
  write_file ("result", buf, bl);
  write_file ("done", "", 0);
  printf ("fidelity: done\n");
  return 0;
}
