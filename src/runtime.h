/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Under CRIU the hooks only get the container's pid. The OCI runtime's own
 * record of the container (crun: ROOT/ID/status, runc: ROOT/ID/state.json)
 * tells its id and bundle, and the bundle's config.json its annotations. */
#ifndef UDPCORK_RUNTIME_H
#define UDPCORK_RUNTIME_H

#include "state.h"

/* Default runtime state roots, ':'-separated; UDPCORK_RUNTIME_ROOTS
 * overrides. */
#define UC_RUNTIME_ROOTS "/run/crun:/run/runc"

/* Fill ST's id, bundle and annotations from the runtime record of the
 * container whose init is ST->pid. Returns 1 if found, 0 if no runtime knows
 * the pid (bare criu), -1 on error. */
int uc_runtime_lookup (struct uc_state *st, uc_error_t *err);

#endif
