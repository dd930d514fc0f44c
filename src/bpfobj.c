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
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <stddef.h>
#include <sys/statfs.h>
#include "udpcork.skel.h"
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

int
uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err)
{
  int ret;

  memset (b, 0, sizeof (*b));
  b->nf[0] = b->nf[1] = -1;
  libbpf_set_print (libbpf_log);
  b->skel = udpcork_bpf__open ();
  if (b->skel == NULL)
    return uc_make_error (err, errno, "open BPF object");
  b->path = capture ? choose_path () : 0;
  bpf_program__set_autoload (b->skel->progs.udpcork_capture, b->path == UC_CAPTURE_NETFILTER);
  bpf_program__set_autoload (b->skel->progs.udpcork_capture_cg, b->path == UC_CAPTURE_CGROUP);
  /* libbpf < 1.3 does not know SEC("netfilter") */
  bpf_program__set_type (b->skel->progs.udpcork_capture, UC_PROG_TYPE_NETFILTER);
  bpf_program__set_expected_attach_type (b->skel->progs.udpcork_capture, UC_ATTACH_NETFILTER);
  ret = udpcork_bpf__load (b->skel);
  if (ret < 0)
    {
      udpcork_bpf__destroy (b->skel);
      b->skel = NULL;
      return uc_make_error (err, -ret, "load BPF programs (needs BTF and iter/udp%s)",
                            ! capture                         ? ""
                            : b->path == UC_CAPTURE_NETFILTER ? ", netfilter BPF links"
                                                              : ", cgroup_skb programs");
    }
  if (capture)
    uc_debug ("capture path: %s", uc_capture_path_str (b->path));
  return 0;
}

void
uc_bpf_close (struct uc_bpf *b)
{
  /* Nothing loaded, nothing attached: a zeroed struct (nf = {0, 0}) must
   * not close fds 0 and 1. */
  if (b->skel == NULL)
    return;
  uc_bpf_detach_capture (b);
  udpcork_bpf__destroy (b->skel);
  b->skel = NULL;
}

int
uc_bpf_iter_udp (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err)
{
  struct bpf_link *link;
  size_t cap = 0, len = 0;
  struct uc_sock_rec *v = NULL;
  int fd, ret = 0;

  *recs = NULL;
  *n = 0;
  link = bpf_program__attach_iter (b->skel->progs.udpcork_iter, NULL);
  if (link == NULL)
    return uc_make_error (err, errno, "attach iter/udp");
  fd = bpf_iter_create (bpf_link__fd (link));
  if (fd < 0)
    {
      ret = uc_make_error (err, errno, "create UDP socket iterator");
      goto out;
    }
  for (;;)
    {
      ssize_t r;
      xgrow (&v, &cap, len + 64, sizeof (*v));
      r = read (fd, &v[len], (cap - len) * sizeof (*v));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          ret = uc_make_error (err, errno, "read UDP socket iterator");
          free (v);
          break;
        }
      if (r == 0)
        {
          *recs = v;
          *n = len;
          break;
        }
      if (r % sizeof (*v))
        {
          ret = uc_make_error (err, 0, "UDP socket iterator: short record (%zd bytes)", r);
          free (v);
          break;
        }
      len += r / sizeof (*v);
    }
  close (fd);
out:
  bpf_link__destroy (link);
  return ret;
}

int
uc_bpf_arm (struct uc_bpf *b, __u64 cookie, const struct uc_slot *owner, uc_error_t *err)
{
  /* The slot every arming copies (in .bss: no allocation and no zeroing of
   * 66 KB per socket; only its head changes). */
  static struct uc_slot slot;
  int ret;

  memset (&slot, 0, offsetof (struct uc_slot, data));
  if (owner)
    {
      slot.owner_pid = owner->owner_pid;
      slot.owner_fd = owner->owner_fd;
      slot.mode = owner->mode;
      slot.rec = owner->rec;
      slot.armed = 1;
    }
  ret = bpf_map__update_elem (b->skel->maps.slots, &cookie, sizeof (cookie), &slot, sizeof (slot), BPF_NOEXIST);
  if (ret < 0)
    return uc_make_error (err, -ret, "arm capture for socket cookie %llu", (unsigned long long) cookie);
  return 0;
}

/* ---------------------------------------------------- the pinned slot map */

#define UC_BPFFS "/sys/fs/bpf"
#define UC_PIN_DIR UC_BPFFS "/udpcork"
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static void
pin_path (const char *dump_id, char *buf, size_t len)
{
  snprintf (buf, len, "%s/%s", UC_PIN_DIR, dump_id);
}

int
uc_bpf_pin_slots (struct uc_bpf *b, const char *dump_id, uc_error_t *err)
{
  struct statfs sf;
  char path[PATH_MAX];
  int ret;

  if (! uc_dump_id_valid (dump_id))
    return uc_make_error (err, 0, "invalid dump id");
  if (statfs (UC_BPFFS, &sf) < 0 || sf.f_type != BPF_FS_MAGIC)
    return uc_make_error (err, 0,
                          "no BPF filesystem at " UC_BPFFS ": udpcork keeps each datagram it takes out of a socket in "
                          "a map pinned there until it is on disk (mount -t bpf bpf " UC_BPFFS ")");
  if (mkdir (UC_PIN_DIR, 0700) < 0 && errno != EEXIST)
    return uc_make_error (err, errno, "create " UC_PIN_DIR);
  pin_path (dump_id, path, sizeof (path));
  unlink (path); /* a stale pin of this very dump: nothing else can hold this name */
  ret = bpf_map__pin (b->skel->maps.slots, path);
  if (ret < 0)
    return uc_make_error (err, -ret, "pin the capture map at %s", path);
  return 0;
}

void
uc_bpf_unpin_slots (struct uc_bpf *b)
{
  if (b->skel && bpf_map__is_pinned (b->skel->maps.slots))
    bpf_map__unpin (b->skel->maps.slots, NULL);
}

int
uc_bpf_pinned_slots (const char *dump_id, int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx), void *ctx,
                     bool *found, uc_error_t *err)
{
  cleanup_free struct uc_slot *slot = NULL;
  cleanup_close int fd = -1;
  char path[PATH_MAX];
  __u64 key, next;
  bool first = true;

  *found = false;
  if (! uc_dump_id_valid (dump_id))
    return 0;
  pin_path (dump_id, path, sizeof (path));
  fd = bpf_obj_get (path);
  if (fd < 0)
    return errno == ENOENT || errno == ENOTDIR ? 0 : uc_make_error (err, errno, "open pinned capture map %s", path);
  *found = true;
  slot = xmalloc (sizeof (*slot));
  while (bpf_map_get_next_key (fd, first ? NULL : &key, &next) == 0)
    {
      first = false;
      key = next;
      if (bpf_map_lookup_elem (fd, &key, slot) < 0)
        continue;
      if (fn (key, slot, ctx) < 0)
        return -1;
    }
  return 0;
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

int
uc_bpf_disarm (struct uc_bpf *b, __u64 cookie)
{
  return bpf_map__delete_elem (b->skel->maps.slots, &cookie, sizeof (cookie), 0);
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
      LIBBPF_OPTS (bpf_netfilter_opts, o, .pf = pf[i], .hooknum = UC_NF_LOCAL_OUT, .priority = UC_NF_PRIORITY);
      b->nfl[i] = bpf_program__attach_netfilter (b->skel->progs.udpcork_capture, &o);
      if (b->nfl[i] == NULL)
#else
      struct uc_nf_link_attr a = {
        .prog_fd = bpf_program__fd (b->skel->progs.udpcork_capture),
        .attach_type = UC_ATTACH_NETFILTER,
        .pf = pf[i],
        .hooknum = UC_NF_LOCAL_OUT,
        .priority = UC_NF_PRIORITY,
      };
      b->nf[i] = syscall (SYS_bpf, UC_BPF_LINK_CREATE, &a, sizeof (a));
      if (b->nf[i] < 0)
#endif
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

int
uc_bpf_attach_capture (struct uc_bpf *b, uc_error_t *err)
{
  int cg;

  if (b->path == UC_CAPTURE_NETFILTER)
    return attach_netfilter (b, err);
  cg = cgroup2_root (err);
  if (cg < 0)
    return -1;
  /* multi: whatever else is attached below, this one runs for every cgroup */
  b->cg = bpf_program__attach_cgroup (b->skel->progs.udpcork_capture_cg, cg);
  if (b->cg == NULL)
    {
      int e = errno;
      close (cg);
      return uc_make_error (err, e, "attach capture program to cgroup_skb egress at the cgroup2 root");
    }
  close (cg);
  return 0;
}

void
uc_bpf_detach_capture (struct uc_bpf *b)
{
  for (int i = 0; i < 2; i++)
    {
      if (b->nf[i] >= 0)
        close (b->nf[i]);
      b->nf[i] = -1;
      if (b->nfl[i])
        bpf_link__destroy (b->nfl[i]);
      b->nfl[i] = NULL;
    }
  if (b->cg)
    bpf_link__destroy (b->cg);
  b->cg = NULL;
}

int
uc_bpf_read_slot (struct uc_bpf *b, __u64 cookie, struct uc_slot *out, uc_error_t *err)
{
  int ret = bpf_map__lookup_elem (b->skel->maps.slots, &cookie, sizeof (cookie), out, sizeof (*out), 0);
  if (ret < 0)
    return uc_make_error (err, -ret, "read capture slot of socket cookie %llu", (unsigned long long) cookie);
  return 0;
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
