// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests of the trust boundary: the validator (src/validate.c), the
 * packet codec (src/packet.c), the control-message builder (src/cmsg.c),
 * the archive reader (src/archive_image.c) and the image directory's
 * journals (src/dumpdir.c, src/rxsave.c). Each hostile field gets a
 * one-line error naming it; the builders stay in bounds whatever they are
 * given; attributes that need privilege are left out. */
#include "archive_image.h"
#include "caps.h"
#include "cmsg.h"
#include "criuimg.h"
#include "dumpdir.h"
#include "image.h"
#include "packet.h"
#include "rxsave.h"
#include "validate.h"
#include "xalloc.h"
#include "tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

static uint8_t lo4[4] = { 127, 0, 0, 1 }, any4[4], dst4[4] = { 10, 0, 0, 2 }, lo6[16] = { [15] = 1 };
static uint8_t payload[70000];

static void
bytes (ProtobufCBinaryData *b, const void *p, size_t n)
{
  b->data = (uint8_t *) p;
  b->len = n;
}

/* A valid pending IPv4 datagram (UDP_CORK, 100 bytes to 10.0.0.2:9000). */
static void
good_dgram (UcDgram *d)
{
  uc_dgram__init (d);
  d->pid = 1;
  d->fd = 5;
  d->family = AF_INET;
  d->protocol = IPPROTO_UDP;
  bytes (&d->local_addr, any4, 4);
  d->local_port = 9001;
  d->mode = UC_CORK_MODE__UC_CORK_SOCKOPT;
  d->pending_family = AF_INET;
  d->has_dst_addr = d->has_dst_port = d->has_src_addr = 1;
  bytes (&d->dst_addr, dst4, 4);
  d->dst_port = 9000;
  bytes (&d->src_addr, lo4, 4);
  d->has_ttl = d->has_tos = 1;
  d->ttl = 64;
  d->tos = 0;
  bytes (&d->payload, payload, 100);
}

static void
dgram_refused (UcDgram *d, const char *want, const char *desc)
{
  uc_error_t err = NULL;
  tap_check_error (uc_validate_dgram (d, "entry 1 (dgram 1)", &err), &err, want, desc);
}

static void
test_validate_dgram (void)
{
  static const uint8_t cipso[8] = { 134, 8, 0, 0, 0, 1, 0, 0 }, rr[8] = { 7, 7, 4, 0, 0, 0, 0, 1 };
  static uint8_t big_opt[3000];
  uc_error_t err = NULL;
  UcDgram d;

  good_dgram (&d);
  tap_check_ok (uc_validate_dgram (&d, "entry 1", &err), &err, "a good datagram passes");

  good_dgram (&d);
  d.has_ip_options = 1;
  bytes (&d.ip_options, big_opt, sizeof (big_opt));
  dgram_refused (&d, "ip_options has 3000 bytes (the kernel allows 40)", "3000-byte IPv4 options (finding 1)");
  bytes (&d.ip_options, rr, sizeof (rr));
  tap_check_ok (uc_validate_dgram (&d, "entry 1", &err), &err, "a well-formed record-route option passes");
  bytes (&d.ip_options, cipso, sizeof (cipso));
  tap_check_ok (uc_validate_dgram (&d, "entry 1", &err), &err,
                "a well-formed CIPSO option passes (the builder drops it)");
  {
    static const uint8_t bad[4] = { 7, 40, 4, 0 };
    bytes (&d.ip_options, bad, sizeof (bad));
    dgram_refused (&d, "ip_options: option length out of bounds", "an option longer than the options");
  }
  good_dgram (&d);
  d.pending_family = AF_INET6;
  dgram_refused (&d, "IPv6 datagram pending on an IPv4 socket", "IPv6 pending on IPv4");
  good_dgram (&d);
  bytes (&d.payload, payload, 65508);
  dgram_refused (&d, "payload of 65508 bytes is larger than a UDP/IPv4 datagram can be (65507)", "IPv4 payload bound");
  good_dgram (&d);
  d.has_ip_options = 1;
  bytes (&d.ip_options, rr, sizeof (rr));
  bytes (&d.payload, payload, 65507);
  dgram_refused (&d, "(65499)", "IPv4 payload bound counts the options");
  good_dgram (&d);
  d.dst_port = 0;
  dgram_refused (&d, "destination port 0 out of range", "destination port 0");
  good_dgram (&d);
  d.local_port = 70000;
  dgram_refused (&d, "local port 70000 out of range", "local port");
  good_dgram (&d);
  d.pid = 0;
  dgram_refused (&d, "pid 0 out of range", "pid 0");
  good_dgram (&d);
  d.protocol = 136;
  dgram_refused (&d, "protocol 136 is not UDP", "UDP-Lite");
  good_dgram (&d);
  d.mode = 7;
  dgram_refused (&d, "cork mode 7", "unknown cork mode");
  good_dgram (&d);
  d.mode = UC_CORK_MODE__UC_CORK_MSG_MORE;
  d.pending_family = 0;
  dgram_refused (&d, "nothing pending but a MSG_MORE datagram", "MSG_MORE with nothing pending");
  good_dgram (&d);
  bytes (&d.dst_addr, lo6, 16);
  dgram_refused (&d, "destination address missing or of the wrong size", "IPv6 destination of an IPv4 datagram");
  good_dgram (&d);
  d.ttl = 0;
  dgram_refused (&d, "ttl 0 out of range", "IPv4 TTL 0");
  good_dgram (&d);
  d.tos = 300;
  dgram_refused (&d, "tos 300 out of range", "TOS > 255");
  good_dgram (&d);
  d.has_gso_size = 1;
  d.gso_size = 70000;
  dgram_refused (&d, "gso_size 70000 out of range", "GSO size");
  good_dgram (&d);
  d.has_flowlabel = 1;
  d.flowlabel = 0x100000;
  dgram_refused (&d, "flow label 0x100000 has more than 20 bits", "flow label");
  good_dgram (&d);
  d.has_oif = 1;
  d.oif = 0x80000000u;
  dgram_refused (&d, "oif 2147483648 out of range", "oif");
}

static void
test_validate_image (void)
{
  UcHead head = UC_HEAD__INIT;
  UcDgram d1, d2, *dg[2] = { &d1, &d2 };
  UcRxsock rs = UC_RXSOCK__INIT, *rsv[1] = { &rs };
  UcRxdgram r = UC_RXDGRAM__INIT, *rv[1] = { &r };
  struct uc_image img = { .head = &head, .dgrams = dg, .n_dgrams = 2, .rxsocks = rsv, .rxdgrams = rv };
  uc_error_t err = NULL;

  good_dgram (&d1);
  good_dgram (&d2);
  tap_check_error (uc_validate_image (&img, false, &err), &err, "two dgram entries for the socket of pid 1 fd 5",
                   "the same socket twice (a second copy would be appended)");
  d2.fd = 6;
  tap_check_ok (uc_validate_image (&img, false, &err), &err, "two sockets pass");

  img.n_rxsocks = img.n_rxdgrams = 1;
  rs.pid = 1;
  rs.fd = 7;
  rs.family = AF_INET;
  rs.protocol = IPPROTO_UDP;
  bytes (&rs.local_addr, any4, 4);
  rs.local_port = 9100;
  rs.n_dgrams = 1;
  rs.has_bytes = 1;
  rs.bytes = 10;
  r.sock = 0;
  bytes (&r.payload, payload, 10);
  bytes (&r.src_addr, dst4, 4);
  r.src_port = 4000;
  r.has_dst_addr = 1;
  bytes (&r.dst_addr, lo4, 4);
  tap_check_ok (uc_validate_image (&img, false, &err), &err, "a receive queue passes");
  bytes (&r.payload, payload, 65508);
  rs.bytes = 65508;
  tap_check_error (uc_validate_image (&img, false, &err), &err,
                   "payload of 65508 bytes is larger than udpcork can put back",
                   "an oversized unread datagram (finding 2)");
  bytes (&r.payload, payload, 10);
  rs.bytes = 1u << 31;
  tap_check_error (uc_validate_image (&img, false, &err), &err, "declares 2147483648 bytes, its datagrams hold 10",
                   "receive-queue byte count that does not add up (SO_RCVBUFFORCE overflow)");
  rs.bytes = 10;
  {
    static const uint8_t mc[4] = { 239, 1, 1, 1 };
    bytes (&r.src_addr, mc, 4);
    tap_check_error (uc_validate_image (&img, false, &err), &err, "a multicast or broadcast source address",
                     "an unread datagram from a multicast source");
    bytes (&r.src_addr, dst4, 4);
  }
  r.has_dst_addr = 0;
  tap_check_error (uc_validate_image (&img, false, &err), &err, "destination address missing",
                   "an unread datagram without its destination");
  r.has_dst_addr = 1;
  r.sock = 3;
  tap_check_error (uc_validate_image (&img, false, &err), &err, "socket index 3 out of range", "rxdgram socket index");
  r.sock = 0;
  rs.n_dgrams = 2;
  tap_check_error (uc_validate_image (&img, false, &err), &err, "declares 2 datagrams, the image holds 1",
                   "rxsock count");
  rs.n_dgrams = 1;
  head.dump_id = (char *) "criu-1-2/../x";
  tap_check_error (uc_validate_image (&img, false, &err), &err, "dump_id is not", "a dump id with a path in it");
  head.dump_id = (char *) "criu-1-2";
  tap_check_ok (uc_validate_image (&img, false, &err), &err, "back to valid");
}

static void
test_ipopt (void)
{
  static const struct
  {
    const char *desc;
    uint8_t o[40];
    size_t len;
    bool ok, priv;
  } cases[] = {
    { "empty", { 0 }, 0, true, false },
    { "NOOPs and END", { 1, 1, 0, 0 }, 4, true, false },
    { "record route", { 7, 7, 4, 0, 0, 0, 0, 0 }, 8, true, false },
    { "timestamp, flag 0", { 68, 8, 5, 0, 0, 0, 0, 0 }, 8, true, false },
    { "timestamp, flag 2 (privileged)", { 68, 12, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0 }, 12, true, true },
    { "loose source route", { 131, 7, 4, 10, 0, 0, 1, 0 }, 8, true, false },
    { "source route pointer not 4", { 131, 7, 8, 10, 0, 0, 1, 0 }, 8, false, false },
    { "router alert", { 148, 4, 0, 0 }, 4, true, false },
    { "security (privileged)", { 130, 4, 0, 0 }, 4, true, true },
    { "CIPSO (privileged)", { 134, 8, 0, 0, 0, 1, 0, 0 }, 8, true, true },
    { "unknown type (privileged)", { 25, 4, 0, 0 }, 4, true, true },
    { "length byte missing", { 7 }, 1, false, false },
    { "length 1", { 7, 1, 4, 0 }, 4, false, false },
    { "two record routes", { 7, 3, 4, 7, 3, 4, 0, 0 }, 8, false, false },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (*cases); i++)
    {
      bool priv = false;
      const char *why = uc_ipopt_check (cases[i].o, cases[i].len, &priv);
      CHECK ((why == NULL) == cases[i].ok && (! cases[i].ok || priv == cases[i].priv), "IPv4 options: %s (%s)",
             cases[i].desc, why ? why : "ok");
    }
  {
    uint8_t big[41] = { 0 };
    bool priv;
    CHECK (uc_ipopt_check (big, 41, &priv) != NULL, "IPv4 options: 41 bytes refused");
  }
}

/* The checksum of a UDP datagram, summed with its checksum field in
 * place, folds to 0xffff. */
static bool
checksum_ok (const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *u, size_t ulen)
{
  uint32_t sum = IPPROTO_UDP + (uint32_t) ulen;
  const uint8_t *parts[3] = { src, dst, u };
  size_t lens[3] = { alen, alen, ulen };
  for (int k = 0; k < 3; k++)
    {
      size_t n = lens[k];
      const uint8_t *p = parts[k];
      for (; n > 1; n -= 2, p += 2)
        sum += (p[0] << 8) | p[1];
      if (n)
        sum += p[0] << 8;
    }
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

/* What the kernel did to IPv4 options at IP_OPTIONS (ip_options_compile
 * without a packet: the record-route and timestamp pointers advanced past
 * the slot the output path fills) is undone, so that the options given
 * back are the ones the application set; whatever the offsets and pointers
 * say, nothing outside the 40 bytes is written. */
static void
ipopt_unwinds (const char *desc, const uint8_t *set, const uint8_t *compiled, size_t len, uint8_t rr, uint8_t ts,
               uint8_t need)
{
  struct uc_sock_rec r = { .cork_optlen = len, .cork_opt_rr = rr, .cork_opt_ts = ts, .cork_opt_need = need };
  uint8_t out[UC_MAX_IPOPT];

  memcpy (r.cork_opt, compiled, len);
  uc_ipopt_unwind (&r, out);
  CHECK (memcmp (out, set, len) == 0, "IPv4 options unwound: %s", desc);
}

static void
test_ipopt_unwind (void)
{
  static const uint8_t rr_set[8] = { 7, 7, 4 }, rr_kernel[8] = { 7, 7, 8 };
  static const uint8_t rr2_set[12] = { 7, 11, 8, 10, 0, 0, 1 }, rr2_kernel[12] = { 7, 11, 12, 10, 0, 0, 1 };
  static const uint8_t ts_set[8] = { 68, 8, 5, 0 }, ts_kernel[8] = { 68, 8, 9, 0 };
  static const uint8_t tsa_set[12] = { 68, 12, 5, 1 }, tsa_kernel[12] = { 68, 12, 13, 1 };
  static const uint8_t tsp_set[12] = { 68, 12, 5, 3, 127, 0, 0, 1 }, tsp_kernel[12] = { 68, 12, 13, 3, 127, 0, 0, 1 };
  static const uint8_t both_set[16] = { 1, 7, 7, 4, 0, 0, 0, 0, 68, 8, 5, 0 },
                       both_kernel[16] = { 1, 7, 7, 8, 0, 0, 0, 0, 68, 8, 9, 0 };
  uint8_t hostile[UC_MAX_IPOPT + 64];
  bool guard_ok = true;

  ipopt_unwinds ("record route, one empty slot", rr_set, rr_kernel, 8, 20, 0, UC_OPT_RR_NEEDADDR);
  ipopt_unwinds ("record route, one address set by the application", rr2_set, rr2_kernel, 12, 20, 0,
                 UC_OPT_RR_NEEDADDR);
  ipopt_unwinds ("timestamps only", ts_set, ts_kernel, 8, 0, 20, UC_OPT_TS_NEEDTIME);
  ipopt_unwinds ("address and timestamp", tsa_set, tsa_kernel, 12, 0, 20, UC_OPT_TS_NEEDTIME | UC_OPT_TS_NEEDADDR);
  ipopt_unwinds ("prespecified address kept, its timestamp cleared", tsp_set, tsp_kernel, 12, 0, 20,
                 UC_OPT_TS_NEEDTIME);
  ipopt_unwinds ("NOOP, record route, timestamp", both_set, both_kernel, 12, 21, 28,
                 UC_OPT_RR_NEEDADDR | UC_OPT_TS_NEEDTIME);
  ipopt_unwinds ("nothing to fill: left as is", rr_kernel, rr_kernel, 8, 20, 0, 0);
  /* hostile offsets and pointers: stays within the 40 bytes (ASan) */
  for (unsigned off = 0; off < UC_MAX_IPOPT; off++)
    for (unsigned ptr = 0; ptr < 256; ptr += 5)
      {
        struct uc_sock_rec r = { .cork_optlen = UC_MAX_IPOPT,
                                 .cork_opt_rr = 20 + off,
                                 .cork_opt_ts = 20 + off,
                                 .cork_opt_need = UC_OPT_RR_NEEDADDR | UC_OPT_TS_NEEDTIME };
        memset (r.cork_opt, 0xff, sizeof (r.cork_opt));
        r.cork_opt[off] = 68;
        if (off + 1 < UC_MAX_IPOPT)
          r.cork_opt[off + 1] = (uint8_t) (ptr * 7);
        if (off + 2 < UC_MAX_IPOPT)
          r.cork_opt[off + 2] = (uint8_t) ptr;
        if (off + 3 < UC_MAX_IPOPT)
          r.cork_opt[off + 3] = (uint8_t) (ptr & 3);
        memset (hostile, 0xa5, sizeof (hostile));
        uc_ipopt_unwind (&r, hostile);
        for (size_t i = UC_MAX_IPOPT; i < sizeof (hostile); i++)
          guard_ok &= hostile[i] == 0xa5;
      }
  CHECK (guard_ok, "IPv4 options unwound: hostile offsets and pointers write nothing past the 40 bytes");
}

static void
test_rx_packet (void)
{
  UcRxdgram r = UC_RXDGRAM__INIT;
  static uint8_t buf[65535 + 40];
  size_t n;

  bytes (&r.payload, payload, 1000);
  bytes (&r.src_addr, dst4, 4);
  r.src_port = 4000;
  n = uc_rx_packet (buf, sizeof (buf), &r, lo4, 9100);
  CHECK (n == 1028 && buf[0] == 0x45 && buf[9] == IPPROTO_UDP && memcmp (buf + 12, dst4, 4) == 0
             && memcmp (buf + 16, lo4, 4) == 0 && ((buf[22] << 8) | buf[23]) == 9100,
         "IPv4 packet: header fields");
  CHECK (checksum_ok (dst4, lo4, 4, buf + 20, 1008), "IPv4 packet: UDP checksum verifies");
  bytes (&r.src_addr, lo6, 16);
  n = uc_rx_packet (buf, sizeof (buf), &r, lo6, 9100);
  CHECK (n == 1048 && (buf[0] >> 4) == 6 && checksum_ok (lo6, lo6, 16, buf + 40, 1008), "IPv6 packet, checksum");
  bytes (&r.payload, payload, 200000 - 130000);
  CHECK (uc_rx_packet (buf, sizeof (buf), &r, lo6, 9100) == 0, "a 70000-byte payload does not fit: 0, no overflow");
  bytes (&r.payload, payload, 65507);
  bytes (&r.src_addr, dst4, 4);
  CHECK (uc_rx_packet (buf, sizeof (buf), &r, lo4, 9100) == 65535, "the largest IPv4 datagram fits exactly");
  CHECK (uc_rx_packet (buf, 1000, &r, lo4, 9100) == 0, "the caller's buffer bound is kept");
  bytes (&r.src_addr, dst4, 3);
  CHECK (uc_rx_packet (buf, sizeof (buf), &r, lo4, 9100) == 0, "a 3-byte source is refused");
}

static bool
has_cmsg (struct uc_cmsgs *c, int level, int type)
{
  struct msghdr m = { .msg_control = c->u.buf, .msg_controllen = c->len };
  for (struct cmsghdr *h = CMSG_FIRSTHDR (&m); h; h = CMSG_NXTHDR (&m, h))
    if (h->cmsg_level == level && h->cmsg_type == type)
      return true;
  return false;
}

static void
test_cmsg (void)
{
  static const uint8_t rr[8] = { 7, 7, 4, 0, 0, 0, 0, 1 }, cipso[8] = { 134, 8, 0, 0, 0, 1, 0, 0 };
  struct uc_sockview v = { .priority = 0, .tos = 0, .mark = 0, .src_usable = true, .oif_exists = true };
  struct uc_cmsgs c;
  unsigned notes;
  UcDgram d;

  good_dgram (&d);
  d.has_mark = d.has_priority = 1;
  d.mark = 0x1234;
  d.priority = 7;
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (! has_cmsg (&c, SOL_SOCKET, SO_MARK) && (notes & UC_NOTE_MARK_PRIV),
         "a mark the socket does not have is left out (needs CAP_NET_ADMIN)");
  CHECK (! has_cmsg (&c, SOL_SOCKET, SO_PRIORITY) && (notes & UC_NOTE_PRIORITY_PRIV),
         "priority 7 the socket does not have is left out");
  v.mark = 0x1234;
  v.priority = 7;
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (! has_cmsg (&c, SOL_SOCKET, SO_MARK) && ! (notes & (UC_NOTE_MARK_PRIV | UC_NOTE_PRIORITY_PRIV)),
         "the socket's own mark and priority: nothing to send, nothing left out");
  v.mark = 0;
  v.priority = 0;
  d.priority = 5;
  d.has_mark = 0;
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (has_cmsg (&c, SOL_SOCKET, SO_PRIORITY) && ! (notes & UC_NOTE_PRIORITY_PRIV),
         "priority 5 (unprivileged) is given back");
  d.has_ip_options = 1;
  bytes (&d.ip_options, rr, sizeof (rr));
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (has_cmsg (&c, IPPROTO_IP, IP_RETOPTS), "record-route options are given back");
  bytes (&d.ip_options, cipso, sizeof (cipso));
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (! has_cmsg (&c, IPPROTO_IP, IP_RETOPTS) && (notes & UC_NOTE_IPOPT_PRIV),
         "CIPSO options are left out (need CAP_NET_RAW)");
  {
    static uint8_t big[3000];
    bytes (&d.ip_options, big, sizeof (big));
    notes = uc_cmsg_build (&d, &v, &c);
    CHECK (! has_cmsg (&c, IPPROTO_IP, IP_RETOPTS) && c.len <= UC_CMSG_SPACE,
           "3000-byte options (unvalidated): not copied, buffer in bounds");
  }
  /* an owner with CAP_NET_ADMIN / CAP_NET_RAW gets them all back */
  good_dgram (&d);
  d.has_mark = d.has_priority = 1;
  d.mark = 0x1234;
  d.priority = 7;
  v.caps = UC_CAP (CAP_NET_ADMIN);
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (has_cmsg (&c, SOL_SOCKET, SO_MARK) && has_cmsg (&c, SOL_SOCKET, SO_PRIORITY)
             && ! (notes & (UC_NOTE_MARK_PRIV | UC_NOTE_PRIORITY_PRIV)),
         "owner with CAP_NET_ADMIN: mark and priority 7 are given back");
  d.has_ip_options = 1;
  bytes (&d.ip_options, cipso, sizeof (cipso));
  v.caps = UC_CAP (CAP_NET_RAW);
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (has_cmsg (&c, IPPROTO_IP, IP_RETOPTS) && ! (notes & UC_NOTE_IPOPT_PRIV),
         "owner with CAP_NET_RAW: CIPSO options are given back");
  v.caps = 0;
  /* every attribute at once fits */
  good_dgram (&d);
  d.has_gso_size = d.has_transmit_time = d.has_cork_flags = d.has_ts_opt_id = d.has_priority = 1;
  d.gso_size = 1400;
  d.transmit_time = 1;
  d.cork_flags = 4;
  d.priority = 3;
  d.has_ip_options = 1;
  bytes (&d.ip_options, rr, sizeof (rr));
  v.txtime = true;
  v.tos = 5;
  notes = uc_cmsg_build (&d, &v, &c);
  CHECK (! (notes & UC_NOTE_NO_ROOM) && c.len <= UC_CMSG_SPACE, "every attribute fits (%zu bytes)", c.len);
}

static void
test_capture_decode (void)
{
  static struct uc_slot s;
  struct uc_sock_rec r = { .family = AF_INET, .pending = AF_INET, .lport = 9001 };
  UcDgram *d;
  const char *why;
  uint8_t *p = s.data;

  /* IPv4 header + UDP header + 10 bytes */
  memset (&s, 0, offsetof (struct uc_slot, data));
  memset (p, 0, 38);
  p[0] = 0x45;
  p[8] = 64;
  p[9] = 17;
  memcpy (p + 12, lo4, 4);
  memcpy (p + 16, dst4, 4);
  p[20] = 9001 >> 8;
  p[21] = 9001 & 0xff;
  p[22] = 9000 >> 8;
  p[23] = 9000 & 0xff;
  p[25] = 18;
  s.len = 38;
  r.len = 18;
  d = uc_dgram_new (&r, 1, 5, UC_CORK_MODE__UC_CORK_SOCKOPT, 42);
  why = uc_capture_decode (&s, s.data, &r, d);
  CHECK (why == NULL && d->payload.len == 10 && d->dst_port == 9000 && d->ttl == 64, "an IPv4 capture decodes (%s)",
         why ? why : "ok");
  protobuf_c_message_free_unpacked (&d->base, NULL);
  r.len = 30;
  d = uc_dgram_new (&r, 1, 5, UC_CORK_MODE__UC_CORK_SOCKOPT, 42);
  why = uc_capture_decode (&s, s.data, &r, d);
  CHECK (why != NULL, "a capture whose UDP length is not the pending length is refused (%s)", why);
  protobuf_c_message_free_unpacked (&d->base, NULL);
  r.len = 18;
  s.len = UC_MAX_DGRAM + 1;
  d = uc_dgram_new (&r, 1, 5, UC_CORK_MODE__UC_CORK_SOCKOPT, 42);
  why = uc_capture_decode (&s, s.data, &r, d);
  CHECK (why != NULL, "an oversized record is refused (%s)", why);
  protobuf_c_message_free_unpacked (&d->base, NULL);
}

/* An archive in memory with MEMBERS (name, bytes), compressed with FILTER. */
static size_t
make_archive (uint8_t *out, size_t cap, int filter, const char *const *names, const void *data, size_t len, size_t n,
              bool symlink)
{
  struct archive *a = archive_write_new ();
  size_t used = 0;

  archive_write_set_format_pax_restricted (a);
  if (filter)
    archive_write_add_filter (a, filter);
  archive_write_open_memory (a, out, cap, &used);
  for (size_t i = 0; i < n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, names[i]);
      archive_entry_set_perm (e, 0600);
      if (symlink)
        {
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, "/etc/shadow");
          archive_write_header (a, e);
        }
      else
        {
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_size (e, len);
          archive_write_header (a, e);
          archive_write_data (a, data, len);
        }
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
  return used;
}

static void
test_archive (void)
{
  static uint8_t ar[1 << 20];
  static const char *const good[] = { "rootfs-diff.tar", "checkpoint/udpcork.img" };
  static const char *const evil[] = { "--use-compress-program=sh -c id>out x/udpcork.img" };
  static const char *const dup[] = { "checkpoint/udpcork.img", "./checkpoint/udpcork.img" };
  static const char *const other[] = { "checkpoint/other/udpcork.img" };
  static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_XZ };
  static const char *const fnames[] = { "tar", "tar.gz", "tar.zst", "tar.xz" };
  uc_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0, n;

  for (size_t f = 0; f < 4; f++)
    {
      n = make_archive (ar, sizeof (ar), filters[f], good, "IMAGE", 5, 2, false);
      int r = uc_archive_read_image_mem (ar, n, fnames[f], &buf, &len, &err);
      if (err)
        printf ("# %s\n", err->msg);
      uc_error_release (&err);
      CHECK (r == 0, "archive: .%s reads", fnames[f]);
      CHECK (len == 5 && buf && memcmp (buf, "IMAGE", 5) == 0, "archive: .%s: the member's bytes", fnames[f]);
      free (buf);
    }
  n = make_archive (ar, sizeof (ar), 0, evil, "IMAGE", 5, 1, false);
  tap_check_error (uc_archive_read_image_mem (ar, n, "evil.tar", &buf, &len, &err), &err, "no udpcork.img",
                   "archive: a member named like an option is not the image (finding 3)");
  n = make_archive (ar, sizeof (ar), 0, other, "IMAGE", 5, 1, false);
  tap_check_error (uc_archive_read_image_mem (ar, n, "other.tar", &buf, &len, &err), &err, "no udpcork.img",
                   "archive: exact member name only");
  n = make_archive (ar, sizeof (ar), 0, dup, "IMAGE", 5, 2, false);
  tap_check_error (uc_archive_read_image_mem (ar, n, "dup.tar", &buf, &len, &err), &err, "holds udpcork.img twice",
                   "archive: the image twice");
  n = make_archive (ar, sizeof (ar), 0, good + 1, NULL, 0, 1, true);
  tap_check_error (uc_archive_read_image_mem (ar, n, "link.tar", &buf, &len, &err), &err, "is not a regular file",
                   "archive: the image as a symlink");
  tap_check_error (uc_archive_read_image_mem ("garbage garbage garbage", 23, "junk", &buf, &len, &err), &err, "junk",
                   "archive: not an archive");
}

static void
test_criu_core (void)
{
  /* IMG_COMMON_MAGIC, CORE_MAGIC, entry size, core_entry { mtype 1;
   * thread_core (5) { creds (10) { uid 0; cap_eff (11) 0x3420, 0x20 } } } */
  static const uint8_t core[] = { 0x19, 0x43, 0x56, 0x54, 0x47, 0x38, 0x05, 0x55, 13,   0,    0,    0,   0x08,
                                  1,    0x2a, 9,    0x52, 7,    0x08, 0,    0x58, 0xa0, 0x68, 0x58, 0x20 };
  uc_error_t err = NULL;
  uint64_t eff = 0;

  tap_check_ok (uc_criu_core_caps (core, sizeof (core), &eff, &err), &err, "CRIU core image: capabilities read");
  CHECK (eff == 0x2000003420ull, "CRIU core image: cap_eff words 0x3420, 0x20 (got 0x%llx)", (unsigned long long) eff);
  tap_check_error (uc_criu_core_caps (core, sizeof (core) - 3, &eff, &err), &err, "truncated",
                   "CRIU core image: cut short");
  tap_check_error (uc_criu_core_caps (core + 4, sizeof (core) - 4, &eff, &err), &err, "not a CRIU core image",
                   "CRIU core image: wrong magic");
}

/* The journal of an image directory (udpcork.journal) as a hostile file:
 * only `STATE DUMP-ID [root-PID-START]` with a pid Linux could hand out. */
static void
journal_is (int dirfd, const char *line, int want_ret, bool want_yes, const char *desc)
{
  uc_error_t err = NULL;
  bool yes = ! want_yes;
  int fd = openat (dirfd, UC_JOURNAL_NAME, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int ret;

  if (fd < 0 || write (fd, line, strlen (line)) != (ssize_t) strlen (line) || close (fd) < 0)
    abort ();
  ret = uc_dump_captured (dirfd, "dump-1", &yes, &err);
  if (want_ret < 0)
    tap_check_error (ret, &err, UC_JOURNAL_NAME, desc);
  else
    CHECK (ret == 0 && yes == want_yes, "%s", desc);
  uc_error_release (&err);
}

static void
test_journal (void)
{
  char dir[] = "/tmp/uc-journal-XXXXXX";
  int dirfd;

  if (! mkdtemp (dir) || (dirfd = open (dir, O_RDONLY | O_DIRECTORY)) < 0)
    abort ();
  journal_is (dirfd, "captured dump-1\n", 0, true, "journal: captured, no root (older udpcork)");
  journal_is (dirfd, "captured dump-1 root-42-123456\n", 0, true, "journal: captured with root pid and start");
  journal_is (dirfd, "returned dump-1 \n", 0, false, "journal: returned");
  journal_is (dirfd, "captured dump-2 root-42-1\n", 0, false, "journal: captured by another dump");
  journal_is (dirfd, "captured dump-1 root-0-1\n", -1, false, "journal: root pid 0");
  journal_is (dirfd, "captured dump-1 root--5-1\n", -1, false, "journal: negative root pid");
  journal_is (dirfd, "captured dump-1 root-4194305-1\n", -1, false, "journal: root pid above PID_MAX_LIMIT");
  journal_is (dirfd, "captured dump-1 root-99999999999999999999999-1\n", -1, false, "journal: root pid overflows");
  journal_is (dirfd, "captured dump-1 root-42-99999999999999999999999\n", -1, false, "journal: start time overflows");
  journal_is (dirfd, "captured dump-1 root-42-+7\n", -1, false, "journal: signed start time");
  journal_is (dirfd, "captured dump-1 root-42\n", -1, false, "journal: no start time");
  journal_is (dirfd, "captured dump-1 root-42-7x\n", -1, false, "journal: trailing junk in root");
  journal_is (dirfd, "captured ../../etc root-42-7\n", -1, false, "journal: dump id with a slash");
  journal_is (dirfd, "captured dump-1 root-42-7 more\n", -1, false, "journal: a fourth field");
  journal_is (dirfd, "gone dump-1\n", -1, false, "journal: unknown state");
  journal_is (dirfd, "captured aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaroot-1-1\n", -1, false,
              "journal: a 63-character dump id run into root-PID-START is refused, not split");
  journal_is (dirfd, "captured bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n", -1, false,
              "journal: dump id of 64 characters");
  unlinkat (dirfd, UC_JOURNAL_NAME, 0);
  close (dirfd);
  rmdir (dir);
}

/* The peek journal (udpcork.peek) as a hostile file: every number in
 * range, the option count of the family, nothing else on the line. */
static void
test_peek_journal (void)
{
  static const struct
  {
    const char *line;
    bool ok;
    const char *desc;
  } cases[] = {
    { "1 5 123 2 -1 1 0 1", true, "IPv4 socket, peek offset off" },
    { "42 7 99 10 3 1 0 1 0 1 1", true, "IPv6 socket, peek offset 3" },
    { "1 5 0 2 -1 1 0 1", false, "inode 0 (would turn the socket check off)" },
    { "0 5 123 2 -1 1 0 1", false, "pid 0" },
    { "4194305 5 123 2 -1 1 0 1", false, "pid above PID_MAX_LIMIT" },
    { "99999999999999999999 5 123 2 -1 1 0 1", false, "pid overflows" },
    { "1 -5 123 2 -1 1 0 1", false, "negative fd" },
    { "1 2147483648 123 2 -1 1 0 1", false, "fd above INT_MAX" },
    { "1 5 123 3 -1 1 0 1", false, "family 3" },
    { "1 5 123 2 -2 1 0 1", false, "peek offset -2" },
    { "1 5 123 2 -1 1 0 2", false, "an option that is not 0 or 1" },
    { "1 5 123 2 -1 1 0", false, "IPv4 with 2 options" },
    { "1 5 123 2 -1 1 0 1 1", false, "IPv4 with 4 options" },
    { "1 5 123 10 -1 1 0 1", false, "IPv6 with 3 options" },
    { "1 5 123 2 -1 1 0 1 ", false, "a trailing space" },
    { "1 5 123 2 -1 1 0 1x", false, "trailing junk" },
    { "1  5 123 2 -1 1 0 1", false, "two spaces" },
    { "+1 5 123 2 -1 1 0 1", false, "a plus sign" },
    { "", false, "empty" },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (*cases); i++)
    {
      struct uc_peek_rec r;
      CHECK (uc_rx_peek_parse (cases[i].line, &r) == cases[i].ok, "peek journal: %s %s", cases[i].desc,
             cases[i].ok ? "accepted" : "refused");
    }
  {
    struct uc_peek_rec r;
    CHECK (uc_rx_peek_parse ("42 7 99 10 3 1 0 1 0 1 1", &r) && r.pid == 42 && r.fd == 7 && r.ino == 99
               && r.family == AF_INET6 && r.peek_off == 3 && r.opts[0] == 1 && r.opts[1] == 0 && r.opts[5] == 1,
           "peek journal: fields read back");
  }
}

int
main (void)
{
  for (size_t i = 0; i < sizeof (payload); i++)
    payload[i] = (uint8_t) i;
  test_validate_dgram ();
  test_validate_image ();
  test_ipopt ();
  test_ipopt_unwind ();
  test_rx_packet ();
  test_cmsg ();
  test_capture_decode ();
  test_archive ();
  test_criu_core ();
  test_journal ();
  test_peek_journal ();
  return tap_done ();
}
