/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The processes of a container: the init and all its descendants, with
 * their pids in the container's pid namespace. The init is held by a pidfd
 * from the start; every other process is identified by pid and start time,
 * so that a pid reused meanwhile is never mistaken for the container's. */
#ifndef UDPCORK_CONTAINER_H
#define UDPCORK_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

struct uc_proc
{
  pid_t pid;                /* host pid (pid namespace of udpcork) */
  pid_t nspid;              /* pid in the innermost pid namespace of the process */
  unsigned long long start; /* start time (/proc/PID/stat field 22) */
};

struct uc_container
{
  pid_t init;
  int pidfd;             /* the init's pidfd, -1 if not open */
  struct uc_proc *procs; /* procs[0] is the init */
  size_t n_procs;
  bool host_netns; /* the container shares udpcork's network namespace */
};

/* Safe to uc_container_close after a failure, or on a struct set with
 * UC_CONTAINER_INIT. */
#define UC_CONTAINER_INIT                                                                                              \
  {                                                                                                                    \
    .pidfd = -1                                                                                                        \
  }
int uc_container_open (pid_t init, struct uc_container *c, uc_error_t *err);
void uc_container_close (struct uc_container *c);
/* Host pid of the process whose container pid is NSPID, or 0. */
pid_t uc_container_host_pid (const struct uc_container *c, pid_t nspid);
pid_t uc_container_ns_pid (const struct uc_container *c, pid_t pid);

/* Move the calling thread into the container's network namespace. */
int uc_container_enter_netns (const struct uc_container *c, uc_error_t *err);

/* A duplicate, in this process, of fd FD of the container's process PID
 * (host pid), which must still be the process the container was opened
 * with (pidfd_getfd). */
int uc_proc_getfd (const struct uc_container *c, pid_t pid, int fd, uc_error_t *err);

/* Start time of PID (clock ticks after boot, /proc/PID/stat field 22), 0
 * if it is gone. */
unsigned long long uc_proc_start_time (pid_t pid);

/* Calls FN for each fd of PID that is a socket: FN (pid, fd, ino, data).
 * A process that exits meanwhile is skipped. */
int uc_proc_for_each_socket (pid_t pid, int (*fn) (pid_t, int, unsigned long, void *), void *data, uc_error_t *err);

#endif
