// SPDX-License-Identifier: GPL-2.0-or-later
/* The slots of a killed capture: while a run captures for a dump, its slot
 * names the dump (a run with programs of its own also pins its slot array
 * under the dump id), so that a datagram that a killed run took out of its
 * socket can be found after it, in every pinned set and private pin, handed
 * to the recovery of the dump, then freed. */
#include "bpfobj.h"
#include "bpfobj_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "validate.h"
#include "xalloc.h"

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
  if (! uc_bpf_have_bpffs ())
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

  if (! uc_bpf_is_map (slots, BPF_MAP_TYPE_ARRAY, 4, sizeof (struct uc_slot), UC_MAX_RUNS)
      || ! (mem = uc_bpf_map_slots (slots)))
    return;
  for (__u32 i = 0; i < UC_MAX_RUNS && l->ret == 0; i++)
    {
      struct uc_slot *s = uc_bpf_slot_at (mem, i);
      __u64 cookie = s->cookie;
      __u32 v;

      /* (a run under way holds it: a recovery of its dump is not for now) */
      if (cookie == 0 || strncmp (s->dump_id, l->dump_id, sizeof (s->dump_id)) != 0
          || (! l->remove && uc_bpf_holder_alive (s, &l->m)))
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
  munmap (mem, uc_bpf_slots_size ());
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
  l->m = uc_bpf_me ();
  uc_bpf_each_set (leftovers_in_set, l);
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
