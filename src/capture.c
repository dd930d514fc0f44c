// SPDX-License-Identifier: GPL-2.0-or-later
#include "capture.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sockios.h>
#include "image.h"
#include "log.h"
#include "reinject.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef UDP_CORK
#define UDP_CORK 1
#endif

int
uc_work_open (struct uc_work *w, size_t n, uc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      char who[160];
      socklen_t l = sizeof (w[i].cookie);
      struct stat st;

      uc_target_str (w[i].t, who, sizeof (who));
      w[i].fd = uc_proc_getfd (w[i].t->pid, w[i].t->fd, err);
      if (w[i].fd < 0)
        return uc_error_wrap (err, "socket %s", who);
      if (fstat (w[i].fd, &st) < 0)
        return uc_make_error (err, errno, "fstat socket %s", who);
      if ((__u64) st.st_ino != w[i].t->rec.ino)
        return uc_make_error (err, 0, "socket %s: fd now refers to inode %llu, not %llu (the process changed it)",
                              who, (unsigned long long) st.st_ino, (unsigned long long) w[i].t->rec.ino);
      if (getsockopt (w[i].fd, SOL_SOCKET, SO_COOKIE, &w[i].cookie, &l) < 0)
        return uc_make_error (err, errno, "getsockopt SO_COOKIE on socket %s", who);
    }
  return 0;
}

void
uc_work_close (struct uc_work *w, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (w[i].fd >= 0)
        close (w[i].fd);
      w[i].fd = -1;
    }
}

/* The entry for W before its data is known: owner, identity, mode. */
static UcDgram *
dgram_new (const struct uc_work *w)
{
  const struct uc_sock_rec *r = &w->t->rec;
  size_t alen = r->family == AF_INET6 ? 16 : 4;
  UcDgram *d = calloc (1, sizeof (*d));

  if (d == NULL)
    return NULL;
  uc_dgram__init (d);
  d->pid = w->t->nspid;
  d->fd = w->t->fd;
  d->family = r->family;
  d->protocol = r->protocol;
  d->local_port = r->lport;
  d->has_ino = d->has_cookie = d->has_connected = 1;
  d->ino = r->ino;
  d->cookie = w->cookie;
  d->connected = (r->flags & UC_F_CONNECTED) != 0;
  d->mode = (r->flags & UC_F_CORK) ? UC_CORK_MODE__UC_CORK_SOCKOPT : UC_CORK_MODE__UC_CORK_MSG_MORE;
  d->pending_family = r->pending;
  if (uc_img_bytes (&d->local_addr, r->laddr, alen) < 0 || uc_img_bytes (&d->payload, NULL, 0) < 0)
    {
      protobuf_c_message_free_unpacked (&d->base, NULL);
      return NULL;
    }
  return d;
}

static const char *cork_attributes (const struct uc_sock_rec *r, UcDgram *d);
static void unwind_options (const struct uc_sock_rec *r, __u8 opt[40]);

/* Fill D from the captured datagram: headers as sent, then the payload.
 * Returns NULL on success, else why the record is not acceptable. */
static const char *
parse_capture (const struct uc_slot *s, const struct uc_sock_rec *r, UcDgram *d)
{
  const __u8 *p = s->data;
  size_t hl, alen;
  __u16 ulen;

  if (s->len < 1)
    return "empty record";
  if (r->pending == AF_INET)
    {
      if ((p[0] >> 4) != 4 || s->len < 20 || (hl = (p[0] & 15) * 4) < 20 || s->len < hl + 8)
        return "not an IPv4 datagram";
      d->has_tos = d->has_ttl = d->has_src_addr = d->has_dst_addr = 1;
      d->tos = p[1];
      d->ttl = p[8];
      alen = 4;
      if (uc_img_bytes (&d->src_addr, p + 12, 4) < 0 || uc_img_bytes (&d->dst_addr, p + 16, 4) < 0)
        return "out of memory";
    }
  else
    {
      __u8 next;
      if ((p[0] >> 4) != 6 || s->len < 48)
        return "not an IPv6 datagram";
      d->has_tos = d->has_ttl = d->has_flowlabel = d->has_src_addr = d->has_dst_addr = 1;
      d->tos = ((p[0] & 15) << 4) | (p[1] >> 4);
      d->flowlabel = ((p[1] & 15) << 16) | (p[2] << 8) | p[3];
      d->ttl = p[7];
      next = p[6];
      hl = 40;
      while ((next == 0 || next == 43 || next == 60) && hl + 8 <= s->len)
        {
          next = p[hl];
          hl += (p[hl + 1] + 1) * 8;
        }
      if (next != IPPROTO_UDP && next != 136 /* UDP-Lite */)
        return "IPv6 datagram without a UDP header";
      if (s->len < hl + 8)
        return "truncated IPv6 datagram";
      alen = 16;
      if (uc_img_bytes (&d->src_addr, p + 8, 16) < 0 || uc_img_bytes (&d->dst_addr, p + 24, 16) < 0)
        return "out of memory";
    }
  (void) alen;
  ulen = (p[hl + 4] << 8) | p[hl + 5];
  if (ulen != s->len - hl || ulen != r->len)
    return "UDP length does not match the pending length";
  if (((p[hl] << 8) | p[hl + 1]) != r->lport)
    return "source port does not match the socket";
  d->has_dst_port = 1;
  d->dst_port = (p[hl + 2] << 8) | p[hl + 3];
  d->has_mark = d->has_priority = 1;
  d->mark = s->mark;
  d->priority = s->priority;
  if (s->tstamp || r->cork_transmit_time)
    {
      d->has_transmit_time = 1;
      d->transmit_time = r->cork_transmit_time ? r->cork_transmit_time : s->tstamp;
    }
  free (d->payload.data);
  if (uc_img_bytes (&d->payload, p + hl + 8, ulen - 8) < 0)
    return "out of memory";
  return cork_attributes (r, d);
}

/* What the cork keeps and the packet does not show. */
static const char *
cork_attributes (const struct uc_sock_rec *r, UcDgram *d)
{
  d->has_gso_size = d->has_oif = d->has_cork_flags = d->has_tx_flags = d->has_ts_opt_id = 1;
  d->gso_size = r->cork_gso_size;
  d->oif = r->cork_oif;
  d->cork_flags = r->cork_flags;
  d->tx_flags = r->cork_tx_flags;
  d->ts_opt_id = r->cork_ts_opt_id;
  /* Not the IPv6 cork's dontfrag: on 6.18 that field is not kept for the
   * pending datagram (stale values were seen), so a copy of it could make
   * the re-injection fail (EMSGSIZE). The socket option is CRIU's. */
  if (r->cork_optlen)
    {
      __u8 opt[sizeof (r->cork_opt)];
      unwind_options (r, opt);
      d->has_ip_options = 1;
      if (uc_img_bytes (&d->ip_options, opt, r->cork_optlen) < 0)
        return "out of memory";
    }
  return NULL;
}

/* The cork keeps IPv4 options compiled: the pointer of a record-route or
 * timestamp option already moved past the slot the kernel fills in for this
 * host at output. Give back the options as the application wrote them. */
static void
unwind_options (const struct uc_sock_rec *r, __u8 opt[40])
{
  memcpy (opt, r->cork_opt, sizeof (r->cork_opt));
  if ((r->cork_opt_need & UC_OPT_RR_NEEDADDR) && r->cork_opt_rr >= 20 && r->cork_opt_rr - 20 + 2 < r->cork_optlen)
    {
      __u8 *o = opt + r->cork_opt_rr - 20;
      if (o[2] >= 8)
        {
          o[2] -= 4;
          if (o[2] - 1 + 4 <= o[1])
            memset (o + o[2] - 1, 0, 4);
        }
    }
  if ((r->cork_opt_need & UC_OPT_TS_NEEDTIME) && r->cork_opt_ts >= 20 && r->cork_opt_ts - 20 + 3 < r->cork_optlen)
    {
      __u8 *o = opt + r->cork_opt_ts - 20;
      int step = (o[3] & 15) == 0 ? 4 : 8; /* timestamps only, or address + timestamp */
      if (o[2] >= 5 + step)
        {
          o[2] -= step;
          if ((o[3] & 15) != 3 && o[2] - 1 + step <= o[1]) /* prespecified addresses stay */
            memset (o + o[2] - 1, 0, step);
          else if (o[2] - 1 + 8 <= o[1])
            memset (o + o[2] - 1 + 4, 0, 4);
        }
    }
}

static int
outq (int fd)
{
  int v = -1;
  if (ioctl (fd, SIOCOUTQ, &v) < 0)
    return -1;
  return v;
}

/* Uncork one armed socket and check the capture. */
static int
capture_one (struct uc_bpf *b, struct uc_work *w, struct uc_slot *slot, uc_error_t *err)
{
  const struct uc_sock_rec *r = &w->t->rec;
  const char *why;
  int zero = 0, cork = -1, q;
  socklen_t l = sizeof (cork);
  char who[160];

  uc_target_str (w->t, who, sizeof (who));
  if (setsockopt (w->fd, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero)) < 0)
    return uc_make_error (err, errno, "socket %s: setsockopt UDP_CORK=0 (datagram still in the socket)", who);
  /* From here the pending state is out of the socket: in the slot, or lost
   * if the kernel did something unforeseen (each check says which). */
  w->taken = true;
  if (r->pending == 0)
    {
      w->saved = true; /* UDP_CORK on an empty queue: nothing to capture */
      return 0;
    }

  if (uc_bpf_read_slot (b, w->cookie, slot, err) < 0)
    return uc_error_wrap (err, "socket %s", who);
  if (slot->count == 0)
    return uc_make_error (err, 0, "socket %s: uncorked, but the capture program saw no datagram", who);
  if (slot->count != 1)
    return uc_make_error (err, 0, "socket %s: %u datagrams seen, expected exactly one (all dropped, none sent)",
                          who, slot->count);
  if (slot->state != UC_SLOT_CAPTURED)
    return uc_make_error (err, 0, "socket %s: datagram of %u bytes could not be copied (%s); it was dropped",
                          who, slot->len, slot->state == UC_SLOT_TOO_BIG ? "too big" : "read error");
  why = parse_capture (slot, r, w->dg);
  if (why)
    return uc_make_error (err, 0, "socket %s: captured datagram rejected: %s", who, why);
  q = outq (w->fd);
  if (q != 0)
    return uc_make_error (err, q < 0 ? errno : 0, "socket %s: write queue not empty after capture (%d bytes)",
                          who, q);
  if (getsockopt (w->fd, IPPROTO_UDP, UDP_CORK, &cork, &l) < 0 || cork != 0)
    return uc_make_error (err, errno, "socket %s: UDP_CORK still set after capture", who);
  w->saved = true;
  return 0;
}

/* Proof that the capture path works in this netns before any real socket
 * is touched: a corked 1-byte datagram of our own, to a socket of our own on
 * the loopback, must be captured and must not arrive. (An nft chain at
 * priority INT_MIN, say, could drop datagrams before our program sees them.) */
static int
canary (struct uc_bpf *b, int family, struct uc_slot *slot, uc_error_t *err)
{
  const char *fam = family == AF_INET ? "IPv4" : "IPv6";
  struct sockaddr_storage ss = { .ss_family = family };
  socklen_t sl = family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
  int r = -1, s = -1, one = 1, zero = 0, ret = -1;
  __u64 cookie = 0;
  socklen_t cl = sizeof (cookie);
  char c;

  if (family == AF_INET)
    ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  else
    ((struct sockaddr_in6 *) &ss)->sin6_addr = in6addr_loopback;
  r = socket (family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  s = socket (family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (r < 0 || s < 0 || bind (r, (struct sockaddr *) &ss, sl) < 0 || getsockname (r, (struct sockaddr *) &ss, &sl) < 0
      || setsockopt (s, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0
      || sendto (s, "!", 1, 0, (struct sockaddr *) &ss, sl) != 1
      || getsockopt (s, SOL_SOCKET, SO_COOKIE, &cookie, &cl) < 0)
    {
      uc_make_error (err, errno, "%s capture check: cannot cork a test datagram on the container's loopback", fam);
      goto out;
    }
  if (uc_bpf_arm (b, cookie, err) < 0)
    goto out;
  setsockopt (s, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero));
  if (uc_bpf_read_slot (b, cookie, slot, err) == 0)
    {
      if (slot->count != 1 || slot->state != UC_SLOT_CAPTURED || recv (r, &c, 1, MSG_DONTWAIT) >= 0)
        uc_make_error (err, 0, "%s capture check failed: a test datagram was %s; something in the container's "
                       "network namespace runs before udpcork's capture (%s) and drops it (%s). No socket was "
                       "touched",
                       fam, slot->count ? "seen but not saved" : "not seen", uc_capture_path_str (b->path),
                       b->path == UC_CAPTURE_NETFILTER ? "an nft chain at priority -2147483648?" : "a firewall rule?");
      else
        ret = 0;
    }
  uc_bpf_disarm (b, cookie);
out:
  if (r >= 0)
    close (r);
  if (s >= 0)
    close (s);
  return ret;
}

int
uc_capture_all (struct uc_bpf *b, struct uc_work *w, size_t n, uc_persist_fn persist, void *ctx, uc_error_t *err)
{
  struct uc_slot *slot = NULL;
  size_t i;
  int ret = 0;

  for (i = 0; i < n; i++)
    if ((w[i].dg = dgram_new (&w[i])) == NULL)
      return uc_make_error (err, ENOMEM, "capture");
  slot = malloc (sizeof (*slot));
  if (slot == NULL)
    return uc_make_error (err, ENOMEM, "capture");

  /* Attached and proven before anything is uncorked: if this fails no
   * socket has been touched. */
  if ((ret = uc_bpf_attach_capture (b, err)) < 0)
    goto out;
  for (int fam = AF_INET; fam <= AF_INET6 && ret == 0; fam += AF_INET6 - AF_INET)
    for (i = 0; i < n; i++)
      if (w[i].t->rec.pending == fam)
        {
          ret = canary (b, fam, slot, err);
          break;
        }
  if (ret < 0)
    goto out;

  /* One slot at a time: armed right before its socket is uncorked, gone
   * right after (memory stays one datagram, whatever the number). */
  for (i = 0; i < n && ret == 0; i++)
    {
      ret = uc_bpf_arm (b, w[i].cookie, err);
      if (ret == 0)
        {
          ret = capture_one (b, &w[i], slot, err);
          uc_bpf_disarm (b, w[i].cookie);
        }
      if (ret == 0 && persist)
        ret = persist (ctx, w[i].dg, err);
    }

out:
  uc_bpf_detach_capture (b);
  free (slot);
  if (ret < 0)
    {
      size_t lost = uc_capture_rollback (w, n);
      if (lost)
        uc_error_wrap (err, "capture aborted; %zu sockets could not be given their datagram back (they are in %s)",
                       lost, persist ? "the capture log" : "memory only");
      else
        uc_error_wrap (err, "capture aborted, every other socket has its datagram back");
    }
  return ret;
}

size_t
uc_capture_rollback (struct uc_work *w, size_t n)
{
  size_t failed = 0;

  for (size_t i = 0; i < n; i++)
    {
      uc_error_t err = NULL;
      char who[160];

      /* A socket whose capture failed half-way has nothing valid to give
       * back: its error was reported by the capture. */
      if (! w[i].taken || ! w[i].saved)
        continue;
      uc_target_str (w[i].t, who, sizeof (who));
      if (uc_reinject (w[i].fd, w[i].dg, who, &err) < 0)
        {
          uc_err ("rollback of socket %s failed: %s", who, err->msg);
          uc_error_release (&err);
          failed++;
          continue;
        }
      w[i].taken = false;
    }
  return failed;
}
