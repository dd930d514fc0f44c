// SPDX-License-Identifier: GPL-2.0-or-later
#include "dumpdir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bpfobj.h"
#include "capture.h"
#include "container.h"
#include "fault.h"
#include "fileio.h"
#include "image.h"
#include "log.h"
#include "state.h"
#include "util.h"
#include "validate.h"
#include "xalloc.h"

/* ----------------------------------------------------------- the journal */

enum journal
{
  JOURNAL_NONE = 0, /* no journal: nothing was captured */
  JOURNAL_CAPTURED, /* datagrams are in the image only */
  JOURNAL_RETURNED, /* ... and were given back to the dumped sockets */
};

static const char *const names[] = { "none", "captured", "returned" };

/* A small text file of DIRFD (no symlink, no FIFO, at most MAX - 1 bytes)
 * into BUF, NUL-terminated. 0 with *MISSING set if it does not exist. */
static int
read_small (int dirfd, const char *name, char *buf, size_t max, bool *missing, uc_error_t *err)
{
  const void *data;
  uc_error_t e = NULL;
  size_t len;

  *missing = false;
  if (uc_file_map (dirfd, name, max - 1, &data, &len, &e) < 0)
    {
      *missing = uc_error_is (&e, ENOENT);
      if (*missing)
        return 0;
      uc_make_error (err, 0, "read %s: %s", name, e->msg);
      uc_error_release (&e);
      return -1;
    }
  memcpy (buf, data, len);
  buf[len] = '\0';
  uc_file_unmap (data, len);
  return 0;
}

/* What the journal says: the state, the dump that wrote it, and (for
 * `captured`) the dumped container's root process, pid and start time. */
struct journal_rec
{
  enum journal j;
  char id[UC_DUMP_ID_LEN];
  pid_t root;
  unsigned long long root_start; /* 0: not recorded (journal of an older udpcork) */
};

/* "root-PID-START" of a `captured` record: a pid the kernel could hand out
 * (1 .. UC_PID_MAX) and a start time in clock ticks, digits only. */
static bool
journal_root_parse (const char *s, struct journal_rec *r)
{
  unsigned long long pid, start;
  char *end;

  if (strncmp (s, "root-", 5) != 0 || ! isdigit ((unsigned char) s[5]))
    return false;
  errno = 0;
  pid = strtoull (s + 5, &end, 10);
  if (errno || *end != '-' || pid == 0 || pid > UC_PID_MAX || ! isdigit ((unsigned char) end[1]))
    return false;
  start = strtoull (end + 1, &end, 10);
  if (errno || *end != '\0')
    return false;
  r->root = (pid_t) pid;
  r->root_start = start;
  return true;
}

static int
journal_read (int dirfd, struct journal_rec *r, uc_error_t *err)
{
  char buf[160], state[32] = "", id[160] = "", root[160] = "", tail[2];
  bool missing;
  int n;

  memset (r, 0, sizeof (*r));
  if (read_small (dirfd, UC_JOURNAL_NAME, buf, sizeof (buf), &missing, err) < 0)
    return -1;
  if (missing)
    return 0;
  /* fields as wide as the whole file: a long one is refused, never split */
  n = sscanf (buf, "%31s %159s %159s %1s", state, id, root, tail);
  if ((n != 2 && n != 3) || ! uc_dump_id_valid (id) || (n == 3 && ! journal_root_parse (root, r)))
    {
      memset (r, 0, sizeof (*r));
      return uc_make_error (err, 0, "%s: not `STATE DUMP-ID [root-PID-START]`", UC_JOURNAL_NAME);
    }
  snprintf (r->id, sizeof (r->id), "%s", id);
  for (int i = JOURNAL_CAPTURED; i <= JOURNAL_RETURNED; i++)
    if (strcmp (state, names[i]) == 0)
      {
        r->j = i;
        return 0;
      }
  memset (r, 0, sizeof (*r));
  return uc_make_error (err, 0, "%s: unknown state", UC_JOURNAL_NAME);
}

/* Does the journal of DIRFD say `captured` by dump ID (any dump: NULL)? */
static int
journal_captured (int dirfd, const char *id, struct journal_rec *r, bool *yes, uc_error_t *err)
{
  *yes = false;
  if (journal_read (dirfd, r, err) < 0)
    return -1;
  *yes = r->j == JOURNAL_CAPTURED && (id == NULL || strcmp (r->id, id) == 0);
  return 0;
}

/* NAME in DIRFD replaced atomically by LINE. */
static int
write_small (int dirfd, const char *name, const char *line, uc_error_t *err)
{
  return uc_file_replace (dirfd, name, line, strlen (line), true, err);
}

/* ROOT > 0: the dumped container's root process, recorded with `captured`
 * so that a later dump can tell whether that container still runs. */
static int
journal_write (int dirfd, enum journal j, const char *id, pid_t root, uc_error_t *err)
{
  char line[160];
  unsigned long long start = root > 0 ? uc_proc_start_time (root) : 0;

  if (! uc_dump_id_valid (id))
    return uc_make_error (err, 0, "invalid dump id");
  if (start)
    snprintf (line, sizeof (line), "%s %s root-%d-%llu\n", names[j], id, root, start);
  else
    snprintf (line, sizeof (line), "%s %s\n", names[j], id);
  return write_small (dirfd, UC_JOURNAL_NAME, line, err);
}

void
uc_dump_id (const char *image_dir, char id[UC_DUMP_ID_LEN])
{
  int pid = 0, n;

  if (image_dir == NULL || sscanf (image_dir, "/proc/%d/fd/%d", &pid, &n) != 2 || pid <= 0)
    pid = getppid ();
  snprintf (id, UC_DUMP_ID_LEN, "criu-%d-%llu", pid, uc_proc_start_time (pid));
}

/* ------------------------------------------------------- restore marker */

/* The line udpcork.restored holds for a restore: under CRIU the restored
 * init (pid and start time: every restore of an image is a real one and
 * gets its datagrams); in OCI mode (IMAGE: the image's dump id) the image
 * itself, since the hook runs at every start of the container, restores or
 * not, and only one of them can be the restore of that image. */
static void
restore_id (pid_t init, const char *image, char *id, size_t len)
{
  if (image)
    snprintf (id, len, "image-%s", uc_dump_id_valid (image) ? image : "unnamed");
  else
    snprintf (id, len, "restored-%d-%llu", init, uc_proc_start_time (init));
}

#define RESTORE_ID_LEN (UC_DUMP_ID_LEN + 16)

int
uc_restored_check (int dirfd, pid_t init, const char *image, bool *done, uc_error_t *err)
{
  char buf[4096], id[RESTORE_ID_LEN], *save = NULL;
  bool missing;

  *done = false;
  if (read_small (dirfd, UC_RESTORED_NAME, buf, sizeof (buf), &missing, err) < 0)
    return -1;
  if (missing)
    return 0;
  restore_id (init, image, id, sizeof (id));
  for (char *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (strcmp (l, id) == 0)
      *done = true;
  return 0;
}

int
uc_restored_mark (int dirfd, pid_t init, const char *image, uc_error_t *err)
{
  char buf[4096], id[RESTORE_ID_LEN];
  cleanup_free char *all = NULL;
  bool missing = true;
  size_t keep;

  /* an unreadable record is replaced */
  if (read_small (dirfd, UC_RESTORED_NAME, buf, sizeof (buf), &missing, NULL) < 0 || missing)
    buf[0] = '\0';
  restore_id (init, image, id, sizeof (id));
  /* the last restores only: the file stays small */
  keep = strlen (buf);
  while (keep > sizeof (buf) - 2 * RESTORE_ID_LEN)
    {
      char *nl = strchr (buf, '\n');
      if (nl == NULL)
        {
          buf[0] = '\0';
          break;
        }
      memmove (buf, nl + 1, strlen (nl + 1) + 1);
      keep = strlen (buf);
    }
  if (asprintf (&all, "%s%s\n", buf, id) < 0)
    abort ();
  return write_small (dirfd, UC_RESTORED_NAME, all, err);
}

/* -------------------------------------------------------------- capture */

/* Does the container an earlier dump left `captured` still run? Its
 * datagrams are given back only when the tasks go on (network-unlock): a
 * dump that ended with the container killed, as a checkpoint does by
 * default, leaves them in its image, where they belong. */
static bool
dumped_root_runs (const struct journal_rec *r)
{
  return r->root_start == 0 || uc_proc_start_time (r->root) == r->root_start;
}

/* Files of an earlier dump into the same directory (podman reuses it):
 * replaced, unless their datagrams were never given back to a container
 * that still runs. */
static int
clear_earlier_dump (int dirfd, const char *id, uc_error_t *err)
{
  struct journal_rec r;

  if (faccessat (dirfd, UC_LOG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return uc_make_error (err, 0,
                          "the image directory holds %s: datagrams an earlier, killed udpcork-prestop took "
                          "out of their sockets and nobody gave back: run `udpcork recover` (see udpcork(1)) or "
                          "move it away, then retry",
                          UC_LOG_NAME);
  if (journal_read (dirfd, &r, err) < 0)
    return -1;
  if (r.j == JOURNAL_NONE)
    {
      unlinkat (dirfd, UC_IMG_NAME, 0); /* an image without a journal is of an aborted capture */
      return 0;
    }
  if (strcmp (r.id, id) == 0)
    return uc_make_error (err, 0,
                          "%s already says `%s` for this dump: udpcork ran twice (listed twice in the "
                          "CRIU configuration?); refusing to capture again",
                          UC_JOURNAL_NAME, names[r.j]);
  if (r.j == JOURNAL_CAPTURED && dumped_root_runs (&r))
    {
      if (r.root_start == 0)
        return uc_make_error (err, 0,
                              "the image directory holds datagrams of an earlier dump (%s) that were never given "
                              "back (%s says `captured`): move %s away (udpcork show tells what it holds) and retry",
                              r.id, UC_JOURNAL_NAME, UC_IMG_NAME);
      return uc_make_error (err, 0,
                            "the image directory holds datagrams of an earlier dump (%s) that its container, still "
                            "there (root pid %d), never got back (a dump with --leave-stopped, or CRIU or udpcork "
                            "killed): run `udpcork recover --pid %d DIR` (see udpcork(1)), then retry",
                            r.id, r.root, r.root);
    }
  uc_debug ("replacing %s and %s of an earlier dump (%s, `%s`%s)", UC_IMG_NAME, UC_JOURNAL_NAME, r.id, names[r.j],
            r.j == JOURNAL_CAPTURED ? ", its container is gone" : "");
  if ((unlinkat (dirfd, UC_IMG_NAME, 0) < 0 && errno != ENOENT) || unlinkat (dirfd, UC_JOURNAL_NAME, 0) < 0)
    return uc_make_error (err, errno, "remove the files of an earlier dump");
  return 0;
}

int
uc_dump_begin (struct uc_dump *d, int dirfd, const char *id, uc_error_t *err)
{
  memset (d, 0, sizeof (*d));
  d->dirfd = dirfd;
  d->id = id;
  d->log.fd = -1;
  return clear_earlier_dump (dirfd, id, err);
}

int
uc_dump_open_log (struct uc_dump *d, const char *container_id, uc_error_t *err)
{
  UcHead head = UC_HEAD__INIT;

  head.container_id = (char *) container_id;
  head.dump_id = (char *) d->id;
  if (uc_image_log_open (d->dirfd, &head, &d->log, err) < 0)
    return -1;
  d->log_open = true;
  return 0;
}

int
uc_dump_append (struct uc_dump *d, const UcDgram *dg, uc_error_t *err)
{
  int ret = uc_image_log_append (&d->log, dg, err);
  uc_fault ("captured");
  return ret;
}

int
uc_dump_commit (struct uc_dump *d, struct uc_image *img, const char *container_id, pid_t root, uc_error_t *err)
{
  img->head->container_id = (char *) container_id;
  img->head->tool_version = (char *) UDPCORK_VERSION;
  img->head->has_created_ns = img->head->has_root_pid = 1;
  img->head->created_ns = uc_realtime_ns ();
  img->head->root_pid = root;
  if ((d->log_open ? uc_image_write_from_log (d->dirfd, UC_IMG_NAME, img, &d->log, err)
                   : uc_image_write (d->dirfd, UC_IMG_NAME, img, err))
      < 0)
    return -1;
  uc_fault ("image-written");
  if (journal_write (d->dirfd, JOURNAL_CAPTURED, d->id, root, err) < 0)
    {
      unlinkat (d->dirfd, UC_IMG_NAME, 0);
      return -1;
    }
  uc_fault ("journal-written");
  /* the image and the journal say it all now */
  if (d->log_open)
    uc_image_log_close (&d->log, true);
  d->log_open = false;
  return 0;
}

int
uc_dump_reload (struct uc_dump *d, struct uc_work *w, size_t n, uc_error_t *err)
{
  struct uc_image log = { 0 };
  bool torn;
  size_t k = 0;

  if (! d->log_open)
    return uc_make_error (err, 0, "no capture log");
  if (uc_image_read_log (d->dirfd, &log, &torn, err) < 0)
    return -1;
  /* the log holds the sockets of W in order, each once */
  for (size_t i = 0; i < n; i++)
    {
      UcDgram *dg = w[i].dg;

      if (! w[i].logged || ! dg || ! dg->payload.len || dg->payload.data)
        continue;
      while (k < log.n_dgrams && ! (log.dgrams[k]->has_cookie && log.dgrams[k]->cookie == w[i].cookie))
        k++;
      if (k == log.n_dgrams || log.dgrams[k]->payload.len != dg->payload.len)
        break;
      uc_img_bytes (&dg->payload, log.dgrams[k]->payload.data, dg->payload.len);
    }
  uc_image_free (&log);
  return 0;
}

void
uc_dump_abort (struct uc_dump *d, bool keep_log)
{
  if (d->log_open)
    uc_image_log_close (&d->log, ! keep_log);
  d->log_open = false;
}

/* ---------------------------------------------------------- give-back */

/* Slots a killed capture left in its pinned map: datagrams out of their
 * sockets and not yet in the capture log. */
struct leftovers
{
  const struct uc_container *c;
  struct uc_image *img;
  size_t cap;
};

static int
add_leftover (__u64 cookie, const struct uc_slot *s, void *ctx)
{
  struct leftovers *l = ctx;
  const char *why = NULL;
  uc_error_t e = NULL;
  UcDgram *d;

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
    uc_err ("socket of pid %u fd %u: the datagram a killed udpcork-prestop took out of it is lost: %s", s->owner_pid,
            s->owner_fd, why);
  uc_error_release (&e);
  if (d == NULL)
    return 0;
  xgrow (&l->img->dgrams, &l->cap, l->img->n_dgrams + 1, sizeof (*l->img->dgrams));
  l->img->dgrams[l->img->n_dgrams++] = d;
  uc_info ("socket container pid %u fd %u: its %zu pending bytes were still in the pinned capture map", d->pid, d->fd,
           d->payload.len);
  return 0;
}

int
uc_dump_pending (const struct uc_container *c, int dirfd, const char *id, struct uc_image *img, bool *from_log,
                 bool *found, uc_error_t *err)
{
  struct journal_rec r;
  bool torn, pinned, captured;

  memset (img, 0, sizeof (*img));
  *found = *from_log = false;
  if (faccessat (dirfd, UC_LOG_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      struct leftovers l = { .c = c, .img = img };

      if (uc_image_read_log (dirfd, img, &torn, err) < 0)
        return -1;
      if (id && (img->head->dump_id == NULL || strcmp (img->head->dump_id, id) != 0))
        {
          uc_image_free (img);
          return 0; /* another dump's: clear_earlier_dump deals with it */
        }
      if (torn)
        uc_warn ("%s ends with an entry cut short by a kill: that socket's datagram is taken from the pinned "
                 "capture map",
                 UC_LOG_NAME);
      l.cap = img->n_dgrams;
      if (img->head->dump_id && uc_bpf_pinned_slots (img->head->dump_id, add_leftover, &l, &pinned, err) < 0)
        {
          uc_image_free (img);
          return -1;
        }
      *found = *from_log = true;
      return 0;
    }
  if (journal_captured (dirfd, id, &r, &captured, err) < 0)
    return -1;
  if (! captured)
    return 0;
  if (! dumped_root_runs (&r))
    {
      uc_info ("the container of dump %s (root pid %d) is gone: its datagrams are in %s only, for a restore", r.id,
               r.root, UC_IMG_NAME);
      return 0;
    }
  if (uc_image_read (dirfd, UC_IMG_NAME, img, err) < 0)
    return uc_error_wrap (err, "the journal says the datagrams are in the image, but it is unreadable");
  *found = true;
  return 0;
}

int
uc_dump_captured (int dirfd, const char *id, bool *yes, uc_error_t *err)
{
  struct journal_rec r;

  return journal_captured (dirfd, id, &r, yes, err);
}

int
uc_dump_returned (int dirfd, const char *id, bool from_log, uc_error_t *err)
{
  struct journal_rec r;

  if (id == NULL || *id == '\0')
    {
      if (journal_read (dirfd, &r, NULL) < 0 || r.id[0] == '\0')
        snprintf (r.id, sizeof (r.id), "recovered");
      id = r.id;
    }
  if (journal_write (dirfd, JOURNAL_RETURNED, id, 0, err) < 0)
    return -1;
  if (from_log)
    {
      unlinkat (dirfd, UC_LOG_NAME, 0);
      uc_bpf_pinned_remove (id);
    }
  return 0;
}
