// SPDX-License-Identifier: GPL-2.0-or-later
/* The BPF object of a run (bpfobj.h): its own copy loaded (the capture
 * program of the path this kernel has), opened and closed with the pinned
 * sets (bpfpin.c) and a slot of the slot array (bpfslots.c); the capture
 * program attached (netfilter LOCAL_OUT, or cgroup_skb egress at the
 * cgroup2 root) and detached; the UDP socket iterator read. */
#include "bpfobj.h"
#include "bpfobj_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include "udpcork.skel.h"
#include "log.h"
#include "xalloc.h"

#ifndef NFPROTO_IPV4
#define NFPROTO_IPV4 2
#define NFPROTO_IPV6 10
#endif
#define UC_NF_LOCAL_OUT 3
/* First in line: only a chain at exactly INT_MIN (which the kernel refuses
 * for BPF) could run earlier. */
#define UC_NF_PRIORITY (INT_MIN + 1)

/* The netfilter link (attach_netfilter): with libbpf >= 1.3, bpf_link_create
 * with the netfilter fields in its options; with an older libbpf, the raw
 * bpf(2) BPF_LINK_CREATE command (struct uc_nf_link_attr). */
#define UC_LIBBPF_NETFILTER (LIBBPF_MAJOR_VERSION > 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION >= 3))
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

static int
dup_fd (int fd)
{
  return fcntl (fd, F_DUPFD_CLOEXEC, 3);
}

void
uc_bpf_close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* After a failed load: which feature udpcork needs the running kernel
 * lacks, if one can be told (NULL: none of these). */
static const char *
kernel_lacks (void)
{
  struct btf *btf;
  bool iter;

  if (access ("/sys/kernel/btf/vmlinux", R_OK) < 0)
    return "BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)";
  btf = btf__load_vmlinux_btf ();
  if (btf == NULL)
    return NULL;
  iter = btf__find_by_name_kind (btf, "bpf_iter__udp", BTF_KIND_STRUCT) > 0;
  btf__free (btf);
  return iter ? NULL : "BPF iterator for UDP sockets (iter/udp, Linux >= 5.9)";
}

/* Load this run's own copy of the BPF object: the iterator, the capture
 * program of B->path, the maps. */
int
uc_bpf_load (struct uc_bpf *b, uc_error_t *err)
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
      const char *missing = kernel_lacks ();
      udpcork_bpf__destroy (skel);
      if (missing)
        return uc_make_error (err, 0, "load BPF programs: this kernel has no %s: udpcork cannot work here", missing);
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
  uc_bpf_set_dir_of (UC_CAPTURE_NETFILTER, dir, sizeof (dir));
  if (access (dir, F_OK) == 0)
    return UC_CAPTURE_NETFILTER;
  return have_netfilter_bpf () ? UC_CAPTURE_NETFILTER : UC_CAPTURE_CGROUP;
}

int
uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err)
{
  memset (b, 0, sizeof (*b));
  b->iter = b->capture = b->slots = b->armed = b->cg = b->lock = b->nf[0] = b->nf[1] = -1;
  b->open = true;
  b->path = choose_path ();
  if (uc_bpf_open_programs (b, err) < 0)
    return -1;
  if (! capture)
    return 0;
  uc_debug ("capture path: %s (%s programs)", uc_capture_path_str (b->path), b->shared ? "pinned" : "private");
  return uc_bpf_claim_slot (b, err);
}

void
uc_bpf_close (struct uc_bpf *b)
{
  if (! b->open)
    return;
  uc_bpf_detach_capture (b);
  uc_bpf_unpin_slots (b);
  uc_bpf_release_slot (b);
  if (b->mem)
    munmap (b->mem, uc_bpf_slots_size ());
  b->mem = NULL;
  for (int i = 0; i < UC_N_PINS; i++)
    uc_bpf_close_fd (uc_bpf_set_fd (b, i));
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
      uc_bpf_close_fd (&b->lock);
      return uc_make_error (err, e, "attach capture program to cgroup_skb egress at the cgroup2 root");
    }
  return 0;
}

void
uc_bpf_detach_capture (struct uc_bpf *b)
{
  for (int i = 0; i < 2; i++)
    uc_bpf_close_fd (&b->nf[i]);
  uc_bpf_close_fd (&b->cg);
  uc_bpf_close_fd (&b->lock); /* after the link: the next run attaches once this one is gone */
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
