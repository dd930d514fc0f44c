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

/* UDPCORK_CAPTURE=cgroup|netfilter forces a path (tests); else the best
 * the kernel has. */
static enum uc_capture_path
choose_path (void)
{
  const char *env = getenv ("UDPCORK_CAPTURE");

  if (env && strcmp (env, "cgroup") == 0)
    return UC_CAPTURE_CGROUP;
  if (env && strcmp (env, "netfilter") == 0)
    return UC_CAPTURE_NETFILTER;
  return have_netfilter_bpf () ? UC_CAPTURE_NETFILTER : UC_CAPTURE_CGROUP;
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

static const char *const pin_names[3] = { "iter", "capture", "slots" };

static bool
have_bpffs (void)
{
  struct statfs sf;
  return statfs (UC_BPFFS, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

static int
dup_fd (int fd)
{
  return fcntl (fd, F_DUPFD_CLOEXEC, 3);
}

/* The programs' and the capture map's fds, in pin_names order. */
static int *
set_fd (struct uc_bpf *b, int i)
{
  return i == 0 ? &b->iter : i == 1 ? &b->capture : &b->slots;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Load this run's own copy of the BPF object: the iterator, the capture
 * program of B->path, the capture map. */
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
  b->capture = dup_fd (bpf_program__fd (b->path == UC_CAPTURE_NETFILTER ? skel->progs.udpcork_capture
                                                                         : skel->progs.udpcork_capture_cg));
  b->slots = dup_fd (bpf_map__fd (skel->maps.slots));
  udpcork_bpf__destroy (skel);
  if (b->iter < 0 || b->capture < 0 || b->slots < 0)
    return uc_make_error (err, errno, "keep the BPF programs' file descriptors");
  return 0;
}

static void
set_dir (const struct uc_bpf *b, char *buf, size_t len)
{
  snprintf (buf, len, UC_PIN_DIR "/" UC_SET_PREFIX "%s:%s", UC_BPF_OBJ_ID,
            b->path == UC_CAPTURE_NETFILTER ? "nf" : "cg");
}

static void
remove_set (const char *dir)
{
  char path[PATH_MAX];

  for (int i = 0; i < 3; i++)
    {
      snprintf (path, sizeof (path), "%s/%s", dir, pin_names[i]);
      unlink (path);
    }
  rmdir (dir);
}

/* Is FD a program of TYPE (or, TYPE < 0, the capture map as this build
 * makes it)? Pins are root's, but of another build or a half-made set. */
static bool
is_ours (int fd, int type)
{
  if (type >= 0)
    {
      struct bpf_prog_info pi = { 0 };
      __u32 l = sizeof (pi);
      return bpf_obj_get_info_by_fd (fd, &pi, &l) == 0 && pi.type == (__u32) type;
    }
  struct bpf_map_info mi = { 0 };
  __u32 l = sizeof (mi);
  return bpf_obj_get_info_by_fd (fd, &mi, &l) == 0 && mi.type == BPF_MAP_TYPE_HASH_OF_MAPS && mi.key_size == 8
         && mi.max_entries == UC_MAX_TARGETS;
}

/* The pinned set of this build and capture path: 0, or -1 if absent (or
 * unusable: then the caller loads its own). */
static int
open_set (struct uc_bpf *b, const char *dir)
{
  const int types[3] = { BPF_PROG_TYPE_TRACING,
                         b->path == UC_CAPTURE_NETFILTER ? UC_PROG_TYPE_NETFILTER : BPF_PROG_TYPE_CGROUP_SKB, -1 };
  char path[PATH_MAX];

  for (int i = 0; i < 3; i++)
    {
      int *fd = set_fd (b, i);
      snprintf (path, sizeof (path), "%s/%s", dir, pin_names[i]);
      *fd = bpf_obj_get (path);
      if (*fd < 0 || ! is_ours (*fd, types[i]))
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
 * another run was first, this one keeps its own copy (true: pinned). */
static bool
pin_set (struct uc_bpf *b, const char *dir)
{
  char tmp[UC_SET_DIR_LEN + 32], path[PATH_MAX];
  bool ok;

  snprintf (tmp, sizeof (tmp), "%s" UC_SET_TMP "%d", dir, (int) getpid ());
  remove_set (tmp);
  ok = mkdir (tmp, 0700) == 0;
  for (int i = 0; ok && i < 3; i++)
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

/* Sets of other builds (each run that uses one holds its own fds), and
 * sets that a killed run left half-made. */
static void
remove_other_sets (const char *keep)
{
  DIR *d = opendir (UC_PIN_DIR);
  struct dirent *e;
  char path[UC_SET_DIR_LEN + 256];

  while (d && (e = readdir (d)))
    {
      const char *tmp = strstr (e->d_name, UC_SET_TMP);

      snprintf (path, sizeof (path), UC_PIN_DIR "/%s", e->d_name);
      if (strncmp (e->d_name, UC_SET_PREFIX, strlen (UC_SET_PREFIX)) == 0 && strcmp (path, keep) != 0
          && (tmp == NULL || (kill (atoi (tmp + strlen (UC_SET_TMP)), 0) < 0 && errno == ESRCH)))
        {
          uc_debug ("removing the BPF programs of another udpcork build: %s", path);
          remove_set (path);
        }
    }
  if (d)
    closedir (d);
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
      remove_other_sets (dir);
    }
  return 0;
}

/* This run's capture slot: an array of one struct uc_slot, mapped. */
static int
make_slot (struct uc_bpf *b, uc_error_t *err)
{
  LIBBPF_OPTS (bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
  struct stat st;

  b->slot_fd = bpf_map_create (BPF_MAP_TYPE_ARRAY, "udpcork_slot", sizeof (__u32), sizeof (struct uc_slot), 1, &o);
  if (b->slot_fd < 0)
    return uc_make_error (err, errno, "create the capture slot map (%zu bytes)", sizeof (struct uc_slot));
  b->slot = mmap (NULL, sizeof (struct uc_slot), PROT_READ | PROT_WRITE, MAP_SHARED, b->slot_fd, 0);
  if (b->slot == MAP_FAILED)
    {
      b->slot = NULL;
      return uc_make_error (err, errno, "map the capture slot into memory");
    }
  b->slot->hook_pid = (__u32) getpid ();
  b->slot->hook_start = uc_proc_start_time (getpid ());
  b->slot->hook_pidns = stat ("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
  return 0;
}

/* The slot of capture map entry ID (a map id) into S; 0 if it is there. */
static int
read_slot_by_id (__u32 id, struct uc_slot *s)
{
  __u32 zero = 0;
  cleanup_close int fd = bpf_map_get_fd_by_id (id);

  return fd < 0 ? -1 : bpf_map_lookup_elem (fd, &zero, s);
}

/* Entries that runs killed while a socket was armed left in the shared
 * capture map: a dead run's entry would capture (and drop) what its socket
 * sends later while another run's capture is attached. Entries of hooks in
 * another pid namespace are left to that namespace's runs. */
static void
sweep (struct uc_bpf *b)
{
  cleanup_free struct uc_slot *s = NULL;
  __u64 key, next;
  bool first = true;
  __u32 id;

  while (bpf_map_get_next_key (b->slots, first ? NULL : &key, &next) == 0)
    {
      first = false;
      key = next;
      if (s == NULL)
        s = xmalloc (sizeof (*s));
      if (bpf_map_lookup_elem (b->slots, &key, &id) < 0 || read_slot_by_id (id, s) < 0
          || s->hook_pidns != b->slot->hook_pidns || s->hook_pid == b->slot->hook_pid
          || uc_proc_start_time ((pid_t) s->hook_pid) == s->hook_start)
        continue;
      uc_debug ("capture map: socket cookie %llu was armed by hook pid %u, gone: disarmed", (unsigned long long) key,
                s->hook_pid);
      bpf_map_delete_elem (b->slots, &key);
    }
}

int
uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err)
{
  memset (b, 0, sizeof (*b));
  b->iter = b->capture = b->slots = b->slot_fd = b->cg = b->lock = b->nf[0] = b->nf[1] = -1;
  b->open = true;
  b->path = choose_path ();
  if (open_programs (b, err) < 0)
    return -1;
  if (! capture)
    return 0;
  uc_debug ("capture path: %s (%s programs)", uc_capture_path_str (b->path), b->shared ? "pinned" : "private");
  if (make_slot (b, err) < 0)
    return -1;
  if (b->shared)
    sweep (b);
  return 0;
}

void
uc_bpf_close (struct uc_bpf *b)
{
  if (! b->open)
    return;
  uc_bpf_detach_capture (b);
  uc_bpf_unpin_slots (b);
  if (b->slot)
    munmap (b->slot, sizeof (struct uc_slot));
  b->slot = NULL;
  for (int i = 0; i < 3; i++)
    close_fd (set_fd (b, i));
  close_fd (&b->slot_fd);
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
  int ret;

  /* the head only (the data is copied over by the program, len says how
   * much); the hook_* fields stay */
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
  s->cookie = cookie;
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  ret = bpf_map_update_elem (b->slots, &cookie, &b->slot_fd, BPF_NOEXIST);
  if (ret < 0)
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
  b->slot->cookie = 0;
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  bpf_map_delete_elem (b->slots, &cookie);
}

/* ------------------------------------------------- the slot pinned per dump */

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
  if (mkdir (UC_PIN_DIR, 0700) < 0 && errno != EEXIST)
    return uc_make_error (err, errno, "create " UC_PIN_DIR);
  pin_path (dump_id, b->pin, sizeof (b->pin));
  unlink (b->pin); /* a stale pin of this very dump: nothing else can hold this name */
  if (bpf_obj_pin (b->slot_fd, b->pin) < 0)
    {
      int e = errno;
      b->pin[0] = '\0';
      return uc_make_error (err, e, "pin the capture slot at " UC_PIN_DIR "/%s", dump_id);
    }
  return 0;
}

void
uc_bpf_unpin_slots (struct uc_bpf *b)
{
  if (b->pin[0])
    unlink (b->pin);
  b->pin[0] = '\0';
}

/* Disarm COOKIE wherever the capture map of a pinned set points it at the
 * map with id ID. */
static void
disarm_everywhere (__u64 cookie, __u32 id)
{
  DIR *d = opendir (UC_PIN_DIR);
  struct dirent *e;
  char path[PATH_MAX];

  while (d && (e = readdir (d)))
    {
      cleanup_close int fd = -1;
      __u32 v;

      if (strncmp (e->d_name, UC_SET_PREFIX, strlen (UC_SET_PREFIX)) != 0)
        continue;
      snprintf (path, sizeof (path), UC_PIN_DIR "/%s/slots", e->d_name);
      fd = bpf_obj_get (path);
      if (fd >= 0 && bpf_map_lookup_elem (fd, &cookie, &v) == 0 && v == id)
        bpf_map_delete_elem (fd, &cookie);
    }
  if (d)
    closedir (d);
}

int
uc_bpf_pinned_slots (const char *dump_id, int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx), void *ctx,
                     bool *found, uc_error_t *err)
{
  cleanup_free struct uc_slot *slot = NULL;
  cleanup_close int fd = -1;
  struct bpf_map_info mi = { 0 };
  __u32 l = sizeof (mi), zero = 0;
  char path[PATH_MAX];

  *found = false;
  if (! uc_dump_id_valid (dump_id))
    return 0;
  pin_path (dump_id, path, sizeof (path));
  fd = bpf_obj_get (path);
  if (fd < 0)
    return errno == ENOENT || errno == ENOTDIR ? 0 : uc_make_error (err, errno, "open pinned capture slot %s", path);
  if (bpf_obj_get_info_by_fd (fd, &mi, &l) < 0 || mi.type != BPF_MAP_TYPE_ARRAY
      || mi.value_size != sizeof (struct uc_slot) || mi.max_entries != 1)
    return uc_make_error (err, errno, "%s is not a udpcork capture slot", path);
  *found = true;
  slot = xmalloc (sizeof (*slot));
  if (bpf_map_lookup_elem (fd, &zero, slot) < 0)
    return uc_make_error (err, errno, "read pinned capture slot %s", path);
  if (slot->cookie == 0)
    return 0; /* disarmed: its datagram, if any, is in the capture log */
  /* nothing can be captured into it any more before it is read */
  disarm_everywhere (slot->cookie, mi.id);
  return fn (slot->cookie, slot, ctx);
}

void
uc_bpf_pinned_remove (const char *dump_id)
{
  char path[PATH_MAX];

  if (! uc_dump_id_valid (dump_id))
    return;
  pin_path (dump_id, path, sizeof (path));
  unlink (path);
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
