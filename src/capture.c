// SPDX-License-Identifier: GPL-2.0-or-later
#include "capture.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "caps.h"
#include "fault.h"
#include "image.h"
#include "log.h"
#include "packet.h"
#include "reinject.h"
#include "sock.h"
#include "xalloc.h"

int
uc_work_open (const struct uc_container *c, struct uc_work *w, size_t n, uc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      char who[UC_SOCK_NAME_LEN];
      socklen_t l = sizeof (w[i].cookie);

      uc_target_str (w[i].t, who, sizeof (who));
      w[i].fd = uc_sock_open (c, w[i].t->pid, w[i].t->fd, &(struct uc_sock_id){ .ino = w[i].t->rec.ino }, err);
      if (w[i].fd < 0)
        return uc_error_wrap (err, "socket %s (the process changed it?)", who);
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

static uint32_t
mode_of (const struct uc_sock_rec *r)
{
  return (r->flags & UC_F_CORK) ? UC_CORK_MODE__UC_CORK_SOCKOPT : UC_CORK_MODE__UC_CORK_MSG_MORE;
}

/* Uncork one armed socket, check the capture, persist it (before its slot
 * goes), then check the socket. */
static int
capture_one (struct uc_bpf *b, struct uc_work *w, const struct uc_capture_sink *sink, uc_error_t *err)
{
  const struct uc_slot *slot = uc_bpf_slot (b);
  const struct uc_sock_rec *r = &w->t->rec;
  const char *why;
  int zero = 0, cork = -1, q;
  socklen_t l = sizeof (cork);
  char who[160];

  uc_target_str (w->t, who, sizeof (who));
  if (setsockopt (w->fd, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero)) < 0)
    return uc_make_error (err, errno, "socket %s: setsockopt UDP_CORK=0 (datagram still in the socket)", who);
  /* From here the pending state is out of the socket: in the pinned slot,
   * then in the capture log, or lost if the kernel did something
   * unforeseen (each check says which). */
  w->taken = true;
  uc_fault ("uncorked");
  if (r->pending != 0)
    {
      if (slot->count == 0)
        return uc_make_error (err, 0, "socket %s: uncorked, but the capture program saw no datagram", who);
      if (slot->count != 1)
        return uc_make_error (err, 0, "socket %s: %u datagrams seen, expected exactly one (all dropped, none sent)",
                              who, slot->count);
      if (slot->state != UC_SLOT_CAPTURED)
        return uc_make_error (err, 0, "socket %s: datagram of %u bytes could not be copied (%s); it was dropped", who,
                              slot->len, slot->state == UC_SLOT_TOO_BIG ? "too big" : "read error");
      why = uc_capture_decode (slot, slot->data, r, w->dg);
      if (why)
        return uc_make_error (err, 0, "socket %s: captured datagram rejected: %s", who, why);
    }
  /* on disk before anything else can go wrong (UDP_CORK on an empty queue
   * too: the flag is what the socket had) */
  if (sink->persist (sink->ctx, w->dg, err) < 0)
    return uc_error_wrap (err, "socket %s: its datagram is in the pinned capture map only", who);
  w->logged = true;
  /* saved: memory holds one payload at a time, whatever the number */
  if (w->dg->payload.len)
    {
      free (w->dg->payload.data);
      w->dg->payload.data = NULL;
    }
  q = uc_sock_outq (w->fd);
  if (q != 0)
    return uc_make_error (err, q < 0 ? errno : 0, "socket %s: write queue not empty after capture (%d bytes)", who, q);
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
canary (struct uc_bpf *b, int family, uc_error_t *err)
{
  const struct uc_slot *slot = uc_bpf_slot (b);
  const char *fam = family == AF_INET ? "IPv4" : "IPv6";
  struct sockaddr_storage ss = { .ss_family = family };
  socklen_t sl = family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
  cleanup_close int r = socket (family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cleanup_close int s = socket (family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int one = 1, zero = 0, ret = -1;
  __u64 cookie = 0;
  socklen_t cl = sizeof (cookie);
  char c;

  if (family == AF_INET)
    ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  else
    ((struct sockaddr_in6 *) &ss)->sin6_addr = in6addr_loopback;
  if (r < 0 || s < 0 || bind (r, (struct sockaddr *) &ss, sl) < 0 || getsockname (r, (struct sockaddr *) &ss, &sl) < 0
      || setsockopt (s, IPPROTO_UDP, UDP_CORK, &one, sizeof (one)) < 0
      || sendto (s, "!", 1, 0, (struct sockaddr *) &ss, sl) != 1
      || getsockopt (s, SOL_SOCKET, SO_COOKIE, &cookie, &cl) < 0)
    return uc_make_error (err, errno, "%s capture check: cannot cork a test datagram on the container's loopback", fam);
  if (uc_bpf_arm (b, cookie, NULL, err) < 0)
    return -1;
  setsockopt (s, IPPROTO_UDP, UDP_CORK, &zero, sizeof (zero));
  if (slot->count != 1 || slot->state != UC_SLOT_CAPTURED || recv (r, &c, 1, MSG_DONTWAIT) >= 0)
    uc_make_error (err, 0,
                   "%s capture check failed: a test datagram was %s; something in the container's "
                   "network namespace runs before udpcork's capture (%s) and drops it (%s). No socket was "
                   "touched",
                   fam, slot->count ? "seen but not saved" : "not seen", uc_capture_path_str (b->path),
                   b->path == UC_CAPTURE_NETFILTER ? "an nft chain at priority -2147483648?" : "a firewall rule?");
  else
    ret = 0;
  uc_bpf_disarm (b, cookie);
  return ret;
}

int
uc_capture_all (struct uc_bpf *b, const char *dump_id, struct uc_work *w, size_t n, const struct uc_capture_sink *sink,
                uc_error_t *err)
{
  size_t i;
  int ret = 0;

  for (i = 0; i < n; i++)
    w[i].dg = uc_dgram_new (&w[i].t->rec, w[i].t->nspid, w[i].t->fd, mode_of (&w[i].t->rec), w[i].cookie);

  /* Pinned, attached and proven before anything is uncorked: if this fails
   * no socket has been touched. */
  if ((ret = uc_bpf_pin_slots (b, dump_id, err)) < 0 || (ret = uc_bpf_attach_capture (b, err)) < 0)
    goto out;
  for (int fam = AF_INET; fam <= AF_INET6 && ret == 0; fam += AF_INET6 - AF_INET)
    for (i = 0; i < n; i++)
      if (w[i].t->rec.pending == fam)
        {
          ret = canary (b, fam, err);
          break;
        }
  if (ret < 0)
    goto out;

  /* One slot at a time: armed right before its socket is uncorked, gone
   * right after its datagram is in the log (memory stays one datagram,
   * whatever the number). */
  for (i = 0; i < n && ret == 0; i++)
    {
      struct uc_slot owner
          = { .owner_pid = w[i].t->pid, .owner_fd = w[i].t->fd, .mode = mode_of (&w[i].t->rec), .rec = w[i].t->rec };
      ret = uc_bpf_arm (b, w[i].cookie, &owner, err);
      if (ret == 0)
        {
          ret = capture_one (b, &w[i], sink, err);
          uc_bpf_disarm (b, w[i].cookie);
        }
    }

out:
  uc_bpf_detach_capture (b);
  if (ret < 0)
    {
      size_t lost = uc_capture_rollback (w, n, sink);
      if (lost)
        uc_error_wrap (err,
                       "capture aborted; %zu sockets could not be given their datagram back (those that were "
                       "saved are in the capture log)",
                       lost);
      else
        uc_error_wrap (err, "capture aborted, every other socket has its datagram back");
    }
  uc_bpf_unpin_slots (b);
  return ret;
}

/* Do saved sockets of W miss their payload (it is in the capture log only)? */
static bool
payloads_out (const struct uc_work *w, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (w[i].taken && w[i].saved && w[i].dg->payload.len && w[i].dg->payload.data == NULL)
      return true;
  return false;
}

size_t
uc_capture_rollback (struct uc_work *w, size_t n, const struct uc_capture_sink *sink)
{
  uc_error_t e = NULL;
  size_t failed = 0;

  if (payloads_out (w, n) && sink->reload (sink->ctx, w, n, &e) < 0)
    {
      uc_err ("rollback: cannot read the datagrams back from the capture log: %s", e->msg);
      uc_error_release (&e);
    }
  for (size_t i = 0; i < n; i++)
    {
      uc_error_t err = NULL;
      char who[160];

      if (! w[i].taken)
        continue;
      uc_target_str (w[i].t, who, sizeof (who));
      /* A socket whose capture failed half-way has nothing valid to give
       * back (its error was reported by the capture); one whose checks
       * failed after the log append keeps its datagram there. */
      if (! w[i].saved || (w[i].dg->payload.len && w[i].dg->payload.data == NULL))
        {
          failed++;
          continue;
        }
      uint64_t caps = 0;
      uc_caps_of_pid (w[i].t->pid, &caps, NULL);
      if (uc_reinject (w[i].fd, w[i].dg, caps, NULL, who, &err) < 0)
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

UcDgram *
uc_capture_leftover (const struct uc_container *c, __u64 cookie, const struct uc_slot *s, const char **why)
{
  UcDgram *d;
  pid_t nspid;

  *why = NULL;
  if (! s->armed)
    return NULL; /* the canary's */
  nspid = uc_container_ns_pid (c, (pid_t) s->owner_pid);
  if (nspid == 0)
    {
      *why = "its process is gone";
      return NULL;
    }
  if (s->rec.pending != 0 && s->count == 0)
    return NULL; /* killed before the uncork: the datagram is still in the socket */
  d = uc_dgram_new (&s->rec, nspid, s->owner_fd, s->mode, cookie);
  if (s->rec.pending != 0)
    {
      if (s->count != 1 || s->state != UC_SLOT_CAPTURED)
        *why = "the capture program did not copy it whole";
      else
        *why = uc_capture_decode (s, s->data, &s->rec, d);
      if (*why)
        {
          protobuf_c_message_free_unpacked (&d->base, NULL);
          return NULL;
        }
    }
  return d;
}
