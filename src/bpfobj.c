// SPDX-License-Identifier: GPL-2.0-or-later
#include "bpfobj.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <stddef.h>
#include <sys/statfs.h>
#include "udpcork.skel.h"
#include "udpcork.bpfid.h"
#include "container.h"
#include "log.h"
#include "validate.h"
#include "xalloc.h"

#ifndef NFPROTO_IPV4
#define NFPROTO_IPV4 2
#define NFPROTO_IPV6 10
#endif
#define UC_NF_LOCAL_OUT 3
/* First in line: only a chain at exactly INT_MIN (which the kernel refuses
 * for BPF) could run earlier. */
#define UC_NF_PRIORITY (INT_MIN + 1)

/* Netfilter BPF (kernel >= 6.4) postdates the uapi headers and the libbpf
 * (1.1) of Debian 12: the numbers are the kernel's ABI. libbpf >= 1.3 makes
 * the link (bpf_program__attach_netfilter); with an older libbpf, the raw
 * bpf(2) call does. */
#define UC_LIBBPF_NETFILTER (LIBBPF_MAJOR_VERSION > 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION >= 3))
#define UC_PROG_TYPE_NETFILTER 32
#define UC_ATTACH_NETFILTER 45
#define UC_BPF_LINK_CREATE 28

struct uc_nf_link_attr /* union bpf_attr, link_create with netfilter */
{
  __u32 prog_fd, target_fd, attach_type, flags;
  __u32 pf, hooknum;
  __s32 priority;
  __u32 nf_flags;
};

static int
libbpf_log (enum libbpf_print_level level, const char *fmt, va_list ap)
{
  static char buf[256 * 1024]; /* a verifier log may be long */
  size_t l;

  if (level == LIBBPF_DEBUG)
    return 0;
  vsnprintf (buf, sizeof (buf), fmt, ap);
  l = strlen (buf);
  if (l && buf[l - 1] == '\n')
    buf[l - 1] = '\0';
  uc_debug ("libbpf: %s", buf);
  return 0;
}

const char *
uc_capture_path_str (enum uc_capture_path p)
{
  return p == UC_CAPTURE_CGROUP ? "cgroup_skb egress" : "netfilter LOCAL_OUT";
}

/* Can this kernel load a netfilter BPF program (Linux >= 6.4)? */
static bool
have_netfilter_bpf (void)
{
  const struct bpf_insn prog[] = {
    { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
    { .code = BPF_JMP | BPF_EXIT },
  };
  LIBBPF_OPTS (bpf_prog_load_opts, opts, .expected_attach_type = UC_ATTACH_NETFILTER);
  int fd = bpf_prog_load ((enum bpf_prog_type) UC_PROG_TYPE_NETFILTER, NULL, "GPL", prog, 2, &opts);

  if (fd < 0)
    return false;
  close (fd);
  return true;
}

#define UC_BPFFS "/sys/fs/bpf"
#define UC_PIN_DIR UC_BPFFS "/udpcork"
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* Pinned program sets are named with ':', which no dump id (the other names
 * in UC_PIN_DIR) can hold; no name on a BPF filesystem can hold a '.'. */
#define UC_SET_PREFIX "progs:"
#define UC_SET_DIR_LEN 256
#define UC_SET_TMP ":tmp-" /* + pid: a set being made */

#define UC_N_PINS 4
static const char *const pin_names[UC_N_PINS] = { "iter", "capture", "slots", "armed" };

static bool
have_bpffs (void)
{
  struct statfs sf;
  return statfs (UC_BPFFS, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

bool
uc_bpf_can_pin (void)
{
  return have_bpffs ();
}

static int
dup_fd (int fd)
{
  return fcntl (fd, F_DUPFD_CLOEXEC, 3);
}

/* The programs' and maps' fds, in pin_names order. */
static int *
set_fd (struct uc_bpf *b, int i)
{
  int *fds[UC_N_PINS] = { &b->iter, &b->capture, &b->slots, &b->armed };
  return fds[i];
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Load this run's own copy of the BPF object: the iterator, the capture
 * program of B->path, the maps. */
static int
load (struct uc_bpf *b, uc_error_t *err)
{
  struct udpcork_bpf *skel;
  int ret;

  libbpf_set_print (libbpf_log);
  skel = udpcork_bpf__open ();
  if (skel == NULL)
    return uc_make_error (err, errno, "open BPF object");
  bpf_program__set_autoload (skel->progs.udpcork_capture, b->path == UC_CAPTURE_NETFILTER);
  bpf_program__set_autoload (skel->progs.udpcork_capture_cg, b->path == UC_CAPTURE_CGROUP);
  /* libbpf < 1.3 does not know SEC("netfilter") */
  bpf_program__set_type (skel->progs.udpcork_capture, UC_PROG_TYPE_NETFILTER);
  bpf_program__set_expected_attach_type (skel->progs.udpcork_capture, UC_ATTACH_NETFILTER);
  ret = udpcork_bpf__load (skel);
  if (ret < 0)
    {
      udpcork_bpf__destroy (skel);
      return uc_make_error (err, -ret,
                            "load BPF programs (needs kernel BTF, the BPF iterator iter/udp of Linux >= 5.9 and %s)",
                            b->path == UC_CAPTURE_NETFILTER ? "netfilter BPF links of Linux >= 6.4"
                                                            : "cgroup_skb programs with BPF links (Linux >= 5.7)");
    }
  b->iter = dup_fd (bpf_program__fd (skel->progs.udpcork_iter));
  b->capture = dup_fd (
      bpf_program__fd (b->path == UC_CAPTURE_NETFILTER ? skel->progs.udpcork_capture : skel->progs.udpcork_capture_cg));
  b->slots = dup_fd (bpf_map__fd (skel->maps.slots));
  b->armed = dup_fd (bpf_map__fd (skel->maps.armed));
  udpcork_bpf__destroy (skel);
  if (b->iter < 0 || b->capture < 0 || b->slots < 0 || b->armed < 0)
    return uc_make_error (err, errno, "keep the BPF programs' file descriptors");
  return 0;
}

static void
set_dir_of (enum uc_capture_path p, char *buf, size_t len)
{
  snprintf (buf, len, UC_PIN_DIR "/" UC_SET_PREFIX "%s:%s", UC_BPF_OBJ_ID, p == UC_CAPTURE_NETFILTER ? "nf" : "cg");
}

static void
set_dir (const struct uc_bpf *b, char *buf, size_t len)
{
  set_dir_of (b->path, buf, len);
}

/* UDPCORK_CAPTURE=cgroup|netfilter forces a path (tests); else the best
 * the kernel has (a pinned netfilter set says it has netfilter BPF). */
static enum uc_capture_path
choose_path (void)
{
  const char *env = getenv ("UDPCORK_CAPTURE");
  char dir[UC_SET_DIR_LEN];

  if (env && strcmp (env, "cgroup") == 0)
    return UC_CAPTURE_CGROUP;
  if (env && strcmp (env, "netfilter") == 0)
    return UC_CAPTURE_NETFILTER;
  set_dir_of (UC_CAPTURE_NETFILTER, dir, sizeof (dir));
  if (access (dir, F_OK) == 0)
    return UC_CAPTURE_NETFILTER;
  return have_netfilter_bpf () ? UC_CAPTURE_NETFILTER : UC_CAPTURE_CGROUP;
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

static bool
is_map (int fd, __u32 type, __u32 key, __u32 value, __u32 max)
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
      return is_map (fd, BPF_MAP_TYPE_ARRAY, 4, sizeof (struct uc_slot), UC_MAX_RUNS);
    default:
      return is_map (fd, BPF_MAP_TYPE_HASH, 8, 4, UC_MAX_TARGETS);
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
      int *fd = set_fd (b, i);
      snprintf (path, sizeof (path), "%s/%s", dir, pin_names[i]);
      *fd = bpf_obj_get (path);
      if (*fd < 0 || ! is_ours (b, i, *fd))
        {
          if (*fd >= 0 || errno != ENOENT)
            uc_warn ("%s: not a usable udpcork BPF object; loading a private copy", path);
          for (int j = 0; j <= i; j++)
            close_fd (set_fd (b, j));
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
      ok = bpf_obj_pin (*set_fd (b, i), path) == 0;
    }
  if (ok && rename (tmp, dir) == 0)
    return true;
  if (errno != EEXIST && errno != ENOTEMPTY)
    uc_debug ("pin BPF programs at %s: %s", dir, strerror (errno));
  remove_set (tmp);
  return false;
}

/* FN for every pinned set (DIR: its directory). */
static void
each_set (void (*fn) (const char *dir, const char *name, void *ctx), void *ctx)
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
static bool slots_in_use (int fd);

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
  if (fd >= 0 && slots_in_use (fd))
    return;
  uc_debug ("removing the BPF programs of another udpcork build: %s", dir);
  remove_set (dir);
}

static int
open_programs (struct uc_bpf *b, uc_error_t *err)
{
  char dir[UC_SET_DIR_LEN];

  if (! have_bpffs () || (mkdir (UC_PIN_DIR, 0700) < 0 && errno != EEXIST))
    {
      uc_debug ("no BPF filesystem at " UC_BPFFS ": loading the BPF programs for this run only");
      return load (b, err);
    }
  set_dir (b, dir, sizeof (dir));
  if (open_set (b, dir) == 0)
    {
      b->shared = true;
      return 0;
    }
  if (load (b, err) < 0)
    return -1;
  b->shared = pin_set (b, dir);
  if (b->shared)
    {
      uc_debug ("BPF programs loaded and pinned at %s for the next runs", dir);
      each_set (remove_other_set, dir);
    }
  return 0;
}

/* ---------------------------------------------------------- the slot array */

static size_t
slots_size (void)
{
  size_t stride = (sizeof (struct uc_slot) + 7) & ~(size_t) 7, page = (size_t) sysconf (_SC_PAGESIZE);
  return (UC_MAX_RUNS * stride + page - 1) / page * page;
}

static struct uc_slot *
slot_at (void *mem, __u32 i)
{
  return (struct uc_slot *) ((char *) mem + i * ((sizeof (struct uc_slot) + 7) & ~(size_t) 7));
}

/* The slot array of FD, mapped (NULL on error, errno set). */
static void *
map_slots (int fd)
{
  void *mem = mmap (NULL, slots_size (), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return mem == MAP_FAILED ? NULL : mem;
}

struct me
{
  __u32 pid;
  __u64 start, pidns;
};

static struct me
me (void)
{
  struct stat st;
  pid_t pid = getpid ();
  return (struct me){ (__u32) pid, uc_proc_start_time (pid), stat ("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0 };
}

/* Is the run that holds S gone? Only runs of this pid namespace can tell
 * (a slot being claimed has no start time yet: alive). */
static bool
holder_gone (const struct uc_slot *s, const struct me *m)
{
  __u32 pid = __atomic_load_n (&s->hook_pid, __ATOMIC_ACQUIRE);
  return pid != 0 && pid != m->pid && s->hook_pidns == m->pidns && s->hook_start != 0
         && uc_proc_start_time ((pid_t) pid) != s->hook_start;
}

/* Is it running? Only runs of this pid namespace can tell. */
static bool
holder_alive (const struct uc_slot *s, const struct me *m)
{
  __u32 pid = __atomic_load_n (&s->hook_pid, __ATOMIC_ACQUIRE);
  return pid != 0 && s->hook_pidns == m->pidns
         && (s->hook_start == 0 || uc_proc_start_time ((pid_t) pid) == s->hook_start);
}

static bool
slots_in_use (int fd)
{
  void *mem = map_slots (fd);
  bool used = false;

  for (__u32 i = 0; mem && i < UC_MAX_RUNS; i++)
    used |= __atomic_load_n (&slot_at (mem, i)->hook_pid, __ATOMIC_ACQUIRE) != 0;
  if (mem)
    munmap (mem, slots_size ());
  return used || mem == NULL;
}

/* Armed sockets whose slot no longer holds them (a run killed between its
 * steps) or whose run is gone (its datagram, if any, stays in the slot for
 * the recovery of its dump): disarmed, so that nothing their socket sends
 * later is captured by someone else's attached program. */
static void
sweep (struct uc_bpf *b, const struct me *m)
{
  __u64 key, next;
  bool first = true;
  __u32 idx;

  while (bpf_map_get_next_key (b->armed, first ? NULL : &key, &next) == 0)
    {
      const struct uc_slot *s;

      first = false;
      key = next;
      if (bpf_map_lookup_elem (b->armed, &key, &idx) < 0)
        continue;
      s = idx < UC_MAX_RUNS ? slot_at (b->mem, idx) : NULL;
      if (s && s->cookie == key && ! holder_gone (s, m))
        continue;
      uc_debug ("socket cookie %llu was left armed (slot %u%s): disarmed", (unsigned long long) key, idx,
                s && s->cookie == key ? ", its run is gone" : "");
      bpf_map_delete_elem (b->armed, &key);
    }
}

/* A free slot, or one whose run is gone and that holds nothing. */
static int
claim_slot (struct uc_bpf *b, uc_error_t *err)
{
  struct me m = me ();

  b->mem = map_slots (b->slots);
  if (b->mem == NULL)
    return uc_make_error (err, errno, "map the capture slots into memory");
  sweep (b, &m);
  for (__u32 i = 0; i < UC_MAX_RUNS; i++)
    {
      struct uc_slot *s = slot_at (b->mem, i);
      __u32 pid = __atomic_load_n (&s->hook_pid, __ATOMIC_ACQUIRE);

      if (pid != 0 && ! (holder_gone (s, &m) && s->cookie == 0))
        continue;
      if (! __atomic_compare_exchange_n (&s->hook_pid, &pid, m.pid, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        continue;
      s->hook_start = m.start;
      s->hook_pidns = m.pidns;
      s->cookie = 0;
      s->armed = 0;
      memset (s->dump_id, 0, sizeof (s->dump_id));
      b->slot = s;
      b->idx = i;
      return 0;
    }
  return uc_make_error (err, EBUSY,
                        "all %d capture slots are taken, by udpcork runs under way or by datagrams of killed runs "
                        "awaiting their recovery (udpcork recover)",
                        UC_MAX_RUNS);
}

static void
release_slot (struct uc_bpf *b)
{
  struct uc_slot *s = b->slot;

  if (s == NULL)
    return;
  s->armed = 0;
  s->cookie = 0;
  memset (s->dump_id, 0, sizeof (s->dump_id));
  __atomic_store_n (&s->hook_pid, 0, __ATOMIC_RELEASE);
  b->slot = NULL;
}

int
uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err)
{
  memset (b, 0, sizeof (*b));
  b->iter = b->capture = b->slots = b->armed = b->cg = b->lock = b->nf[0] = b->nf[1] = -1;
  b->open = true;
  b->path = choose_path ();
  if (open_programs (b, err) < 0)
    return -1;
  if (! capture)
    return 0;
  uc_debug ("capture path: %s (%s programs)", uc_capture_path_str (b->path), b->shared ? "pinned" : "private");
  return claim_slot (b, err);
}

void
uc_bpf_close (struct uc_bpf *b)
{
  if (! b->open)
    return;
  uc_bpf_detach_capture (b);
  uc_bpf_unpin_slots (b);
  release_slot (b);
  if (b->mem)
    munmap (b->mem, slots_size ());
  b->mem = NULL;
  for (int i = 0; i < UC_N_PINS; i++)
    close_fd (set_fd (b, i));
  b->open = false;
}

int
uc_bpf_iter_udp (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err)
{
  cleanup_close int link = -1, fd = -1;
  size_t cap = 0, len = 0;
  struct uc_sock_rec *v = NULL;

  *recs = NULL;
  *n = 0;
  link = bpf_link_create (b->iter, 0, BPF_TRACE_ITER, NULL);
  if (link < 0)
    return uc_make_error (err, errno, "attach iter/udp");
  fd = bpf_iter_create (link);
  if (fd < 0)
    return uc_make_error (err, errno, "create UDP socket iterator");
  for (;;)
    {
      ssize_t r;
      xgrow (&v, &cap, len + 64, sizeof (*v));
      r = read (fd, &v[len], (cap - len) * sizeof (*v));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 || (r > 0 && r % sizeof (*v)))
        {
          free (v);
          return r < 0 ? uc_make_error (err, errno, "read UDP socket iterator")
                       : uc_make_error (err, 0, "UDP socket iterator: short record (%zd bytes)", r);
        }
      if (r == 0)
        break;
      len += r / sizeof (*v);
    }
  *recs = v;
  *n = len;
  return 0;
}

int
uc_bpf_arm (struct uc_bpf *b, __u64 cookie, const struct uc_slot *owner, uc_error_t *err)
{
  struct uc_slot *s = b->slot;

  /* the head (the data is copied over by the program, len says how much);
   * the run's fields stay */
  memset (s, 0, offsetof (struct uc_slot, cookie));
  memset (&s->rec, 0, sizeof (s->rec));
  if (owner)
    {
      s->owner_pid = owner->owner_pid;
      s->owner_fd = owner->owner_fd;
      s->mode = owner->mode;
      s->rec = owner->rec;
      s->armed = 1;
    }
  __atomic_store_n (&s->cookie, cookie, __ATOMIC_RELEASE);
  if (bpf_map_update_elem (b->armed, &cookie, &b->idx, BPF_NOEXIST) < 0)
    {
      int e = errno;
      s->cookie = 0;
      s->armed = 0;
      return uc_make_error (err, e, "arm capture for socket cookie %llu%s", (unsigned long long) cookie,
                            e == EEXIST ? " (armed by another udpcork run)" : "");
    }
  return 0;
}

void
uc_bpf_disarm (struct uc_bpf *b, __u64 cookie)
{
  b->slot->armed = 0;
  __atomic_store_n (&b->slot->cookie, 0, __ATOMIC_RELEASE);
  bpf_map_delete_elem (b->armed, &cookie);
}

/* --------------------------------------------- the slots of a killed capture */

static void
pin_path (const char *dump_id, char *buf, size_t len)
{
  snprintf (buf, len, "%s/%s", UC_PIN_DIR, dump_id);
}

int
uc_bpf_pin_slots (struct uc_bpf *b, const char *dump_id, uc_error_t *err)
{
  if (! uc_dump_id_valid (dump_id))
    return uc_make_error (err, 0, "invalid dump id");
  if (! have_bpffs ())
    return uc_make_error (err, 0,
                          "no BPF filesystem at " UC_BPFFS ": udpcork keeps each datagram it takes out of a socket in "
                          "a map pinned there until it is on disk (mount -t bpf bpf " UC_BPFFS ")");
  snprintf (b->slot->dump_id, sizeof (b->slot->dump_id), "%s", dump_id);
  if (b->shared)
    return 0; /* the slot array is pinned with the programs */
  if (mkdir (UC_PIN_DIR, 0700) < 0 && errno != EEXIST)
    return uc_make_error (err, errno, "create " UC_PIN_DIR);
  pin_path (dump_id, b->pin, sizeof (b->pin));
  unlink (b->pin); /* a stale pin of this very dump: nothing else can hold this name */
  if (bpf_obj_pin (b->slots, b->pin) < 0)
    {
      int e = errno;
      b->pin[0] = '\0';
      return uc_make_error (err, e, "pin the capture slots at " UC_PIN_DIR "/%s", dump_id);
    }
  return 0;
}

void
uc_bpf_unpin_slots (struct uc_bpf *b)
{
  if (b->slot)
    memset (b->slot->dump_id, 0, sizeof (b->slot->dump_id));
  if (b->pin[0])
    unlink (b->pin);
  b->pin[0] = '\0';
}

/* The slots a killed run left with a datagram of one dump. */
struct leftover
{
  const char *dump_id;
  struct me m;
  bool remove;
  int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx);
  void *ctx;
  bool found;
  int ret;
};

/* In the slot array SLOTS (and ARMED, its armed sockets, or -1). */
static void
leftovers_in (int slots, int armed, struct leftover *l)
{
  void *mem;

  if (! is_map (slots, BPF_MAP_TYPE_ARRAY, 4, sizeof (struct uc_slot), UC_MAX_RUNS) || ! (mem = map_slots (slots)))
    return;
  for (__u32 i = 0; i < UC_MAX_RUNS && l->ret == 0; i++)
    {
      struct uc_slot *s = slot_at (mem, i);
      __u64 cookie = s->cookie;
      __u32 v;

      /* (a run under way holds it: a recovery of its dump is not for now) */
      if (cookie == 0 || strncmp (s->dump_id, l->dump_id, sizeof (s->dump_id)) != 0
          || (! l->remove && holder_alive (s, &l->m)))
        continue;
      /* nothing can be captured into it any more */
      if (armed >= 0 && bpf_map_lookup_elem (armed, &cookie, &v) == 0 && v == i)
        bpf_map_delete_elem (armed, &cookie);
      l->found = true;
      if (l->remove)
        {
          s->cookie = 0;
          memset (s->dump_id, 0, sizeof (s->dump_id));
          __atomic_store_n (&s->hook_pid, 0, __ATOMIC_RELEASE);
        }
      else
        l->ret = l->fn (cookie, s, l->ctx);
    }
  munmap (mem, slots_size ());
}

static void
leftovers_in_set (const char *dir, const char *name, void *ctx)
{
  char path[PATH_MAX];
  cleanup_close int slots = -1, armed = -1;

  snprintf (path, sizeof (path), "%s/slots", dir);
  slots = bpf_obj_get (path);
  snprintf (path, sizeof (path), "%s/armed", dir);
  armed = bpf_obj_get (path);
  if (slots >= 0)
    leftovers_in (slots, armed, ctx);
}

static int
leftovers (struct leftover *l)
{
  char path[PATH_MAX];
  cleanup_close int fd = -1;

  if (! uc_dump_id_valid (l->dump_id))
    return 0;
  l->m = me ();
  each_set (leftovers_in_set, l);
  /* the slot array of a run with programs of its own */
  pin_path (l->dump_id, path, sizeof (path));
  fd = bpf_obj_get (path);
  if (fd >= 0 && l->ret == 0)
    leftovers_in (fd, -1, l);
  if (l->remove)
    unlink (path);
  return l->ret;
}

int
uc_bpf_pinned_slots (const char *dump_id, int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx), void *ctx,
                     bool *found, uc_error_t *err)
{
  struct leftover l = { .dump_id = dump_id, .fn = fn, .ctx = ctx };
  int ret = leftovers (&l);

  *found = l.found;
  return ret;
}

void
uc_bpf_pinned_remove (const char *dump_id)
{
  struct leftover l = { .dump_id = dump_id, .remove = true };
  leftovers (&l);
}

/* The real cgroup2 root, as a directory fd: a cgroup2 mount of its root
 * ("/") if this mount namespace has one, else a fresh mount in a private
 * mount namespace of this process (hybrid hosts hide cgroup2 from crun). */
static int
cgroup2_root (uc_error_t *err)
{
  char line[4096], root[1024], mnt[1024], tmpl[] = "/tmp/udpcork-cg2.XXXXXX";
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  int fd = -1;

  while (f && fd < 0 && fgets (line, sizeof (line), f))
    {
      char *sep = strstr (line, " - cgroup2 ");
      if (sep && sscanf (line, "%*d %*d %*s %1023s %1023s", root, mnt) == 2 && strcmp (root, "/") == 0)
        fd = open (mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
  if (f)
    fclose (f);
  if (fd >= 0)
    return fd;
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdtemp (tmpl) == NULL
      || mount ("cgroup2", tmpl, "cgroup2", 0, NULL) < 0)
    return uc_make_error (err, errno, "mount cgroup2 (for the cgroup_skb capture)");
  fd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  umount2 (tmpl, MNT_DETACH);
  rmdir (tmpl);
  if (fd < 0)
    return uc_make_error (err, errno, "open cgroup2 root");
  return fd;
}

static int
attach_netfilter (struct uc_bpf *b, uc_error_t *err)
{
  static const int pf[2] = { NFPROTO_IPV4, NFPROTO_IPV6 };

  for (int i = 0; i < 2; i++)
    {
#if UC_LIBBPF_NETFILTER
      LIBBPF_OPTS (bpf_link_create_opts, o, .netfilter.pf = pf[i], .netfilter.hooknum = UC_NF_LOCAL_OUT,
                   .netfilter.priority = UC_NF_PRIORITY);
      b->nf[i] = bpf_link_create (b->capture, 0, UC_ATTACH_NETFILTER, &o);
#else
      struct uc_nf_link_attr a = {
        .prog_fd = b->capture,
        .attach_type = UC_ATTACH_NETFILTER,
        .pf = pf[i],
        .hooknum = UC_NF_LOCAL_OUT,
        .priority = UC_NF_PRIORITY,
      };
      b->nf[i] = syscall (SYS_bpf, UC_BPF_LINK_CREATE, &a, sizeof (a));
#endif
      if (b->nf[i] < 0)
        {
          int e = errno;
          uc_bpf_detach_capture (b);
          return uc_make_error (err, e,
                                "attach capture program to netfilter LOCAL_OUT (%s; needs kernel >= 6.4 "
                                "with CONFIG_NETFILTER_BPF_LINK)",
                                i ? "IPv6" : "IPv4");
        }
    }
  return 0;
}

/* A program is attached once per cgroup: runs sharing the pinned one take
 * turns (and one attached twice would count every datagram twice). */
static int
lock_shared (struct uc_bpf *b, uc_error_t *err)
{
  if (! b->shared)
    return 0;
  b->lock = open (UC_PIN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b->lock < 0)
    return uc_make_error (err, errno, "open " UC_PIN_DIR);
  while (flock (b->lock, LOCK_EX) < 0)
    if (errno != EINTR)
      return uc_make_error (err, errno, "lock " UC_PIN_DIR);
  return 0;
}

int
uc_bpf_attach_capture (struct uc_bpf *b, uc_error_t *err)
{
  cleanup_close int cg = -1;

  if (b->path == UC_CAPTURE_NETFILTER)
    return attach_netfilter (b, err);
  cg = cgroup2_root (err);
  if (cg < 0 || lock_shared (b, err) < 0)
    return -1;
  /* multi: whatever else is attached below, this one runs for every cgroup */
  b->cg = bpf_link_create (b->capture, cg, BPF_CGROUP_INET_EGRESS, NULL);
  if (b->cg < 0)
    {
      int e = errno;
      close_fd (&b->lock);
      return uc_make_error (err, e, "attach capture program to cgroup_skb egress at the cgroup2 root");
    }
  return 0;
}

void
uc_bpf_detach_capture (struct uc_bpf *b)
{
  for (int i = 0; i < 2; i++)
    close_fd (&b->nf[i]);
  close_fd (&b->cg);
  close_fd (&b->lock); /* after the link: the next run attaches once this one is gone */
}

static int
cmp_rec (const void *a, const void *b)
{
  const struct uc_sock_rec *x = a, *y = b;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int
uc_bpf_iter_udp_sorted (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err)
{
  if (uc_bpf_iter_udp (b, recs, n, err) < 0)
    return -1;
  qsort (*recs, *n, sizeof (**recs), cmp_rec);
  return 0;
}

const struct uc_sock_rec *
uc_sock_rec_find (const struct uc_sock_rec *recs, size_t n, unsigned long long ino)
{
  struct uc_sock_rec key = { .ino = ino };
  return recs ? bsearch (&key, recs, n, sizeof (key), cmp_rec) : NULL;
}
