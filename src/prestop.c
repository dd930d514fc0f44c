// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-prestop: take pending datagrams out of a container's sockets
 * before CRIU dumps it; give them back once the dump is over. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "capture.h"
#include "hooks.h"
#include "image.h"
#include "journal.h"
#include "log.h"
#include "putback.h"
#include "recover.h"
#include "fault.h"
#include "reinject.h"
#include "runtime.h"
#include "rxsave.h"
#include <sys/stat.h>
#include "util.h"
#include "xalloc.h"

struct run
{
  struct uc_container c;
  struct uc_bpf b;
  struct uc_target *t; /* corked or with unread datagrams */
  size_t n;
  struct uc_work *w;   /* the corked ones */
  size_t n_w;
  struct uc_image rx;  /* saved receive queues */
  struct uc_image_log log;
  bool log_open;
};

static int
log_persist (void *ctx, const UcDgram *d, uc_error_t *err)
{
  int ret = uc_image_log_append (ctx, d, err);
  uc_fault ("captured");
  return ret;
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
  uc_image_free (&r->rx);
  if (r->log_open)
    uc_image_log_close (&r->log, false);
  uc_bpf_close (&r->b);
  uc_container_close (&r->c);
}

static int
save_image (int dirfd, const struct uc_state *st, struct run *r, uc_error_t *err)
{
  cleanup_free UcDgram **v = xcalloc (r->n_w + 1, sizeof (*v));
  UcHead head = UC_HEAD__INIT;
  struct uc_image img = r->rx;

  for (size_t i = 0; i < r->n_w; i++)
    v[i] = r->w[i].dg;
  head.container_id = st->id;
  head.tool_version = (char *) UDPCORK_VERSION;
  head.has_created_ns = head.has_root_pid = 1;
  head.created_ns = uc_realtime_ns ();
  head.root_pid = st->pid;
  img.head = &head;
  img.dgrams = v;
  img.n_dgrams = r->n_w;
  return uc_image_write (dirfd, UC_IMG_NAME, &img, err);
}

static void
log_captured (const struct uc_work *w)
{
  char who[160], dst[UC_ADDRSTRLEN];
  const UcDgram *d = w->dg;

  uc_target_str (w->t, who, sizeof (who));
  uc_info ("socket %s: saved %zu pending bytes for %s (%s)", who, d->payload.len,
           uc_dgram_dst_str (d, dst, sizeof (dst)), uc_dgram_mode_str (d));
}

/* Files of an earlier dump into the same directory (podman reuses it):
 * replaced, unless their datagrams were never given back. */
static int
check_earlier_dump (int dirfd, const char *id, uc_error_t *err)
{
  char old[UC_DUMP_ID_LEN];
  enum uc_journal j;

  if (faccessat (dirfd, UC_LOG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return uc_make_error (err, 0, "the image directory holds %s: datagrams an earlier, killed udpcork-prestop took "
                          "out of their sockets and nobody gave back: run `udpcork recover` (see udpcork(1)) or "
                          "move it away, then retry",
                          UC_LOG_NAME);
  if (uc_journal_read (dirfd, &j, old, err) < 0)
    return -1;
  if (j == UC_JOURNAL_NONE)
    {
      unlinkat (dirfd, UC_IMG_NAME, 0); /* an image without a journal is of an aborted capture */
      return 0;
    }
  if (strcmp (old, id) == 0)
    return uc_make_error (err, 0, "%s already says `%s` for this dump: udpcork ran twice (listed twice in the "
                          "CRIU configuration?); refusing to capture again", UC_JOURNAL_NAME, uc_journal_str (j));
  if (j == UC_JOURNAL_CAPTURED)
    return uc_make_error (err, 0, "the image directory holds datagrams of an earlier dump (%s) that were never given "
                          "back (%s says `captured`): move %s away (udpcork show tells what it holds) and retry",
                          old, UC_JOURNAL_NAME, UC_IMG_NAME);
  uc_debug ("replacing %s and %s of an earlier dump (%s)", UC_IMG_NAME, UC_JOURNAL_NAME, old);
  if ((unlinkat (dirfd, UC_IMG_NAME, 0) < 0 && errno != ENOENT) || unlinkat (dirfd, UC_JOURNAL_NAME, 0) < 0)
    return uc_make_error (err, errno, "remove the files of an earlier dump");
  return 0;
}

/* network-lock (or OCI mode): discover, capture, save. */
static int
capture (const struct uc_state *st, int dirfd, const char *id, uc_error_t *err)
{
  struct run r = { 0 };
  size_t bytes = 0, i;
  int64_t t0 = uc_now_ns ();
  bool maybe = true;
  int ret = -1;

  if (check_earlier_dump (dirfd, id, err) < 0)
    return -1;
  if (uc_container_open (st->pid, &r.c, err) < 0 || uc_container_enter_netns (&r.c, err) < 0
      || uc_discover_quick (&r.c, &maybe, err) < 0)
    goto out;
  if (maybe && (uc_bpf_open (&r.b, true, err) < 0 || uc_discover (&r.b, &r.c, &r.t, &r.n, err) < 0))
    goto out;
  if (r.n == 0)
    {
      uc_info ("container pid %d: no corked UDP socket, no unread datagrams (%zu processes, %lld ms%s)", st->pid,
               r.c.n_procs, (long long) ((uc_now_ns () - t0) / 1000000), maybe ? "" : ", BPF not needed");
      ret = 0;
      goto out;
    }
  /* Receive queues first: peeking changes nothing, so a failure there
   * leaves every socket untouched. */
  if (uc_rx_save (&r.c, dirfd, r.t, r.n, &r.rx, err) < 0)
    goto out;
  r.w = xcalloc (r.n, sizeof (*r.w));
  for (i = 0; i < r.n; i++)
    if (uc_sock_is_corked (&r.t[i].rec))
      r.w[r.n_w++] = (struct uc_work) { .t = &r.t[i], .fd = -1 };
  uc_fault ("discovered");
  if (uc_work_open (&r.c, r.w, r.n_w, err) < 0)
    goto out;
  if (r.n_w > 0)
    {
      UcHead lh = UC_HEAD__INIT;
      lh.container_id = st->id;
      lh.dump_id = (char *) id;
      if (uc_image_log_open (dirfd, &lh, &r.log, err) < 0)
        goto out;
      r.log_open = true;
    }
  if (uc_capture_all (&r.b, id, r.w, r.n_w, log_persist, &r.log, err) < 0)
    {
      /* every datagram taken went back to its socket (else the error says
       * which did not, and the log keeps those it holds) */
      bool out = false;
      for (i = 0; i < r.n_w; i++)
        out |= r.w[i].taken && r.w[i].logged;
      if (! out && r.log_open)
        {
          uc_image_log_close (&r.log, true);
          r.log_open = false;
        }
      goto out;
    }

  if (save_image (dirfd, st, &r, err) < 0
      || (uc_fault ("image-written"), uc_journal_write (dirfd, UC_JOURNAL_CAPTURED, id, err) < 0))
    {
      size_t lost = uc_capture_rollback (r.w, r.n_w);
      if (lost)
        uc_error_wrap (err, "image not saved and %zu sockets could not be given their datagram back (they are in %s)",
                       lost, UC_LOG_NAME);
      else
        {
          uc_error_wrap (err, "image not saved; every socket has its datagram back");
          unlinkat (dirfd, UC_IMG_NAME, 0);
          if (r.log_open)
            uc_image_log_close (&r.log, true);
          r.log_open = false;
        }
      goto out;
    }
  uc_fault ("journal-written");
  if (r.log_open)
    uc_image_log_close (&r.log, true); /* the image and the journal say it all now */
  r.log_open = false;
  for (i = 0; i < r.n_w; i++)
    {
      log_captured (&r.w[i]);
      bytes += r.w[i].dg->payload.len;
    }
  uc_info ("container pid %d: saved %zu corked sockets, %zu bytes, and %zu unread datagrams of %zu sockets, in %lld "
           "ms, peak RSS %ld KiB%s%s",
           st->pid, r.n_w, bytes, r.rx.n_rxdgrams, r.rx.n_rxsocks, (long long) ((uc_now_ns () - t0) / 1000000),
           uc_peak_rss_kib (), r.n_w ? ", capture via " : "", r.n_w ? uc_capture_path_str (r.b.path) : "");
  ret = 0;
out:
  run_free (&r);
  return ret;
}

/* A container in CRIU's own network namespace (podman --network host):
 * CRIU runs no network-lock action there, so nothing was captured. If it has
 * pending datagrams, CRIU either refused the dump already (UDP_CORK) or
 * dumped without them (MSG_MORE): fail post-dump, so that CRIU lets the
 * container run on with its data instead of killing it. */
static int
refuse_shared_netns (const struct uc_state *st, uc_error_t *err)
{
  struct uc_container c;
  cleanup_free struct uc_target *t = NULL;
  struct uc_bpf b = { 0 };
  char who[160];
  size_t n = 0;
  int ret;

  if (uc_container_open (st->pid, &c, err) < 0)
    {
      uc_container_close (&c);
      return -1;
    }
  if (! c.host_netns)
    {
      uc_container_close (&c);
      return 0;
    }
  ret = uc_bpf_open (&b, false, err);
  if (ret == 0)
    ret = uc_discover (&b, &c, &t, &n, err);
  if (ret == 0 && n > 0)
    ret = uc_make_error (err, 0,
                         "container pid %d shares CRIU's network namespace (--network host?): CRIU runs no "
                         "network-lock action there, so udpcork could not save its %zu pending datagram(s) "
                         "(first: socket %s); refusing the checkpoint: the container keeps running with its data",
                         st->pid, n, uc_target_str (&t[0], who, sizeof (who)));
  uc_bpf_close (&b);
  uc_container_close (&c);
  return ret;
}

/* post-dump / network-unlock: give the datagrams back to the dumped
 * sockets, once. */
static int
give_back (const struct uc_state *st, int dirfd, const char *id, const char *why, uc_error_t *err)
{
  struct uc_container c;
  bool found = false;
  int ret;

  ret = uc_container_open (st->pid, &c, err);
  if (ret == 0)
    ret = uc_rx_peek_undo (&c, dirfd, err);
  if (ret == 0)
    ret = uc_recover (&c, dirfd, id, why, &found, err);
  uc_container_close (&c);
  if (ret == 0 && ! found && st->action == UC_ACTION_POST_DUMP)
    ret = refuse_shared_netns (st, err);
  return ret;
}

int
uc_prestop (struct uc_state *st, const struct uc_opts *o, uc_error_t *err)
{
  char id[UC_DUMP_ID_LEN];
  int dirfd, ret;

  switch (st->action)
    {
    case UC_ACTION_OCI:
      if (st->status == NULL || strcmp (st->status, "paused") != 0)
        return uc_make_error (err, 0, "container %s is `%s`: run from an OCI hook, udpcork-prestop needs the "
                              "container paused (crun pause) so that nothing changes until CRIU seizes it; the safe "
                              "way is the CRIU action script (see udpcork-prestop(8))",
                              st->id ? st->id : "?", st->status ? st->status : "?");
      break;
    case UC_ACTION_NETWORK_LOCK:
    case UC_ACTION_POST_DUMP:
    case UC_ACTION_NETWORK_UNLOCK:
      break;
    default:
      return 0;
    }
  if (st->pid <= 0)
    return uc_make_error (err, 0, "%s: no container pid (CRTOOLS_INIT_PID)", uc_action_name (st->action));
  dirfd = uc_hook_begin (st, o, err);
  if (dirfd < 0)
    return dirfd == UC_HOOK_SKIP ? 0 : -1;
  if (st->action == UC_ACTION_OCI)
    snprintf (id, sizeof (id), "oci-%d", st->pid);
  else
    uc_dump_id (st->image_dir, id);
  if (st->action == UC_ACTION_OCI || st->action == UC_ACTION_NETWORK_LOCK)
    ret = capture (st, dirfd, id, err);
  else
    ret = give_back (st, dirfd, id, uc_action_name (st->action), err);
  close (dirfd);
  return ret;
}
