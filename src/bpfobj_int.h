/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the files behind bpfobj.h share, for them only: bpfobj.c (load,
 * attach, iterator), bpfpin.c (pinned program sets), bpfslots.c (the slot
 * array), bpfleftover.c (the slots of a killed capture). */
#ifndef UDPCORK_BPFOBJ_INT_H
#define UDPCORK_BPFOBJ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "bpfobj.h"

#define UC_BPFFS "/sys/fs/bpf"
#define UC_PIN_DIR UC_BPFFS "/udpcork"

/* Netfilter BPF (kernel >= 6.4) postdates the uapi headers and the libbpf
 * (1.1) of Debian 12: the numbers are the kernel's ABI. */
#define UC_PROG_TYPE_NETFILTER 32
#define UC_ATTACH_NETFILTER 45

/* bpfobj.c: load this run's own copy of the BPF object */
int uc_bpf_load (struct uc_bpf *b, uc_error_t *err);
void uc_bpf_close_fd (int *fd);

/* bpfpin.c: the pinned sets, each UC_N_PINS programs and maps */
#define UC_N_PINS 4
#define UC_SET_DIR_LEN 256
bool uc_bpf_have_bpffs (void);
int *uc_bpf_set_fd (struct uc_bpf *b, int i);
void uc_bpf_set_dir_of (enum uc_capture_path p, char *buf, size_t len);
bool uc_bpf_is_map (int fd, __u32 type, __u32 key, __u32 value, __u32 max);
void uc_bpf_each_set (void (*fn) (const char *dir, const char *name, void *ctx), void *ctx);
int uc_bpf_open_programs (struct uc_bpf *b, uc_error_t *err);

/* bpfslots.c: the slot array, and the run that holds a slot */
struct me
{
  __u32 pid;
  __u64 start, pidns;
};

size_t uc_bpf_slots_size (void);
struct uc_slot *uc_bpf_slot_at (void *mem, __u32 i);
void *uc_bpf_map_slots (int fd);
struct me uc_bpf_me (void);
bool uc_bpf_holder_alive (const struct uc_slot *s, const struct me *m);
bool uc_bpf_slots_in_use (int fd);
int uc_bpf_claim_slot (struct uc_bpf *b, uc_error_t *err);
void uc_bpf_release_slot (struct uc_bpf *b);

#endif
