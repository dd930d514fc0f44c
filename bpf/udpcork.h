/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Records shared by the BPF programs (bpf/udpcork.bpf.c) and user space.
 * Only fixed-size __uN types: the file is included after vmlinux.h on the
 * BPF side and after <linux/types.h> in user space. */
#ifndef UDPCORK_SHARED_H
#define UDPCORK_SHARED_H

/* Largest datagram the capture program copies: an IPv6 header with room
 * for extension headers plus the largest UDP datagram (65535). */
#define UC_MAX_DGRAM (65535 + 512)

/* Capture slots: udpcork runs that capture at once (a run holds one slot;
 * one that was killed with a datagram in it keeps it until its dump is
 * recovered). An array is all allocated (and, before Linux 5.11, charged)
 * at creation: 32 x 66 KiB. */
#define UC_MAX_RUNS 32
/* Sockets armed at once (each run arms one at a time). */
#define UC_MAX_TARGETS 1024
#define UC_SLOT_DUMP_ID_LEN 64

#define UC_OPT_RR_NEEDADDR 0x1
#define UC_OPT_TS_NEEDTIME 0x2
#define UC_OPT_TS_NEEDADDR 0x4

#define UC_F_CORK 0x1      /* UDP_CORK is set */
#define UC_F_CONNECTED 0x2 /* TCP_ESTABLISHED (connect()ed) */

/* One UDP socket of the netns, written by the iter/udp program. */
struct uc_sock_rec
{
  __u64 ino;     /* socket inode: matches /proc/PID/fd/N -> socket:[ino] */
  __u64 cookie;  /* socket cookie, 0 if never assigned */
  __u16 family;  /* AF_INET / AF_INET6 */
  __u16 pending; /* up->pending: 0, AF_INET or AF_INET6 */
  __u16 len;     /* up->len: 8 + pending payload bytes */
  __u16 gso_size;
  __u32 flags; /* UC_F_* */
  __u32 wmem;  /* sk_wmem_alloc - 1: bytes in the write queue */
  __u32 protocol;
  __u16 lport; /* host order */
  __u16 rport; /* host order, connected peer */
  __u8 laddr[16];
  __u8 raddr[16];
  /* Flow of the pending datagram (inet->cork.fl): destination, source. */
  __u8 fl_daddr[16];
  __u8 fl_saddr[16];
  __u16 fl_dport;      /* host order */
  __u16 cork_gso_size; /* inet->cork.base.gso_size (UDP_SEGMENT) */
  __u32 bound_dev_if;
  __u32 cork_oif;   /* flow's output interface (PKTINFO ifindex, bound device) */
  __u32 cork_flags; /* inet->cork.base.flags (IPCORK_*) */
  __u32 cork_ts_opt_id;
  __u8 cork_tx_flags; /* SKBTX_* timestamping requests */
  __u8 cork_reserved;
  __u8 cork_optlen;   /* IPv4 options the application set (IP_OPTIONS/IP_RETOPTS) */
  __u8 cork_opt_need; /* UC_OPT_*: slots the kernel fills at output */
  __u64 cork_transmit_time;
  __u8 cork_opt[40];
  __u8 cork_opt_rr; /* offset of the record-route option (from the IP header) */
  __u8 cork_opt_ts; /* offset of the timestamp option */
  __u8 pad2[2];
  /* Receive side. */
  __u32 rx_qlen;  /* unread datagrams: reader_queue + sk_receive_queue */
  __u32 rmem;     /* sk_rmem_alloc */
  __s32 sk_err;   /* pending socket error (a peek would return and clear it) */
  __s32 peek_off; /* SO_PEEK_OFF */
};

/* One capture slot per udpcork run that captures (the socket it arms names
 * the slot), filled by whichever capture program is loaded, netfilter
 * (NF_INET_LOCAL_OUT) or cgroup_skb egress, with the whole datagram as it
 * reached that hook (IP header included). */
enum uc_slot_state
{
  UC_SLOT_ARMED = 0,
  UC_SLOT_CAPTURED = 1,
  UC_SLOT_TOO_BIG = 2,
  UC_SLOT_READ_ERROR = 3,
};

struct uc_slot
{
  __u32 state; /* enum uc_slot_state */
  __u32 count; /* datagrams of this socket seen (must end as 1) */
  __u32 len;   /* skb->len */
  __u32 mark;
  __u32 priority;
  __u32 gso_size;
  __u64 tstamp; /* skb->tstamp: SCM_TXTIME transmit time, 0 if none */
  /* Written by user space when it arms the slot, never by the programs:
   * the socket as it was before it was uncorked, so that a slot that a
   * killed udpcork-prestop left in the pinned map describes itself. */
  __u32 owner_pid; /* host pid and fd that hold the socket */
  __u32 owner_fd;
  __u32 mode;  /* UC_CORK_MODE_* of the image (UDP_CORK or MSG_MORE) */
  __u32 armed; /* 1 once user space filled the fields above */
  /* The socket this slot is armed for (the programs check it: a slot whose
   * run has moved on or cleared it takes nothing), the run that holds the
   * slot (pid, 0 if free; /proc/PID/stat start time and pid namespace
   * inode: a later run tells a dead run's slot from a live one's) and the
   * dump it captures for (a recovery finds its datagram by it). */
  __u64 cookie;
  __u64 hook_start;
  __u64 hook_pidns;
  __u32 hook_pid;
  __u32 pad3;
  char dump_id[UC_SLOT_DUMP_ID_LEN];
  struct uc_sock_rec rec;
  __u8 data[UC_MAX_DGRAM];
};

#endif
