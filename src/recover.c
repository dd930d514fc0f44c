// SPDX-License-Identifier: GPL-2.0-or-later
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "image.h"
#include "journal.h"
#include "log.h"
#include "putback.h"
#include "util.h"

/* The datagrams of dump ID that only udpcork holds, or none. */
static int
load (int dirfd, const char *id, struct uc_image *img, bool *from_log, bool *found, uc_error_t *err)
{
  char jid[UC_DUMP_ID_LEN];
  enum uc_journal j;
  bool torn;

  *found = *from_log = false;
  if (faccessat (dirfd, UC_LOG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (uc_image_read_log (dirfd, img, &torn, err) < 0)
        return -1;
      if (id && (img->head->dump_id == NULL || strcmp (img->head->dump_id, id) != 0))
        {
          uc_image_free (img);
          return 0; /* another dump's: check_earlier_dump deals with it */
        }
      if (torn)
        uc_warn ("%s ends with an entry cut short: the socket being saved when udpcork-prestop was killed lost "
                 "its datagram",
                 UC_LOG_NAME);
      *found = *from_log = true;
      return 0;
    }
  if (uc_journal_read (dirfd, &j, jid, err) < 0)
    return -1;
  if (j != UC_JOURNAL_CAPTURED || (id && strcmp (jid, id) != 0))
    return 0;
  if (uc_image_read (dirfd, UC_IMG_NAME, img, err) < 0)
    return uc_error_wrap (err, "the journal says the datagrams are in the image, but it is unreadable");
  *found = true;
  return 0;
}

int
uc_recover (const struct uc_container *c, int dirfd, const char *id, const char *why, bool *found, uc_error_t *err)
{
  struct uc_image img = { 0 };
  struct uc_putback_stats stats;
  char jid[UC_DUMP_ID_LEN] = "";
  enum uc_journal j;
  bool from_log;
  int64_t t0 = uc_now_ns ();
  int ret;

  if (load (dirfd, id, &img, &from_log, found, err) < 0 || ! *found)
    return *found ? -1 : (err && *err ? -1 : 0);
  ret = uc_put_back (c, &img, true, &stats, err);
  if (ret == 0)
    {
      uc_journal_read (dirfd, &j, jid, NULL);
      ret = uc_journal_write (dirfd, UC_JOURNAL_RETURNED, id ? id : (jid[0] ? jid : "recovered"), err);
    }
  if (ret == 0 && from_log)
    unlinkat (dirfd, UC_LOG_NAME, 0);
  if (ret == 0)
    uc_info ("%s: gave %zu sockets their %zu pending bytes back%s in %lld ms, peak RSS %ld KiB", why, stats.sockets,
             stats.bytes, from_log ? " (from the capture log)" : "", (long long) ((uc_now_ns () - t0) / 1000000),
             uc_peak_rss_kib ());
  else
    uc_error_wrap (err, "%s: giving the datagrams back to the dumped container failed (they stay in %s)", why,
                   from_log ? UC_LOG_NAME : UC_IMG_NAME);
  uc_image_free (&img);
  return ret;
}
