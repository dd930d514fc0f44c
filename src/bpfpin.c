// SPDX-License-Identifier: GPL-2.0-or-later
/* Pinned program sets: the programs and maps of one build and capture path,
 * pinned under /sys/fs/bpf/udpcork/progs:ID:PATH by the first run that
 * loads them (made whole under a temporary name, then renamed) and opened
 * by the runs after it; a set that is not ours is not used, and the sets
 * of other builds go once no killed run's datagram is in their slots. */
#include "bpfobj.h"
#include "bpfobj_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include "udpcork.bpfid.h"
#include "log.h"
#include "xalloc.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* Pinned program sets are named with ':', which no dump id (the other names
 * in UC_PIN_DIR) can hold; no name on a BPF filesystem can hold a '.'. */
#define UC_SET_PREFIX "progs:"
#define UC_SET_TMP ":tmp-" /* + pid: a set being made */

static const char *const pin_names[UC_N_PINS] = { "iter", "capture", "slots", "armed" };

bool
uc_bpf_have_bpffs (void)
{
  struct statfs sf;
  return statfs (UC_BPFFS, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

bool
uc_bpf_can_pin (void)
{
  return uc_bpf_have_bpffs ();
}

/* The programs' and maps' fds, in pin_names order. */
int *
uc_bpf_set_fd (struct uc_bpf *b, int i)
{
  int *fds[UC_N_PINS] = { &b->iter, &b->capture, &b->slots, &b->armed };
  return fds[i];
}

void
uc_bpf_set_dir_of (enum uc_capture_path p, char *buf, size_t len)
{
  snprintf (buf, len, UC_PIN_DIR "/" UC_SET_PREFIX "%s:%s", UC_BPF_OBJ_ID, p == UC_CAPTURE_NETFILTER ? "nf" : "cg");
}

static void
set_dir (const struct uc_bpf *b, char *buf, size_t len)
{
  uc_bpf_set_dir_of (b->path, buf, len);
}

static void
remove_set (const char *dir)
{
  char path[PATH_MAX];

  for (int i = 0; i < UC_N_PINS; i++)
    {
      snprintf (path, sizeof (path), "%s/%s", dir, pin_names[i]);
      unlink (path);
    }
  rmdir (dir);
}

static bool
is_prog (int fd, __u32 type)
{
  struct bpf_prog_info pi = { 0 };
  __u32 l = sizeof (pi);
  return bpf_obj_get_info_by_fd (fd, &pi, &l) == 0 && pi.type == type;
}

bool
uc_bpf_is_map (int fd, __u32 type, __u32 key, __u32 value, __u32 max)
{
  struct bpf_map_info mi = { 0 };
  __u32 l = sizeof (mi);
  return bpf_obj_get_info_by_fd (fd, &mi, &l) == 0 && mi.type == type && mi.key_size == key && mi.value_size == value
         && mi.max_entries == max;
}

/* Pins are root's, but can be of another build or half made. */
static bool
is_ours (struct uc_bpf *b, int i, int fd)
{
  switch (i)
    {
    case 0:
      return is_prog (fd, BPF_PROG_TYPE_TRACING);
    case 1:
      return is_prog (fd, b->path == UC_CAPTURE_NETFILTER ? UC_PROG_TYPE_NETFILTER : BPF_PROG_TYPE_CGROUP_SKB);
    case 2:
      return uc_bpf_is_map (fd, BPF_MAP_TYPE_ARRAY, 4, sizeof (struct uc_slot), UC_MAX_RUNS);
    default:
      return uc_bpf_is_map (fd, BPF_MAP_TYPE_HASH, 8, 4, UC_MAX_TARGETS);
    }
}

/* The pinned set of this build and capture path: 0, or -1 if absent (or
 * unusable: then the caller loads its own). */
static int
open_set (struct uc_bpf *b, const char *dir)
{
  char path[PATH_MAX];

  for (int i = 0; i < UC_N_PINS; i++)
    {
      int *fd = uc_bpf_set_fd (b, i);
      snprintf (path, sizeof (path), "%s/%s", dir, pin_names[i]);
      *fd = bpf_obj_get (path);
      if (*fd < 0 || ! is_ours (b, i, *fd))
        {
          if (*fd >= 0 || errno != ENOENT)
            uc_warn ("%s: not a usable udpcork BPF object; loading a private copy", path);
          for (int j = 0; j <= i; j++)
            uc_bpf_close_fd (uc_bpf_set_fd (b, j));
          return -1;
        }
    }
  return 0;
}

/* Pin this run's objects as the set DIR for the runs to come: made under a
 * temporary name and renamed, so that a run sees a whole set or none. When
 * another run was first, this one keeps its own copy (false). */
static bool
pin_set (struct uc_bpf *b, const char *dir)
{
  char tmp[UC_SET_DIR_LEN + 32], path[PATH_MAX];
  bool ok;

  snprintf (tmp, sizeof (tmp), "%s" UC_SET_TMP "%d", dir, (int) getpid ());
  remove_set (tmp);
  ok = mkdir (tmp, 0700) == 0;
  for (int i = 0; ok && i < UC_N_PINS; i++)
    {
      snprintf (path, sizeof (path), "%s/%s", tmp, pin_names[i]);
      ok = bpf_obj_pin (*uc_bpf_set_fd (b, i), path) == 0;
    }
  if (ok && rename (tmp, dir) == 0)
    return true;
  if (errno != EEXIST && errno != ENOTEMPTY)
    uc_debug ("pin BPF programs at %s: %s", dir, strerror (errno));
  remove_set (tmp);
  return false;
}

/* FN for every pinned set (DIR: its directory). */
void
uc_bpf_each_set (void (*fn) (const char *dir, const char *name, void *ctx), void *ctx)
{
  DIR *d = opendir (UC_PIN_DIR);
  struct dirent *e;
  char path[UC_SET_DIR_LEN + 256];

  while (d && (e = readdir (d)))
    if (strncmp (e->d_name, UC_SET_PREFIX, strlen (UC_SET_PREFIX)) == 0)
      {
        snprintf (path, sizeof (path), UC_PIN_DIR "/%s", e->d_name);
        fn (path, e->d_name, ctx);
      }
  if (d)
    closedir (d);
}

/* Sets of other builds (each run that uses one holds its own fds), and
 * sets that a killed run left half made. A set whose slots still hold a
 * killed run's datagram stays until that dump is recovered. */
static void
remove_other_set (const char *dir, const char *name, void *keep)
{
  const char *tmp = strstr (name, UC_SET_TMP);
  char path[PATH_MAX];
  cleanup_close int fd = -1;

  if (strcmp (dir, keep) == 0 || (tmp != NULL && ! (kill (atoi (tmp + strlen (UC_SET_TMP)), 0) < 0 && errno == ESRCH)))
    return;
  snprintf (path, sizeof (path), "%s/slots", dir);
  fd = bpf_obj_get (path);
  if (fd >= 0 && uc_bpf_slots_in_use (fd))
    return;
  uc_debug ("removing the BPF programs of another udpcork build: %s", dir);
  remove_set (dir);
}

int
uc_bpf_open_programs (struct uc_bpf *b, uc_error_t *err)
{
  char dir[UC_SET_DIR_LEN];

  if (! uc_bpf_have_bpffs () || (mkdir (UC_PIN_DIR, 0700) < 0 && errno != EEXIST))
    {
      uc_debug ("no BPF filesystem at " UC_BPFFS ": loading the BPF programs for this run only");
      return uc_bpf_load (b, err);
    }
  set_dir (b, dir, sizeof (dir));
  if (open_set (b, dir) == 0)
    {
      b->shared = true;
      return 0;
    }
  if (uc_bpf_load (b, err) < 0)
    return -1;
  b->shared = pin_set (b, dir);
  if (b->shared)
    {
      uc_debug ("BPF programs loaded and pinned at %s for the next runs", dir);
      uc_bpf_each_set (remove_other_set, dir);
    }
  return 0;
}
