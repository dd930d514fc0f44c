/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fault injection for the tests: UDPCORK_FAULT=POINT or POINT:N makes the
 * N-th passage (default the first) through POINT kill the process with
 * SIGKILL, as an operator's kill -9 or the OOM killer would. */
#ifndef UDPCORK_FAULT_H
#define UDPCORK_FAULT_H

void uc_fault (const char *point);

#endif
