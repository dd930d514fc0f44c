// SPDX-License-Identifier: GPL-2.0-only
/* udpcork kernel side.
 *
 * udpcork_iter       iter/udp: one uc_sock_rec per UDP socket of the netns
 *                    of the task that creates the iterator (runs under
 *                    lock_sock).
 * udpcork_capture    netfilter NF_INET_LOCAL_OUT, first in line: a datagram
 *                    of a target socket (matched by cookie) is copied into
 *                    that socket's slot and dropped, never transmitted.
 * udpcork_capture_cg the same at cgroup_skb egress, for kernels without
 *                    netfilter BPF links (< 6.4).
 * User space loads one of the two capture programs (set_autoload). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "udpcork.h"

#define AF_INET 2
#define AF_INET6 10
#define NF_DROP 0
#define NF_ACCEPT 1
#define TCP_ESTABLISHED 1

char LICENSE[] SEC ("license") = "GPL";

/* The capture slots: one per udpcork run that captures (claimed by the run
 * in the slot's head, mapped into its memory: read in place, no copy). The
 * programs and both maps are loaded once per boot and pinned (bpfpin.c).
 * Plain maps only: an update of a map of maps waits for an RCU grace period
 * (milliseconds), and a run arms and disarms one socket at a time. */
struct
{
  __uint (type, BPF_MAP_TYPE_ARRAY);
  __uint (max_entries, UC_MAX_RUNS);
  __uint (map_flags, BPF_F_MMAPABLE);
  __type (key, __u32);
  __type (value, struct uc_slot);
} slots SEC (".maps");

/* Armed sockets: socket cookie -> the index of the slot of the run that
 * armed it. */
struct
{
  __uint (type, BPF_MAP_TYPE_HASH);
  __uint (max_entries, UC_MAX_TARGETS);
  __type (key, __u64);
  __type (value, __u32);
} armed SEC (".maps");

/* Kernel drift, CO-RE style: local flavours of the types whose layout
 * changed, so that the object builds against any kernel's BTF (5.10 to 7.x)
 * and picks the right field where it runs (bpf_core_field_exists). */

/* UDP_CORK: bit 0 of udp_flags since Linux 6.5, its own field before. */
struct udp_sock___new
{
  unsigned long udp_flags;
} __attribute__ ((preserve_access_index));
struct udp_sock___old
{
  unsigned int corkflag;
} __attribute__ ((preserve_access_index));

/* SO_TIMESTAMPING OPT_ID of the corked datagram: Linux >= 6.13. */
struct inet_cork___new
{
  __u32 ts_opt_id;
} __attribute__ ((preserve_access_index));

/* The netfilter program's context: Linux >= 6.4 (the program is loaded
 * only where the kernel has it). */
struct bpf_nf_ctx___local
{
  const void *state;
  struct sk_buff *skb;
} __attribute__ ((preserve_access_index));

/* struct bpf_dynptr (uapi, Linux >= 5.19) is opaque: 16 bytes, 8-aligned. */
struct uc_dynptr
{
  __u64 opaque[2];
} __attribute__ ((aligned (8)));

extern int bpf_dynptr_from_skb (struct __sk_buff *skb, __u64 flags, struct uc_dynptr *ptr__uninit) __ksym __weak;

static __always_inline void
copy_v6 (__u8 *dst, const struct in6_addr *src)
{
  bpf_probe_read_kernel (dst, 16, src);
}

SEC ("iter/udp")
int
udpcork_iter (struct bpf_iter__udp *ctx)
{
  struct seq_file *seq = ctx->meta->seq;
  struct udp_sock *up = ctx->udp_sk;
  struct uc_sock_rec rec = {};
  struct inet_sock *inet;
  struct sock *sk;
  int wmem;

  if (up == NULL)
    return 0;
  inet = &up->inet;
  sk = &inet->sk;

  rec.family = BPF_CORE_READ (sk, __sk_common.skc_family);
  rec.protocol = BPF_CORE_READ_BITFIELD_PROBED (sk, sk_protocol);
  rec.cookie = BPF_CORE_READ (sk, __sk_common.skc_cookie.counter);
  rec.ino = BPF_CORE_READ (sk, sk_socket, file, f_inode, i_ino);
  rec.pending = BPF_CORE_READ (up, pending);
  rec.len = BPF_CORE_READ (up, len);
  rec.gso_size = BPF_CORE_READ (up, gso_size);
  if (bpf_core_field_exists (struct udp_sock___new, udp_flags))
    {
      if (BPF_CORE_READ ((struct udp_sock___new *) up, udp_flags) & 1) /* UDP_FLAGS_CORK */
        rec.flags |= UC_F_CORK;
    }
  else if (BPF_CORE_READ ((struct udp_sock___old *) up, corkflag))
    rec.flags |= UC_F_CORK;
  if (BPF_CORE_READ (sk, __sk_common.skc_state) == TCP_ESTABLISHED)
    rec.flags |= UC_F_CONNECTED;
  wmem = BPF_CORE_READ (sk, sk_wmem_alloc.refs.counter);
  rec.wmem = wmem > 0 ? wmem - 1 : 0;
  rec.lport = BPF_CORE_READ (sk, __sk_common.skc_num);
  rec.rport = bpf_ntohs (BPF_CORE_READ (sk, __sk_common.skc_dport));
  rec.bound_dev_if = BPF_CORE_READ (sk, __sk_common.skc_bound_dev_if);

  if (rec.family == AF_INET6)
    {
      copy_v6 (rec.laddr, &sk->__sk_common.skc_v6_rcv_saddr);
      copy_v6 (rec.raddr, &sk->__sk_common.skc_v6_daddr);
    }
  else
    {
      __u32 a = BPF_CORE_READ (sk, __sk_common.skc_rcv_saddr);
      __u32 d = BPF_CORE_READ (sk, __sk_common.skc_daddr);
      __builtin_memcpy (rec.laddr, &a, 4);
      __builtin_memcpy (rec.raddr, &d, 4);
    }

  if (rec.pending == AF_INET6)
    {
      copy_v6 (rec.fl_daddr, &inet->cork.fl.u.ip6.daddr);
      copy_v6 (rec.fl_saddr, &inet->cork.fl.u.ip6.saddr);
      rec.fl_dport = bpf_ntohs (BPF_CORE_READ (inet, cork.fl.u.ip6.uli.ports.dport));
    }
  else if (rec.pending == AF_INET)
    {
      __u32 d = BPF_CORE_READ (inet, cork.fl.u.ip4.daddr);
      __u32 s = BPF_CORE_READ (inet, cork.fl.u.ip4.saddr);
      __builtin_memcpy (rec.fl_daddr, &d, 4);
      __builtin_memcpy (rec.fl_saddr, &s, 4);
      rec.fl_dport = bpf_ntohs (BPF_CORE_READ (inet, cork.fl.u.ip4.uli.ports.dport));
    }

  rec.rx_qlen = BPF_CORE_READ (sk, sk_receive_queue.qlen) + BPF_CORE_READ (up, reader_queue.qlen);
  rec.rmem = BPF_CORE_READ (sk, sk_backlog.rmem_alloc.counter);
  rec.sk_err = BPF_CORE_READ (sk, sk_err);
  rec.peek_off = BPF_CORE_READ (sk, sk_peek_off);

  if (rec.pending)
    {
      struct ip_options *opt;

      rec.cork_oif = BPF_CORE_READ (inet, cork.fl.u.__fl_common.flowic_oif);
      rec.cork_flags = BPF_CORE_READ (inet, cork.base.flags);
      rec.cork_gso_size = BPF_CORE_READ (inet, cork.base.gso_size);
      rec.cork_tx_flags = BPF_CORE_READ (inet, cork.base.tx_flags);
      rec.cork_transmit_time = BPF_CORE_READ (inet, cork.base.transmit_time);
      if (bpf_core_field_exists (struct inet_cork___new, ts_opt_id))
        rec.cork_ts_opt_id = BPF_CORE_READ ((struct inet_cork___new *) &inet->cork.base, ts_opt_id);
      opt = BPF_CORE_READ (inet, cork.base.opt);
      if (rec.pending == AF_INET && opt && (rec.cork_flags & 1 /* IPCORK_OPT */))
        {
          rec.cork_optlen = BPF_CORE_READ (opt, optlen);
          if (rec.cork_optlen > sizeof (rec.cork_opt))
            rec.cork_optlen = sizeof (rec.cork_opt);
          bpf_probe_read_kernel (rec.cork_opt, sizeof (rec.cork_opt), &opt->__data);
          rec.cork_opt_rr = BPF_CORE_READ (opt, rr);
          rec.cork_opt_ts = BPF_CORE_READ (opt, ts);
          if (BPF_CORE_READ_BITFIELD_PROBED (opt, rr_needaddr))
            rec.cork_opt_need |= UC_OPT_RR_NEEDADDR;
          if (BPF_CORE_READ_BITFIELD_PROBED (opt, ts_needtime))
            rec.cork_opt_need |= UC_OPT_TS_NEEDTIME;
          if (BPF_CORE_READ_BITFIELD_PROBED (opt, ts_needaddr))
            rec.cork_opt_need |= UC_OPT_TS_NEEDADDR;
        }
    }

  bpf_seq_write (seq, &rec, sizeof (rec));
  return 0;
}

/* Shared by both capture programs. A datagram of socket COOKIE: returns 0
 * if it is not udpcork's (it goes on), else 1: it is dropped whatever
 * happens, and *OUT is the slot to copy its LEN bytes into, or NULL when
 * they must not be copied (a second datagram, or too big; the slot says
 * which). The socket is locked while its pending frames are pushed: no two
 * datagrams of one socket run here at once. */
static __always_inline int
claim (__u64 cookie, __u32 len, __u32 mark, __u32 priority, __u64 tstamp, struct uc_slot **out)
{
  struct uc_slot *slot;
  __u32 *idx;

  *out = NULL;
  if (cookie == 0)
    return 0;
  idx = bpf_map_lookup_elem (&armed, &cookie);
  if (idx == NULL)
    return 0;
  slot = bpf_map_lookup_elem (&slots, idx);
  /* the run writes the cookie into its slot before it arms it, and clears
   * it before it disarms */
  if (slot == NULL || slot->cookie != cookie)
    return 0;
  if (slot->count++ != 0)
    return 1;
  slot->len = len;
  slot->mark = mark;
  slot->priority = priority;
  slot->tstamp = tstamp;
  if (len > UC_MAX_DGRAM)
    {
      slot->state = UC_SLOT_TOO_BIG;
      return 1;
    }
  *out = slot;
  return 1;
}

static __always_inline void
copied (struct uc_slot *slot, long read_ret)
{
  slot->state = read_ret == 0 ? UC_SLOT_CAPTURED : UC_SLOT_READ_ERROR;
}

SEC ("netfilter")
int
udpcork_capture (struct bpf_nf_ctx___local *ctx)
{
  struct sk_buff *skb = ctx->skb;
  struct uc_dynptr ptr;
  struct uc_slot *slot;
  struct sock *sk;
  __u32 len;

  sk = BPF_CORE_READ (skb, sk);
  if (sk == NULL)
    return NF_ACCEPT;
  len = BPF_CORE_READ (skb, len);
  if (! claim (BPF_CORE_READ (sk, __sk_common.skc_cookie.counter), len, BPF_CORE_READ (skb, mark),
               BPF_CORE_READ (skb, priority), BPF_CORE_READ (skb, tstamp), &slot))
    return NF_ACCEPT;
  if (slot == NULL)
    return NF_DROP;
  /* keep clang from merging the bound check into something the verifier
   * cannot follow */
  asm volatile("" : "+r"(len));
  if (len > UC_MAX_DGRAM)
    return NF_DROP;
  if (bpf_dynptr_from_skb ((struct __sk_buff *) skb, 0, &ptr) != 0)
    copied (slot, -1);
  else
    copied (slot, bpf_dynptr_read (slot->data, len, (const struct bpf_dynptr *) &ptr, 0, 0));
  return NF_DROP;
}

/* The same capture where the kernel has no netfilter BPF link (< 6.4):
 * cgroup_skb egress, attached (multi) at the cgroup2 root so that it is in
 * every cgroup's effective list. It sees the datagram after the netfilter
 * hooks; udpcork proves it with a canary before uncorking anything. */
SEC ("cgroup_skb/egress")
int
udpcork_capture_cg (struct __sk_buff *skb)
{
  struct uc_slot *slot;
  __u32 len, n;

  if (skb->sk == NULL)
    return 1;
  len = skb->len;
  if (! claim (bpf_get_socket_cookie (skb), len, skb->mark, skb->priority, skb->tstamp, &slot))
    return 1;
  if (slot == NULL)
    return 0;
  /* 1 <= len <= max, in a form older verifiers follow (they learn
   * nothing from len != 0): n = len - 1 checked against max - 1, then + 1;
   * the barriers keep clang from folding it back. */
  n = len - 1;
  asm volatile("" : "+r"(n));
  if (n >= UC_MAX_DGRAM)
    return 0;
  n += 1;
  asm volatile("" : "+r"(n));
  copied (slot, bpf_skb_load_bytes (skb, 0, slot->data, n));
  return 0;
}
