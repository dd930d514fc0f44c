/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The two hook programs: one shared main (hooks/ holds their thin mains).
 *
 * The main reads the input (CRIU's CRTOOLS_* environment, or the OCI state
 * JSON on stdin), and, for the actions a hook acts on, resolves the
 * container once: the runtime's record (id, bundle, annotations), the
 * checks of an OCI-mode pid, the opt-out, the image directory. The action
 * then runs on that; nothing it is given changes under it. */
#ifndef UDPCORK_HOOKS_H
#define UDPCORK_HOOKS_H

#include <stdbool.h>
#include "dumpdir.h"
#include "runtime.h"
#include "state.h"

struct uc_opts
{
  int verbose;
  const char *image_dir; /* --image-dir: OCI mode */
};

/* A hook run, resolved. */
struct uc_hook
{
  const struct uc_state *st; /* the input, as parsed */
  enum uc_action action;
  pid_t pid;                        /* the container's init (host pid), > 0 */
  const char *id;                   /* the container's id (the state's, else the runtime's), or NULL */
  const struct uc_annotations *ann; /* the state's, else the bundle's (maybe empty) */
  struct uc_runtime_rec rt;         /* the runtime's record, if any knows the container */
  int dirfd;                        /* the image directory */
  bool dir_by_annotation;           /* ... named by the container's annotation (whoever creates it sets it) */
  char dump_id[UC_DUMP_ID_LEN];     /* the dump this run belongs to (prestop) */
};

struct uc_hook_def
{
  const char *prog, *what;
  bool (*acts_on) (enum uc_action a);
  int (*run) (const struct uc_hook *h, uc_error_t *err);
};

/* udpcork-prestop: network-lock (capture), post-dump and network-unlock
 * (give back to the dumped sockets, once), OCI mode (capture from a paused
 * container into --image-dir). */
extern const struct uc_hook_def uc_prestop_hook;
/* udpcork-poststart: post-restore, or OCI mode with --image-dir: put the
 * saved datagrams into the restored sockets. */
extern const struct uc_hook_def uc_poststart_hook;

/* Options, input, resolution, logging, exit status. */
int uc_hook_main (int argc, char **argv, const struct uc_hook_def *def);

/* An image directory an annotation named is the container's own: an image
 * there must be of this container (its head's container id), else -1. A
 * directory root named (--image-dir, CRIU's) may hold any container's. */
int uc_hook_image_is_ours (const struct uc_hook *h, const struct uc_image *img, uc_error_t *err);

#endif
