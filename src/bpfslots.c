// SPDX-License-Identifier: GPL-2.0-or-later
/* The slot array: UC_MAX_RUNS capture slots, mapped into the memory of the
 * runs that capture. A run claims a free slot (or one whose run is gone and
 * that holds nothing), tells live runs from dead ones by pid, start time and
 * pid namespace, disarms the sockets that dead runs left armed, and arms
 * and disarms one socket at a time with its slot. */
#include "bpfobj.h"
#include "bpfobj_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "container.h"
#include "log.h"

size_t
uc_bpf_slots_size (void)
{
  size_t stride = (sizeof (struct uc_slot) + 7) & ~(size_t) 7, page = (size_t) sysconf (_SC_PAGESIZE);
  return (UC_MAX_RUNS * stride + page - 1) / page * page;
}

struct uc_slot *
uc_bpf_slot_at (void *mem, __u32 i)
{
  return (struct uc_slot *) ((char *) mem + i * ((sizeof (struct uc_slot) + 7) & ~(size_t) 7));
}

/* The slot array of FD, mapped (NULL on error, errno set). */
void *
uc_bpf_map_slots (int fd)
{
  void *mem = mmap (NULL, uc_bpf_slots_size (), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return mem == MAP_FAILED ? NULL : mem;
}

struct me
uc_bpf_me (void)
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
bool
uc_bpf_holder_alive (const struct uc_slot *s, const struct me *m)
{
  __u32 pid = __atomic_load_n (&s->hook_pid, __ATOMIC_ACQUIRE);
  return pid != 0 && s->hook_pidns == m->pidns
         && (s->hook_start == 0 || uc_proc_start_time ((pid_t) pid) == s->hook_start);
}

bool
uc_bpf_slots_in_use (int fd)
{
  void *mem = uc_bpf_map_slots (fd);
  bool used = false;

  for (__u32 i = 0; mem && i < UC_MAX_RUNS; i++)
    used |= __atomic_load_n (&uc_bpf_slot_at (mem, i)->hook_pid, __ATOMIC_ACQUIRE) != 0;
  if (mem)
    munmap (mem, uc_bpf_slots_size ());
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
      s = idx < UC_MAX_RUNS ? uc_bpf_slot_at (b->mem, idx) : NULL;
      if (s && s->cookie == key && ! holder_gone (s, m))
        continue;
      uc_debug ("socket cookie %llu was left armed (slot %u%s): disarmed", (unsigned long long) key, idx,
                s && s->cookie == key ? ", its run is gone" : "");
      bpf_map_delete_elem (b->armed, &key);
    }
}

/* A free slot, or one whose run is gone and that holds nothing. */
int
uc_bpf_claim_slot (struct uc_bpf *b, uc_error_t *err)
{
  struct me m = uc_bpf_me ();

  b->mem = uc_bpf_map_slots (b->slots);
  if (b->mem == NULL)
    return uc_make_error (err, errno, "map the capture slots into memory");
  sweep (b, &m);
  for (__u32 i = 0; i < UC_MAX_RUNS; i++)
    {
      struct uc_slot *s = uc_bpf_slot_at (b->mem, i);
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

void
uc_bpf_release_slot (struct uc_bpf *b)
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
