// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-prestop: take pending datagrams out of a container's sockets
 * before CRIU dumps it; give them back once the dump is over. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include "capture.h"
#include "dumpdir.h"
#include "fault.h"
#include "hooks.h"
#include "log.h"
#include "recover.h"
#include "reinject.h"
#include "rxsave.h"
#include "util.h"
#include "xalloc.h"

/* One capture: what it holds until it ends. */
struct run
{
  struct uc_container c;
  struct uc_bpf b;
  struct uc_target *t; /* corked or with unread datagrams */
  size_t n;
  struct uc_work *w; /* the corked ones */
  size_t n_w;
  struct uc_image img; /* what is saved: the receive queues, then the datagrams */
  struct uc_dump dump;
};

static int
persist (void *ctx, const UcDgram *d, uc_error_t *err)
{
  return uc_dump_append (ctx, d, err);
}

static int
reload (void *ctx, struct uc_work *w, size_t n, uc_error_t *err)
{
  return uc_dump_reload (ctx, w, n, err);
}

static void
run_free (struct run *r)
{
  if (r->w)
    {
      uc_work_close (r->w, r->n_w);
      for (size_t i = 0; i < r->n_w; i++)
        if (r->w[i].dg)
          protobuf_c_message_free_unpacked (&r->w[i].dg->base, NULL);
    }
  free (r->w);
  free (r->t);
  uc_image_free (&r->img);
  uc_dump_abort (&r->dump, true);
  uc_bpf_close (&r->b);
  uc_container_close (&r->c);
}

static void
log_captured (const struct uc_work *w)
{
  char who[160], dst[UC_ADDRSTRLEN];
  const UcDgram *d = w->dg;

  uc_target_str (w->t, who, sizeof (who));
  uc_note ("socket %s: saved %zu pending bytes for %s (%s)", who, d->payload.len,
           uc_dgram_dst_str (d, dst, sizeof (dst)), uc_dgram_mode_str (d));
}

/* Does any datagram remain out of its socket? */
static bool
any_out (const struct uc_work *w, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (w[i].taken && w[i].logged)
      return true;
  return false;
}

/* The image will hold one entry per corked socket, per socket with unread
 * datagrams and per unread datagram: beyond what a reader accepts, the dump
 * is refused now, before any socket is touched. */
static int
check_entries (const struct uc_target *t, size_t n, uc_error_t *err)
{
  uint64_t entries = 0;

  for (size_t i = 0; i < n; i++)
    entries += uc_sock_is_corked (&t[i].rec) + (uc_sock_has_rx (&t[i].rec) ? 1 + (uint64_t) t[i].rec.rx_qlen : 0);
  if (entries > UC_IMG_MAX_ENTRIES)
    return uc_make_error (err, 0,
                          "the container holds %llu corked sockets, sockets with unread datagrams and unread "
                          "datagrams: more than the %u an image holds; refusing the checkpoint (every socket keeps "
                          "its data)",
                          (unsigned long long) entries, UC_IMG_MAX_ENTRIES);
  return 0;
}

/* A directory an annotation named may hold an earlier image only of this
 * same container: a dump never replaces another container's image. */
static int
check_dir_owner (const struct uc_hook *h, uc_error_t *err)
{
  struct uc_image img;
  int ret;

  if (! h->dir_by_annotation || faccessat (h->dirfd, UC_IMG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  ret = uc_image_read (h->dirfd, UC_IMG_NAME, &img, err);
  if (ret == 0)
    ret = uc_hook_image_is_ours (h, &img, err);
  uc_image_free (&img);
  return ret;
}

/* network-lock (or OCI mode): discover, capture, save. */
static int
capture (const struct uc_hook *h, uc_error_t *err)
{
  struct run r = { .dump.log.fd = -1 };
  const struct uc_capture_sink sink = { persist, reload, &r.dump };
  UcHead head = UC_HEAD__INIT;
  size_t bytes = 0, i, lost;
  int64_t t0 = uc_action_start_ns ();
  bool maybe = true;
  int ret = -1;

  if (check_dir_owner (h, err) < 0)
    return -1;
  /* Loading the BPF programs costs tens of ms, opening the pinned ones
   * nothing: without a BPF filesystem, a look at /proc first (slow with
   * thousands of sockets: the kernel walks its table for every read) says
   * whether they are needed at all. */
  if (uc_container_open (h->pid, &r.c, err) < 0 || uc_container_enter_netns (&r.c, err) < 0
      || (! uc_bpf_can_pin () && uc_discover_quick (&r.c, &maybe, err) < 0))
    goto out;
  if (maybe && (uc_bpf_open (&r.b, true, err) < 0 || uc_discover (&r.b, &r.c, &r.t, &r.n, err) < 0))
    goto out;
  if (check_entries (r.t, r.n, err) < 0 || uc_dump_begin (&r.dump, h->dirfd, h->dump_id, err) < 0)
    goto out;
  if (r.n == 0)
    {
      uc_info ("container pid %d: no corked UDP socket, no unread datagrams (%zu processes, %.1f ms%s)", h->pid,
               r.c.n_procs, uc_ms_since (t0), maybe ? "" : ", BPF not needed");
      ret = 0;
      goto out;
    }
  /* Receive queues first: peeking changes nothing, so a failure there
   * leaves every socket untouched. */
  if (uc_rx_save (&r.c, h->dirfd, r.t, r.n, &r.img, err) < 0)
    goto out;
  r.w = xcalloc (r.n, sizeof (*r.w));
  for (i = 0; i < r.n; i++)
    if (uc_sock_is_corked (&r.t[i].rec))
      r.w[r.n_w++] = (struct uc_work){ .t = &r.t[i], .fd = -1 };
  uc_fault ("discovered");
  if (uc_work_open (&r.c, r.w, r.n_w, err) < 0 || (r.n_w > 0 && uc_dump_open_log (&r.dump, h->id, err) < 0))
    goto out;
  if (uc_capture_all (&r.b, h->dump_id, r.w, r.n_w, &sink, err) < 0)
    {
      /* every datagram taken went back to its socket (else the error says
       * which did not, and the log keeps those it holds) */
      uc_dump_abort (&r.dump, any_out (r.w, r.n_w));
      goto out;
    }
  /* the datagrams are in the capture log (the image copies them from
   * there), the receive queues in r.img */
  r.img.head = &head;
  if (uc_dump_commit (&r.dump, &r.img, h->id, h->pid, err) < 0)
    {
      lost = uc_capture_rollback (r.w, r.n_w, &sink);
      if (lost)
        uc_error_wrap (err, "image not saved and %zu sockets could not be given their datagram back (they are in %s)",
                       lost, UC_LOG_NAME);
      else
        uc_error_wrap (err, "image not saved; every socket has its datagram back");
      uc_dump_abort (&r.dump, lost > 0);
      r.img.head = NULL;
      goto out;
    }
  r.img.head = NULL; /* on the stack */
  for (i = 0; i < r.n_w; i++)
    {
      log_captured (&r.w[i]);
      bytes += r.w[i].dg->payload.len;
    }
  uc_info ("container pid %d: saved %zu corked sockets, %zu bytes, and %zu unread datagrams of %zu sockets, in %.1f "
           "ms, peak RSS %ld KiB%s%s",
           h->pid, r.n_w, bytes, r.img.n_rxdgrams, r.img.n_rxsocks, uc_ms_since (t0), uc_peak_rss_kib (),
           r.n_w ? ", capture via " : "", r.n_w ? uc_capture_path_str (r.b.path) : "");
  ret = 0;
out:
  r.img.head = NULL;
  run_free (&r);
  return ret;
}

/* A container in CRIU's own network namespace (podman --network host):
 * CRIU runs no network-lock action there, so nothing was captured. If it has
 * pending datagrams, CRIU either refused the dump already (UDP_CORK) or
 * dumped without them (MSG_MORE): fail post-dump, so that CRIU lets the
 * container run on with its data instead of killing it. */
static int
refuse_shared_netns (const struct uc_container *c, uc_error_t *err)
{
  cleanup_free struct uc_target *t = NULL;
  struct uc_bpf b = { 0 };
  char who[160];
  size_t n = 0;
  int ret;

  if (! c->host_netns)
    return 0;
  ret = uc_bpf_open (&b, false, err);
  if (ret == 0)
    ret = uc_discover (&b, c, &t, &n, err);
  if (ret == 0 && n > 0)
    ret = uc_make_error (err, 0,
                         "container pid %d shares CRIU's network namespace (--network host?): CRIU runs no "
                         "network-lock action there, so udpcork could not save its %zu pending datagram(s) "
                         "(first: socket %s); refusing the checkpoint: the container keeps running with its data",
                         c->init, n, uc_target_str (&t[0], who, sizeof (who)));
  uc_bpf_close (&b);
  return ret;
}

/* post-dump: the dump is written. The datagrams stay where they are (in
 * the image only): CRIU runs network-unlock right after this if the tasks
 * go on (--leave-running, or a failure), and kills them otherwise, as a
 * checkpoint does by default; putting 10000 datagrams back into sockets
 * about to die would only cost time. */
static int
dumped (const struct uc_hook *h, uc_error_t *err)
{
  struct uc_container c = UC_CONTAINER_INIT;
  int64_t t0 = uc_action_start_ns ();
  bool captured;
  int ret;

  ret = uc_dump_captured (h->dirfd, h->dump_id, &captured, err);
  if (ret == 0 && captured)
    uc_info ("post-dump: the datagrams stay in %s; network-unlock gives them back if the container goes on (%.1f ms)",
             UC_IMG_NAME, uc_ms_since (t0));
  if (ret == 0 && ! captured)
    {
      ret = uc_container_open (h->pid, &c, err);
      if (ret == 0)
        ret = refuse_shared_netns (&c, err);
      uc_container_close (&c);
    }
  return ret;
}

/* network-unlock: give the datagrams back to the dumped sockets, once. */
static int
give_back (const struct uc_hook *h, uc_error_t *err)
{
  struct uc_container c = UC_CONTAINER_INIT;
  bool found = false;
  int ret;

  ret = uc_container_open (h->pid, &c, err);
  if (ret == 0)
    ret = uc_recover (&c, h->dirfd, h->dump_id, uc_action_name (h->action), &found, err);
  uc_container_close (&c);
  return ret;
}

static bool
acts_on (enum uc_action a)
{
  return a == UC_ACTION_OCI || a == UC_ACTION_NETWORK_LOCK || a == UC_ACTION_POST_DUMP || a == UC_ACTION_NETWORK_UNLOCK;
}

static int
run (const struct uc_hook *h, uc_error_t *err)
{
  const struct uc_state *st = h->st;

  if (h->action == UC_ACTION_OCI && (st->status == NULL || strcmp (st->status, "paused") != 0))
    return uc_make_error (err, 0,
                          "container %s is `%s`: run from an OCI hook, udpcork-prestop needs the container "
                          "paused (crun pause) so that nothing changes until CRIU seizes it; the safe way is the CRIU "
                          "action script (see udpcork-prestop(8))",
                          st->id ? st->id : "?", st->status ? st->status : "?");
  if (h->pid <= 0)
    return uc_make_error (err, 0, "%s: no container pid (CRTOOLS_INIT_PID)", uc_action_name (h->action));
  if (h->action == UC_ACTION_OCI || h->action == UC_ACTION_NETWORK_LOCK)
    return capture (h, err);
  if (h->action == UC_ACTION_POST_DUMP)
    return dumped (h, err);
  return give_back (h, err);
}

const struct uc_hook_def uc_prestop_hook = {
  .prog = "udpcork-prestop",
  .what = "Save the pending corked UDP datagrams of a container before CRIU dumps it.",
  .acts_on = acts_on,
  .run = run,
};
