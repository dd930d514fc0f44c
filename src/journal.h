/* Journal of a dump, next to the image: says where the pending datagrams
 * are, so that post-dump and network-unlock give them back exactly once. */
#ifndef UDPCORK_JOURNAL_H
#define UDPCORK_JOURNAL_H

#include "error.h"

#define UC_JOURNAL_NAME "udpcork.journal"

enum uc_journal
{
  UC_JOURNAL_NONE = 0, /* no journal: nothing was captured */
  UC_JOURNAL_CAPTURED, /* datagrams are in the image only */
  UC_JOURNAL_RETURNED, /* ... and were given back to the dumped sockets */
};

int uc_journal_read (int dirfd, enum uc_journal *j, uc_error_t *err);
int uc_journal_write (int dirfd, enum uc_journal j, uc_error_t *err);
const char *uc_journal_str (enum uc_journal j);

#endif
