// SPDX-License-Identifier: GPL-2.0-or-later
#include "recover.h"

#include "dumpdir.h"
#include "log.h"
#include "putback.h"
#include "rxsave.h"
#include "util.h"
#include "xalloc.h"

int
uc_recover (const struct uc_container *c, int dirfd, const char *id, const char *why, bool *found, uc_error_t *err)
{
  struct uc_image img = { 0 };
  struct uc_putback_stats stats;
  cleanup_free char *dump = NULL;
  int64_t t0 = uc_action_start_ns ();
  bool from_log;
  int ret;

  /* first the receive queues' peek state a killed dump may have left */
  if (uc_rx_peek_undo (c, dirfd, err) < 0)
    return -1;
  if (uc_dump_pending (c, dirfd, id, &img, &from_log, found, err) < 0)
    return -1;
  if (! *found)
    return 0;
  dump = xstrdup (id ? id : img.head->dump_id ? img.head->dump_id : "");
  ret = uc_give_back (c, &img, &stats, err);
  if (ret == 0)
    ret = uc_dump_returned (dirfd, dump, from_log, err);
  if (ret == 0)
    uc_info ("%s: gave %zu sockets their %zu pending bytes back%s in %.1f ms, peak RSS %ld KiB", why, stats.sockets,
             stats.bytes, from_log ? " (from the capture log)" : "", uc_ms_since (t0), uc_peak_rss_kib ());
  else
    uc_error_wrap (err, "%s: giving the datagrams back to the dumped container failed (they stay in %s)", why,
                   from_log ? UC_LOG_NAME : UC_IMG_NAME);
  uc_image_free (&img);
  return ret;
}
