/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How the calling thread's network namespace would route a packet to an
 * address: asked from the kernel (rtnetlink RTM_GETROUTE, as `ip route
 * get`). Receive queues are put back only to addresses this says are local
 * (RTN_LOCAL): such packets never leave the namespace. */
#ifndef UDPCORK_ROUTE_H
#define UDPCORK_ROUTE_H

#include <stdbool.h>
#include "error.h"

/* *LOCAL: ADDR (4 bytes for AF_INET, 16 for AF_INET6) is an address of
 * this namespace (route type local). Unroutable counts as not local. */
int uc_route_is_local (int family, const void *addr, bool *local, uc_error_t *err);

#endif
