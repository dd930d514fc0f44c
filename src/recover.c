// SPDX-License-Identifier: GPL-2.0-or-later
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bpfobj.h"
#include "capture.h"
#include "image.h"
#include "journal.h"
#include "log.h"
#include "putback.h"
#include "util.h"
#include "validate.h"
#include "xalloc.h"

/* Slots a killed capture left in its pinned map: datagrams out of their
 * sockets and not yet in the capture log. */
struct leftovers
{
  const struct uc_container *c;
  struct uc_image *img;
  size_t cap, lost;
};

static int
add_leftover (__u64 cookie, const struct uc_slot *s, void *ctx)
{
  struct leftovers *l = ctx;
  const char *why = NULL;
  UcDgram *d;
  uc_error_t e = NULL;

  for (size_t i = 0; i < l->img->n_dgrams; i++)
    if (l->img->dgrams[i]->has_cookie && l->img->dgrams[i]->cookie == cookie)
      return 0; /* already in the log */
  d = uc_capture_leftover (l->c, cookie, s, &why);
  if (d && uc_validate_dgram (d, "pinned capture slot", &e) < 0)
    {
      why = e->msg;
      protobuf_c_message_free_unpacked (&d->base, NULL);
      d = NULL;
    }
  if (why)
    {
      uc_err ("socket of pid %u fd %u: the datagram a killed udpcork-prestop took out of it is lost: %s", s->owner_pid,
              s->owner_fd, why);
      l->lost++;
    }
  uc_error_release (&e);
  if (d == NULL)
    return 0;
  xgrow (&l->img->dgrams, &l->cap, l->img->n_dgrams + 1, sizeof (*l->img->dgrams));
  l->img->dgrams[l->img->n_dgrams++] = d;
  uc_info ("socket container pid %u fd %u: its %zu pending bytes were still in the pinned capture map", d->pid, d->fd,
           d->payload.len);
  return 0;
}

/* The datagrams of dump ID that only udpcork holds, or none. */
static int
load (const struct uc_container *c, int dirfd, const char *id, struct uc_image *img, bool *from_log, bool *found,
      uc_error_t *err)
{
  char jid[UC_DUMP_ID_LEN];
  enum uc_journal j;
  bool torn, pinned;

  *found = *from_log = false;
  if (faccessat (dirfd, UC_LOG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      struct leftovers l = { .c = c, .img = img };

      if (uc_image_read_log (dirfd, img, &torn, err) < 0)
        return -1;
      if (id && (img->head->dump_id == NULL || strcmp (img->head->dump_id, id) != 0))
        {
          uc_image_free (img);
          return 0; /* another dump's: check_earlier_dump deals with it */
        }
      if (torn)
        uc_warn ("%s ends with an entry cut short by a kill: that socket's datagram is taken from the pinned "
                 "capture map",
                 UC_LOG_NAME);
      l.cap = img->n_dgrams;
      if (img->head->dump_id && uc_bpf_pinned_slots (img->head->dump_id, add_leftover, &l, &pinned, err) < 0)
        return -1;
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
  cleanup_free char *dump = NULL;
  enum uc_journal j;
  bool from_log;
  int64_t t0 = uc_now_ns ();
  int ret;

  if (load (c, dirfd, id, &img, &from_log, found, err) < 0)
    {
      uc_image_free (&img);
      return -1;
    }
  if (! *found)
    return 0;
  dump = xstrdup (id ? id : img.head->dump_id ? img.head->dump_id : "");
  ret = uc_give_back (c, &img, &stats, err);
  if (ret == 0)
    {
      uc_error_t e = NULL;
      if (uc_journal_read (dirfd, &j, jid, &e) < 0)
        jid[0] = '\0';
      uc_error_release (&e);
      ret = uc_journal_write (dirfd, UC_JOURNAL_RETURNED, *dump ? dump : (jid[0] ? jid : "recovered"), err);
    }
  if (ret == 0 && from_log)
    {
      unlinkat (dirfd, UC_LOG_NAME, 0);
      uc_bpf_pinned_remove (dump);
    }
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
