// SPDX-License-Identifier: GPL-2.0-or-later
#include "validate.h"
#include "packet.h"
#include "state.h"
#include "xalloc.h"

#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An error naming the entry (a variable `entry` in scope) and the field. */
#define BAD(fmt, ...) uc_make_error (err, 0, "%s: " fmt, entry, ##__VA_ARGS__)

static bool
addr_len_ok (uint32_t family, size_t len)
{
  return (family == AF_INET && len == 4) || (family == AF_INET6 && len == 16);
}

static bool
is_multicast_or_broadcast (const ProtobufCBinaryData *a)
{
  if (a->len == 4)
    return (a->data[0] & 0xf0) == 0xe0
           || (a->data[0] == 255 && a->data[1] == 255 && a->data[2] == 255 && a->data[3] == 255);
  return a->len == 16 && a->data[0] == 0xff;
}

bool
uc_dump_id_valid (const char *id)
{
  size_t n = id ? strlen (id) : 0;

  if (n == 0 || n > 63 || id[0] == '.') /* a file name: not "." or ".." */
    return false;
  for (size_t i = 0; i < n; i++)
    if (! ((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')
           || id[i] == '.' || id[i] == '_' || id[i] == '-'))
      return false;
  return true;
}

/* Owner and socket identity, shared by pending datagrams and receive
 * queues. */
static int
check_owner (const char *entry, uint32_t pid, uint32_t fd, uint32_t family, uint32_t protocol,
             const ProtobufCBinaryData *local, uint32_t port, uc_error_t *err)
{
  if (pid < 1 || pid > UC_PID_MAX)
    return BAD ("pid %" PRIu32 " out of range (1..%d)", pid, UC_PID_MAX);
  if (fd > INT_MAX)
    return BAD ("fd %" PRIu32 " out of range", fd);
  if (family != AF_INET && family != AF_INET6)
    return BAD ("unknown address family %" PRIu32, family);
  if (protocol != IPPROTO_UDP)
    return BAD ("protocol %" PRIu32 " is not UDP (17)", protocol);
  if (! addr_len_ok (family, local->len))
    return BAD ("local address has %zu bytes (family %" PRIu32 ")", local->len, family);
  if (port < 1 || port > 65535)
    return BAD ("local port %" PRIu32 " out of range (a socket with data is bound: 1..65535)", port);
  return 0;
}

int
uc_validate_dgram (const UcDgram *d, const char *entry, uc_error_t *err)
{
  size_t max;

  if (check_owner (entry, d->pid, d->fd, d->family, d->protocol, &d->local_addr, d->local_port, err) < 0)
    return -1;
  if (d->mode != UC_CORK_MODE__UC_CORK_SOCKOPT && d->mode != UC_CORK_MODE__UC_CORK_MSG_MORE)
    return BAD ("cork mode %d is neither UDP_CORK nor MSG_MORE", (int) d->mode);
  if (d->pending_family == 0)
    {
      /* UDP_CORK set on an empty socket: nothing else to carry */
      if (d->mode != UC_CORK_MODE__UC_CORK_SOCKOPT || d->payload.len != 0)
        return BAD ("nothing pending but a %s datagram of %zu bytes",
                    d->mode == UC_CORK_MODE__UC_CORK_MSG_MORE ? "MSG_MORE" : "UDP_CORK", d->payload.len);
      return 0;
    }
  if (d->pending_family != AF_INET && d->pending_family != AF_INET6)
    return BAD ("pending family %" PRIu32 " is neither AF_INET nor AF_INET6", d->pending_family);
  if (d->pending_family == AF_INET6 && d->family != AF_INET6)
    return BAD ("IPv6 datagram pending on an IPv4 socket");
  if (! d->has_dst_addr || ! addr_len_ok (d->pending_family, d->dst_addr.len))
    return BAD ("destination address missing or of the wrong size for family %" PRIu32, d->pending_family);
  if (! d->has_dst_port || d->dst_port < 1 || d->dst_port > 65535)
    return BAD ("destination port %" PRIu32 " out of range (1..65535)", d->dst_port);
  if (d->has_src_addr && ! addr_len_ok (d->pending_family, d->src_addr.len))
    return BAD ("source address has %zu bytes", d->src_addr.len);
  if (d->has_ip_options)
    {
      bool privileged;
      const char *why;
      if (d->pending_family != AF_INET)
        return BAD ("IPv4 options on an IPv6 datagram");
      if (d->ip_options.len > UC_MAX_IPOPT)
        return BAD ("ip_options has %zu bytes (the kernel allows %d)", d->ip_options.len, UC_MAX_IPOPT);
      if ((why = uc_ipopt_check (d->ip_options.data, d->ip_options.len, &privileged)))
        return BAD ("ip_options: %s", why);
    }
  max = d->pending_family == AF_INET6 ? UC_MAX_PAYLOAD_V6
                                      : UC_MAX_PAYLOAD_V4 - (d->has_ip_options ? d->ip_options.len : 0);
  if (d->payload.len > max)
    return BAD ("payload of %zu bytes is larger than a %s datagram can be (%zu)", d->payload.len,
                d->pending_family == AF_INET6 ? "UDP/IPv6" : "UDP/IPv4", max);
  if (d->has_ttl && (d->ttl < (d->pending_family == AF_INET ? 1 : 0) || d->ttl > 255))
    return BAD ("ttl %" PRId32 " out of range", d->ttl);
  if (d->has_tos && (d->tos < 0 || d->tos > 255))
    return BAD ("tos %" PRId32 " out of range (0..255)", d->tos);
  if (d->has_sock_ttl && (d->sock_ttl < -1 || d->sock_ttl > 255))
    return BAD ("sock_ttl %" PRId32 " out of range", d->sock_ttl);
  if (d->has_sock_tos && (d->sock_tos < -1 || d->sock_tos > 255))
    return BAD ("sock_tos %" PRId32 " out of range", d->sock_tos);
  if (d->has_gso_size && d->gso_size > 65535)
    return BAD ("gso_size %" PRIu32 " out of range (0..65535)", d->gso_size);
  if (d->has_oif && d->oif > INT_MAX)
    return BAD ("oif %" PRIu32 " out of range", d->oif);
  if (d->has_flowlabel && d->flowlabel > 0xfffff)
    return BAD ("flow label 0x%" PRIx32 " has more than 20 bits", d->flowlabel);
  if (d->has_dontfrag && (d->dontfrag < -1 || d->dontfrag > 1))
    return BAD ("dontfrag %" PRId32 " out of range (-1..1)", d->dontfrag);
  if (d->has_tx_flags && d->tx_flags > 0xff)
    return BAD ("tx_flags 0x%" PRIx32 " out of range (8 bits)", d->tx_flags);
  if (d->has_cork_flags && d->cork_flags > 0xff)
    return BAD ("cork_flags 0x%" PRIx32 " out of range (8 bits)", d->cork_flags);
  return 0;
}

/* (pid, fd) pairs, each saved at most once: a socket given a datagram twice
 * would hold two. */
struct owner
{
  uint32_t pid, fd;
};

static int
cmp_owner (const void *a, const void *b)
{
  const struct owner *x = a, *y = b;
  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static int
check_unique (struct owner *o, size_t n, const char *what, uc_error_t *err)
{
  qsort (o, n, sizeof (*o), cmp_owner);
  for (size_t i = 1; i < n; i++)
    if (cmp_owner (&o[i - 1], &o[i]) == 0)
      return uc_make_error (err, 0, "two %s entries for the socket of pid %" PRIu32 " fd %" PRIu32, what, o[i].pid,
                            o[i].fd);
  return 0;
}

static int
check_head (const UcHead *h, uc_error_t *err)
{
  if (h->container_id && strlen (h->container_id) > 1024)
    return uc_make_error (err, 0, "entry 0 (head): container_id longer than 1024 bytes");
  if (h->tool_version && strlen (h->tool_version) > 64)
    return uc_make_error (err, 0, "entry 0 (head): tool_version longer than 64 bytes");
  if (h->dump_id && ! uc_dump_id_valid (h->dump_id))
    return uc_make_error (err, 0,
                          "entry 0 (head): dump_id is not 1..63 characters of [A-Za-z0-9._-] (not starting with .)");
  if (h->has_root_pid && h->root_pid > UC_PID_MAX)
    return uc_make_error (err, 0, "entry 0 (head): root_pid %" PRIu32 " out of range", h->root_pid);
  return 0;
}

static int
check_rxdgram (const UcRxdgram *r, const UcRxsock *s, const char *entry, uc_error_t *err)
{
  size_t max;

  if (r->src_addr.len != 4 && r->src_addr.len != 16)
    return BAD ("source address has %zu bytes", r->src_addr.len);
  if (s->family == AF_INET && r->src_addr.len != 4)
    return BAD ("IPv6 source on an IPv4 socket");
  if (! r->has_dst_addr || r->dst_addr.len != r->src_addr.len)
    return BAD ("destination address missing or not of the source's family");
  if (is_multicast_or_broadcast (&r->src_addr))
    return BAD ("a multicast or broadcast source address");
  if (r->src_port > 65535)
    return BAD ("source port %" PRIu32 " out of range", r->src_port);
  max = r->src_addr.len == 4 ? UC_MAX_PAYLOAD_V4 : UC_RX_MAX_V6;
  if (r->payload.len > max)
    return BAD ("payload of %zu bytes is larger than udpcork can put back for %s (%zu)", r->payload.len,
                r->src_addr.len == 4 ? "IPv4" : "IPv6", max);
  if (r->has_ttl && (r->ttl < 0 || r->ttl > 255))
    return BAD ("ttl %" PRId32 " out of range (0..255)", r->ttl);
  if (r->has_tos && (r->tos < 0 || r->tos > 255))
    return BAD ("tos %" PRId32 " out of range (0..255)", r->tos);
  return 0;
}

static int
check_rx (const struct uc_image *img, uc_error_t *err)
{
  cleanup_free uint64_t *bytes = xcalloc (img->n_rxsocks, sizeof (uint64_t));
  cleanup_free size_t *count = xcalloc (img->n_rxsocks, sizeof (size_t));
  cleanup_free struct owner *own = xcalloc (img->n_rxsocks, sizeof (struct owner));
  size_t first = 1 + img->n_dgrams;
  char entry[96];

  for (size_t i = 0; i < img->n_rxsocks; i++)
    {
      const UcRxsock *s = img->rxsocks[i];
      snprintf (entry, sizeof (entry), "entry %zu (rxsock %zu)", first + i, i + 1);
      if (check_owner (entry, s->pid, s->fd, s->family, s->protocol, &s->local_addr, s->local_port, err) < 0)
        return -1;
      if (s->has_peek_off && s->peek_off < -1)
        return BAD ("peek_off %" PRId32 " out of range", s->peek_off);
      own[i] = (struct owner){ s->pid, s->fd };
    }
  first += img->n_rxsocks;
  for (size_t i = 0; i < img->n_rxdgrams; i++)
    {
      const UcRxdgram *r = img->rxdgrams[i];
      snprintf (entry, sizeof (entry), "entry %zu (rxdgram %zu)", first + i, i + 1);
      if (r->sock >= img->n_rxsocks)
        return BAD ("socket index %" PRIu32 " out of range", r->sock);
      if (check_rxdgram (r, img->rxsocks[r->sock], entry, err) < 0)
        return -1;
      count[r->sock]++;
      bytes[r->sock] += r->payload.len;
    }
  for (size_t i = 0; i < img->n_rxsocks; i++)
    {
      const UcRxsock *s = img->rxsocks[i];
      snprintf (entry, sizeof (entry), "entry %zu (rxsock %zu)", 1 + img->n_dgrams + i, i + 1);
      if (count[i] != s->n_dgrams)
        return BAD ("declares %" PRIu32 " datagrams, the image holds %zu", s->n_dgrams, count[i]);
      if (s->has_bytes && s->bytes != bytes[i])
        return BAD ("declares %" PRIu64 " bytes, its datagrams hold %" PRIu64, s->bytes, bytes[i]);
    }
  return check_unique (own, img->n_rxsocks, "rxsock", err);
}

int
uc_validate_image (const struct uc_image *img, bool log, uc_error_t *err)
{
  cleanup_free struct owner *own = xcalloc (img->n_dgrams, sizeof (struct owner));
  char entry[96];

  if (check_head (img->head, err) < 0)
    return -1;
  for (size_t i = 0; i < img->n_dgrams; i++)
    {
      if (log)
        snprintf (entry, sizeof (entry), "entry %zu (dgram %zu)", i + 1, i + 1);
      else
        snprintf (entry, sizeof (entry), "entry %zu (dgram %zu of %zu)", i + 1, i + 1, img->n_dgrams);
      if (uc_validate_dgram (img->dgrams[i], entry, err) < 0)
        return -1;
      own[i] = (struct owner){ img->dgrams[i]->pid, img->dgrams[i]->fd };
    }
  if (check_unique (own, img->n_dgrams, "dgram", err) < 0)
    return -1;
  return log ? 0 : check_rx (img, err);
}
