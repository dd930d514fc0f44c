// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-poststart: put the saved datagrams into the restored sockets. */
#include <errno.h>
#include <unistd.h>
#include "hooks.h"
#include "image.h"
#include "log.h"
#include "putback.h"
#include "util.h"

int
uc_poststart (struct uc_state *st, const struct uc_opts *o, uc_error_t *err)
{
  struct uc_image img = { 0 };
  struct uc_container c = { .netns_fd = -1 };
  struct uc_putback_stats stats;
  int64_t t0 = uc_now_ns ();
  int dirfd, ret;

  if (st->action != UC_ACTION_OCI && st->action != UC_ACTION_POST_RESTORE)
    return 0;
  dirfd = uc_hook_begin (st, o, err);
  if (dirfd < 0)
    return dirfd == UC_HOOK_SKIP ? 0 : -1;
  ret = uc_image_read (dirfd, UC_IMG_NAME, &img, err);
  close (dirfd);
  if (ret < 0 && (*err)->status == ENOENT)
    {
      uc_error_release (err);
      uc_debug ("no %s: nothing was saved for this container", UC_IMG_NAME);
      return 0;
    }
  if (ret < 0)
    return -1;
  if (st->pid <= 0)
    ret = uc_make_error (err, 0, "%s: no container pid", uc_action_name (st->action));
  if (ret == 0)
    ret = uc_container_open (st->pid, &c, err);
  if (ret == 0)
    ret = uc_put_back (&c, &img, false, &stats, err);
  if (ret == 0)
    uc_info ("container pid %d: %zu corked sockets restored, %zu bytes, and %zu unread datagrams, in %lld ms, peak "
             "RSS %ld KiB",
             st->pid, stats.sockets, stats.bytes, stats.rx_dgrams, (long long) ((uc_now_ns () - t0) / 1000000),
             uc_peak_rss_kib ());
  uc_container_close (&c);
  uc_image_free (&img);
  return ret;
}
