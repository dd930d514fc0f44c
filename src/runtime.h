/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Under CRIU the hooks only get the container's pid. The OCI runtime's own
 * record of the container (crun: ROOT/ID/status, runc: ROOT/ID/state.json)
 * tells its id and bundle, and the bundle's config.json its annotations.
 * The record is looked up; nothing the caller holds is changed by it. */
#ifndef UDPCORK_RUNTIME_H
#define UDPCORK_RUNTIME_H

#include "state.h"

/* Default runtime state roots, ':'-separated; UDPCORK_RUNTIME_ROOTS
 * overrides. A root ending in "/ *" stands for each directory in it
 * (containerd keeps runc's records per namespace). */
#define UC_RUNTIME_ROOTS "/run/crun:/run/runc:/run/containerd/runc/*"

struct uc_runtime_rec
{
  char *root; /* where it was found */
  char *id;
  char *bundle;
  struct uc_annotations ann; /* of the bundle's config.json */
};

/* The record of the container whose init is PID: 1 if found, 0 if no
 * runtime knows the pid (bare criu), -1 on error. */
int uc_runtime_lookup (pid_t pid, struct uc_runtime_rec *rec, uc_error_t *err);
void uc_runtime_rec_free (struct uc_runtime_rec *rec);

#endif
