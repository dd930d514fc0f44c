/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal of a dump, next to the image: says where the pending datagrams
 * are, and which dump put them there, so that post-dump and network-unlock
 * give them back exactly once and a later dump into the same directory
 * (podman reuses it) does not mistake old files for its own. And the
 * restore marker: which restored containers already got the image's
 * datagrams, so that a second run (a poststart hook at every start) does
 * not append them again. */
#ifndef UDPCORK_JOURNAL_H
#define UDPCORK_JOURNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

#define UC_JOURNAL_NAME "udpcork.journal"
#define UC_RESTORED_NAME "udpcork.restored"
#define UC_DUMP_ID_LEN 64

enum uc_journal
{
  UC_JOURNAL_NONE = 0, /* no journal: nothing was captured */
  UC_JOURNAL_CAPTURED, /* datagrams are in the image only */
  UC_JOURNAL_RETURNED, /* ... and were given back to the dumped sockets */
};

/* *J and the id of the dump that wrote the journal (empty if none). */
int uc_journal_read (int dirfd, enum uc_journal *j, char id[UC_DUMP_ID_LEN], uc_error_t *err);
int uc_journal_write (int dirfd, enum uc_journal j, const char *id, uc_error_t *err);
const char *uc_journal_str (enum uc_journal j);

/* Identity of the running dump: the CRIU process (its pid, from
 * CRTOOLS_IMAGE_DIR=/proc/PID/fd/N or our parent, and its start time). */
void uc_dump_id (const char *image_dir, char id[UC_DUMP_ID_LEN]);

/* Did the restored container whose init is INIT (pid and start time)
 * already get this image's datagrams? */
int uc_restored_check (int dirfd, pid_t init, bool *done, uc_error_t *err);
/* Record that it did. */
int uc_restored_mark (int dirfd, pid_t init, uc_error_t *err);

#endif
