/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The BPF objects of one hook run: loaded once, gone when the run ends
 * (the fds are close-on-exec). The programs are never pinned; the capture
 * map is pinned only while a capture runs (uc_bpf_pin_slots). The capture
 * program is chosen at run time (bpf_program__set_autoload): netfilter
 * LOCAL_OUT where the kernel has netfilter BPF links (>= 6.4), else
 * cgroup_skb egress at the cgroup2 root. */
#ifndef UDPCORK_BPFOBJ_H
#define UDPCORK_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "udpcork.h"
#include "error.h"

struct bpf_link;

struct udpcork_bpf;

enum uc_capture_path
{
  UC_CAPTURE_NETFILTER = 1, /* netfilter BPF link, LOCAL_OUT, first in line (Linux >= 6.4) */
  UC_CAPTURE_CGROUP = 2,    /* cgroup_skb egress at the cgroup2 root (older kernels) */
};

struct uc_bpf
{
  struct udpcork_bpf *skel;
  struct bpf_link *nfl[2]; /* netfilter links (LOCAL_OUT, IPv4 and IPv6), libbpf >= 1.3 */
  int nf[2];               /* the same made with the raw bpf(2) call (older libbpf), -1 if none */
  struct bpf_link *cg;     /* cgroup_skb egress link, or NULL */
  enum uc_capture_path path;
};

/* "netfilter LOCAL_OUT" / "cgroup_skb egress" */
const char *uc_capture_path_str (enum uc_capture_path p);

/* Load the iterator and, when CAPTURE, the capture program. uc_bpf_close
 * is safe on a zeroed struct uc_bpf. */
int uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err);
void uc_bpf_close (struct uc_bpf *b);

/* Every UDP socket of the calling thread's network namespace. */
int uc_bpf_iter_udp (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err);
/* The same, sorted by inode, for uc_sock_rec_find. */
int uc_bpf_iter_udp_sorted (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err);
const struct uc_sock_rec *uc_sock_rec_find (const struct uc_sock_rec *recs, size_t n, unsigned long long ino);

/* Capture: arm a socket (by cookie) with an empty slot (OWNER: the owner
 * fields and socket record the slot keeps, or NULL), attach the capture
 * program, read the slot back, disarm. */
int uc_bpf_arm (struct uc_bpf *b, __u64 cookie, const struct uc_slot *owner, uc_error_t *err);
int uc_bpf_disarm (struct uc_bpf *b, __u64 cookie);
int uc_bpf_attach_capture (struct uc_bpf *b, uc_error_t *err);
void uc_bpf_detach_capture (struct uc_bpf *b);
int uc_bpf_read_slot (struct uc_bpf *b, __u64 cookie, struct uc_slot *out, uc_error_t *err);

/* The slot map pinned under /sys/fs/bpf/udpcork/DUMP_ID while a capture
 * runs: a datagram taken out of its socket stays in the kernel there until
 * it is in the capture log, even if udpcork-prestop is killed (fails if no
 * BPF filesystem is mounted at /sys/fs/bpf). */
int uc_bpf_pin_slots (struct uc_bpf *b, const char *dump_id, uc_error_t *err);
void uc_bpf_unpin_slots (struct uc_bpf *b);
/* After a killed capture: FN for every slot left in the pinned map of
 * DUMP_ID (*FOUND: there is one); uc_bpf_pinned_remove drops it. */
int uc_bpf_pinned_slots (const char *dump_id, int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx), void *ctx,
                         bool *found, uc_error_t *err);
void uc_bpf_pinned_remove (const char *dump_id);

#endif
