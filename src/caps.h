/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sending on a container's behalf with the container's power, not
 * udpcork's: the kernel checks the capabilities of the sending task (root
 * here), not of the container, for per-datagram attributes such as
 * SO_MARK. Around such a send the effective set is lowered to the socket
 * owner's (the permitted set stays, so that it can be raised again):
 * whatever needs a capability the owner lacks fails as it would have for
 * the application itself. */
#ifndef UDPCORK_CAPS_H
#define UDPCORK_CAPS_H

#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define UC_CAP(n) (1ull << (n))

/* The effective capabilities of PID (/proc/PID/status CapEff). */
int uc_caps_of_pid (pid_t pid, uint64_t *eff, uc_error_t *err);

/* Do the capabilities of PID (host pid) count in the network namespace the
 * calling thread is in? Yes if PID is in udpcork's own user namespace, or
 * if PID's user namespace owns that network namespace; otherwise they are
 * capabilities over other namespaces (a user-namespaced container on a
 * network namespace it does not own) and none of them counts here. False
 * too if it cannot be told. */
bool uc_caps_count_here (pid_t pid);

struct uc_caps
{
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
};

/* Save the calling thread's capabilities into *SAVED and lower its
 * effective set to EFF (a mask of CAP_* bits; 0: none). */
int uc_caps_lower (uint64_t eff, struct uc_caps *saved, uc_error_t *err);
/* Restore the capabilities saved by uc_caps_lower. */
int uc_caps_restore (const struct uc_caps *saved, uc_error_t *err);

#endif
