/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The two hook programs' logic, one function per run; mains are in hooks/. */
#ifndef UDPCORK_HOOKS_H
#define UDPCORK_HOOKS_H

#include <stdbool.h>
#include "state.h"

struct uc_opts
{
  int verbose;
  const char *image_dir; /* --image-dir: OCI mode; CRTOOLS_IMAGE_DIR under CRIU */
};

/* udpcork-prestop: network-lock (capture), post-dump and network-unlock
 * (give back to the dumped sockets, once), OCI mode (capture from a paused
 * container into --image-dir). Other CRIU actions: nothing. */
int uc_prestop (struct uc_state *st, const struct uc_opts *o, uc_error_t *err);

/* udpcork-poststart: post-restore, or OCI mode with --image-dir: put the
 * saved datagrams into the restored sockets. Other actions: nothing. */
int uc_poststart (struct uc_state *st, const struct uc_opts *o, uc_error_t *err);

/* Shared main of the hook binaries: options, input (CRIU env or OCI state
 * JSON on stdin), logging, exit status. */
int uc_hook_main (int argc, char **argv, const char *prog, const char *what,
                  int (*run) (struct uc_state *, const struct uc_opts *, uc_error_t *));

/* True if the container opted out (annotation UC_ANNOTATION_DISABLE, from
 * the OCI state or, under CRIU, from the runtime's record); logged. */
bool uc_hook_opted_out (struct uc_state *st);

/* OCI mode: the state's pid must be a container's (another pid namespace),
 * and the one the runtime knows under the state's id. */
int uc_check_oci_pid (struct uc_state *st, uc_error_t *err);

/* What both hooks do first: check the OCI pid, honour the opt-out, open the
 * image directory. Returns the directory fd, 0 < ... ; UC_HOOK_SKIP if the
 * container opted out; -1 with *ERR. */
#define UC_HOOK_SKIP (-2)
int uc_hook_begin (struct uc_state *st, const struct uc_opts *o, uc_error_t *err);

/* The image directory of this run, opened (O_DIRECTORY). */
int uc_open_image_dir (const struct uc_state *st, const struct uc_opts *o, uc_error_t *err);

#endif
