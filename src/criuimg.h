/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What CRIU's own images say about a task: the effective capabilities CRIU
 * gives it back just before it resumes (core-PID.img: core_entry
 * thread_core (5) -> creds (10) -> cap_eff (11), repeated 32-bit words).
 * At post-restore the restored tasks still run with CRIU's credentials;
 * these are the ones they will have. Only this field is read, with the
 * wire-format scanner of pbwire.h (no CRIU headers). */
#ifndef UDPCORK_CRIUIMG_H
#define UDPCORK_CRIUIMG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define UC_CRIU_IMG_MAGIC 0x54564319u /* IMG_COMMON_MAGIC */
#define UC_CRIU_CORE_MAGIC 0x55053847u

/* The effective capabilities in a core image's bytes. Pure. */
int uc_criu_core_caps (const uint8_t *data, size_t len, uint64_t *eff, uc_error_t *err);
/* ... of task PID (as CRIU numbers it: the pid in the container) of the
 * image directory DIRFD. */
int uc_criu_task_caps (int dirfd, pid_t pid, uint64_t *eff, uc_error_t *err);

#endif
