/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The BPF objects a hook run uses. The programs and their two maps (the
 * capture slots, the armed sockets) are loaded once per boot (per BPF
 * filesystem) and pinned, never attached, under
 * /sys/fs/bpf/udpcork/progs:ID:PATH (ID: a digest of the BPF object, so that
 * another build never uses them); a run opens the pins, or loads them (and
 * pins them for the next runs) when they are absent, or loads its own copy
 * when no BPF filesystem is mounted. Links are never pinned: what a run
 * attaches goes when it ends or dies. A capturing run claims one slot of the
 * pinned slot array and maps it; the slot names the dump it captures for
 * (uc_bpf_pin_slots), so a datagram taken out of a socket stays in the
 * kernel, findable, if the run is killed before it is on disk. The capture
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

enum uc_capture_path
{
  UC_CAPTURE_NETFILTER = 1, /* netfilter BPF link, LOCAL_OUT, first in line (Linux >= 6.4) */
  UC_CAPTURE_CGROUP = 2,    /* cgroup_skb egress at the cgroup2 root (older kernels) */
};

struct uc_bpf
{
  bool open;
  bool shared;          /* the programs are the pinned ones, used by other runs too */
  int iter, capture;    /* programs */
  int slots, armed;     /* maps: slot array (UC_MAX_RUNS), socket cookie -> slot index */
  void *mem;            /* the slot array, mapped (capture runs) */
  struct uc_slot *slot; /* this run's slot in it, NULL if none */
  __u32 idx;            /* ... its index */
  int nf[2];            /* netfilter links (LOCAL_OUT, IPv4 and IPv6), -1 if none */
  int cg;               /* cgroup_skb egress link, -1 if none */
  int lock;             /* the pin directory, locked while a shared cgroup_skb program is attached */
  char pin[128];        /* the private slot array's pin (per dump), "" if none */
  enum uc_capture_path path;
};

/* "netfilter LOCAL_OUT" / "cgroup_skb egress" */
const char *uc_capture_path_str (enum uc_capture_path p);

/* Is there a BPF filesystem, where loaded programs stay for later runs? */
bool uc_bpf_can_pin (void);

/* Load the iterator and, when CAPTURE, the capture program. uc_bpf_close
 * is safe on a zeroed struct uc_bpf. */
int uc_bpf_open (struct uc_bpf *b, bool capture, uc_error_t *err);
void uc_bpf_close (struct uc_bpf *b);

/* Every UDP socket of the calling thread's network namespace. */
int uc_bpf_iter_udp (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err);
/* The same, sorted by inode, for uc_sock_rec_find. */
int uc_bpf_iter_udp_sorted (struct uc_bpf *b, struct uc_sock_rec **recs, size_t *n, uc_error_t *err);
const struct uc_sock_rec *uc_sock_rec_find (const struct uc_sock_rec *recs, size_t n, unsigned long long ino);

/* Capture: arm a socket (by cookie) with this run's slot, emptied (OWNER:
 * the owner fields and socket record the slot keeps, or NULL), attach the
 * capture program, read the slot (uc_bpf_slot: in place, no copy), disarm
 * (the slot is cleared first: a run killed after it holds nothing that a
 * recovery could count twice). */
int uc_bpf_arm (struct uc_bpf *b, __u64 cookie, const struct uc_slot *owner, uc_error_t *err);
void uc_bpf_disarm (struct uc_bpf *b, __u64 cookie);
int uc_bpf_attach_capture (struct uc_bpf *b, uc_error_t *err);
void uc_bpf_detach_capture (struct uc_bpf *b);
static inline const struct uc_slot *
uc_bpf_slot (const struct uc_bpf *b)
{
  return b->slot;
}

/* While a capture runs, this run's slot is marked with DUMP_ID (programs of
 * its own, not shared: their slot array is pinned under
 * /sys/fs/bpf/udpcork/DUMP_ID): a datagram taken out of its socket stays in
 * the kernel until it is in the capture log, even if udpcork-prestop is
 * killed (fails if no BPF filesystem is mounted at /sys/fs/bpf). */
int uc_bpf_pin_slots (struct uc_bpf *b, const char *dump_id, uc_error_t *err);
void uc_bpf_unpin_slots (struct uc_bpf *b);
/* After a killed capture: FN for the slot a killed run left with a datagram
 * of DUMP_ID (*FOUND: there is one), once no socket is armed with it any
 * more; uc_bpf_pinned_remove frees it. */
int uc_bpf_pinned_slots (const char *dump_id, int (*fn) (__u64 cookie, const struct uc_slot *s, void *ctx), void *ctx,
                         bool *found, uc_error_t *err);
void uc_bpf_pinned_remove (const char *dump_id);

#endif
