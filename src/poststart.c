// SPDX-License-Identifier: GPL-2.0-or-later
/* udpcork-poststart: put the saved datagrams into the restored sockets. */
#include <errno.h>
#include "dumpdir.h"
#include "hooks.h"
#include "image.h"
#include "log.h"
#include "putback.h"
#include "util.h"

static int
run (const struct uc_hook *h, uc_error_t *err)
{
  struct uc_image img = { 0 };
  struct uc_container c = UC_CONTAINER_INIT;
  struct uc_putback_stats stats;
  int64_t t0 = uc_action_start_ns ();
  const char *image = NULL;
  bool done = false;
  int ret;

  ret = uc_image_read (h->dirfd, UC_IMG_NAME, &img, err);
  if (ret < 0 && uc_error_is (err, ENOENT))
    {
      uc_debug ("no %s: nothing was saved for this container", UC_IMG_NAME);
      return 0;
    }
  if (ret < 0)
    return -1;
  ret = uc_hook_image_is_ours (h, &img, err);
  if (ret == 0 && h->pid <= 0)
    ret = uc_make_error (err, 0, "%s: no container pid", uc_action_name (h->action));
  if (ret == 0)
    ret = uc_container_open (h->pid, &c, err);
  /* Exactly once per restore: a second run must not append the datagrams
   * again; in OCI mode (a poststart hook runs at every start of the
   * container) the image is delivered once, to the start that restored it. */
  if (h->action == UC_ACTION_OCI)
    image = img.head->dump_id ? img.head->dump_id : "";
  if (ret == 0)
    ret = uc_restored_check (h->dirfd, h->pid, image, &done, err);
  if (ret == 0 && done && image)
    uc_info ("container pid %d: the datagrams of this image were already restored (%s says so): a later start of "
             "the container does not get them again",
             h->pid, UC_RESTORED_NAME);
  else if (ret == 0 && done)
    uc_info ("container pid %d already got the datagrams of this image (%s says so): nothing to do", h->pid,
             UC_RESTORED_NAME);
  else if (ret == 0)
    /* under CRIU the restored tasks still run with CRIU's credentials:
     * their own come from CRIU's images in the same directory */
    ret = uc_restore (&c, &img, h->action == UC_ACTION_POST_RESTORE ? h->dirfd : -1, &stats, err);
  if (ret == 0 && ! done)
    {
      uc_error_t e = NULL;
      if (uc_restored_mark (h->dirfd, h->pid, image, &e) < 0)
        {
          uc_warn ("cannot record the restore in the image directory (%s): a second run would find the sockets "
                   "already holding their datagrams and leave them alone",
                   e->msg);
          uc_error_release (&e);
        }
      uc_info ("container pid %d: %zu corked sockets restored, %zu bytes, and %zu unread datagrams, in %.1f ms, peak "
               "RSS %ld KiB",
               h->pid, stats.sockets, stats.bytes, stats.rx_dgrams, uc_ms_since (t0), uc_peak_rss_kib ());
    }
  uc_container_close (&c);
  uc_image_free (&img);
  return ret;
}

static bool
acts_on (enum uc_action a)
{
  return a == UC_ACTION_OCI || a == UC_ACTION_POST_RESTORE;
}

const struct uc_hook_def uc_poststart_hook = {
  .prog = "udpcork-poststart",
  .what = "Put the saved corked UDP datagrams back into a restored container.",
  .acts_on = acts_on,
  .run = run,
};
