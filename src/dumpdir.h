/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The dump directory protocol: where a dump's pending datagrams are at each
 * moment, so that they are given back exactly once and never lost.
 *
 *   begin     before any socket is touched: refuses a directory that holds
 *             datagrams of an earlier dump nobody gave back, replaces a
 *             finished earlier dump's files
 *   open_log  right before the first socket is uncorked: the capture log
 *   append    one datagram out of its socket: into the capture log (its
 *             bytes stay in the pinned capture map until then: capture.h)
 *   commit    all taken: the image (fsynced; its datagram entries are the
 *             capture log's, copied by the kernel), the journal
 *             `captured DUMP`, the capture log removed
 *   abort     the capture failed: the log goes if nothing it holds is still
 *             out of its socket, else it stays for network-unlock or
 *             `udpcork recover`
 *   (post-dump changes nothing: the datagrams go back only if the tasks
 *             go on, at network-unlock, which CRIU runs with --leave-running
 *             or after a failure; a default checkpoint kills the tasks and
 *             the journal stays `captured`, with the dumped root's pid and
 *             start time: a later dump into the directory replaces the
 *             files once that container is gone, refuses while it runs)
 *   pending   what only udpcork holds for a dump: the capture log and the
 *             slots a killed capture left pinned, or the image the journal
 *             says is `captured`
 *   returned  the datagrams are back in their sockets: journal `returned`,
 *             capture log and pinned map removed
 *
 * And the restore marker: which restored containers already got an image's
 * datagrams, so that a second run (a poststart hook runs at every start)
 * does not append them again.
 *
 * Files: udpcork.img, udpcork.capture (image.h), udpcork.journal
 * ("STATE DUMP-ID [root-PID-START]"), udpcork.restored (one "restored-PID-START" per line). */
#ifndef UDPCORK_DUMPDIR_H
#define UDPCORK_DUMPDIR_H

#include <stdbool.h>
#include <sys/types.h>
#include "container.h"
#include "error.h"
#include "image.h"

#define UC_JOURNAL_NAME "udpcork.journal"
#define UC_RESTORED_NAME "udpcork.restored"
#define UC_DUMP_ID_LEN 64

struct uc_dump
{
  int dirfd;
  const char *id;
  struct uc_image_log log;
  bool log_open;
};

int uc_dump_begin (struct uc_dump *d, int dirfd, const char *id, uc_error_t *err);
/* CONTAINER_ID names the container in the capture log. */
int uc_dump_open_log (struct uc_dump *d, const char *container_id, uc_error_t *err);
int uc_dump_append (struct uc_dump *d, const UcDgram *dg, uc_error_t *err);
/* IMG->head is filled (container, tool version, time, root pid ROOT). */
int uc_dump_commit (struct uc_dump *d, struct uc_image *img, const char *container_id, pid_t root, uc_error_t *err);
/* The payloads of W's sockets, which leave memory once in the capture log,
 * read back from it (for a rollback). */
struct uc_work;
int uc_dump_reload (struct uc_dump *d, struct uc_work *w, size_t n, uc_error_t *err);
/* KEEP_LOG: some datagram it holds is not back in its socket. */
void uc_dump_abort (struct uc_dump *d, bool keep_log);

/* The datagrams of dump ID (NULL: whichever) that only udpcork holds, for
 * the dumped container C: *FOUND tells whether there are any, *FROM_LOG
 * where they come from. */
int uc_dump_pending (const struct uc_container *c, int dirfd, const char *id, struct uc_image *img, bool *from_log,
                     bool *found, uc_error_t *err);
/* Does the journal say dump ID captured datagrams that are in its image
 * only? */
int uc_dump_captured (int dirfd, const char *id, bool *yes, uc_error_t *err);
int uc_dump_returned (int dirfd, const char *id, bool from_log, uc_error_t *err);

/* Identity of the running dump: the CRIU process (its pid, from
 * CRTOOLS_IMAGE_DIR=/proc/PID/fd/N or our parent, and its start time). */
void uc_dump_id (const char *image_dir, char id[UC_DUMP_ID_LEN]);

/* Did this restore already get the image's datagrams? Under CRIU (IMAGE
 * NULL) a restore is the restored init (pid and start time); in OCI mode,
 * where the hook runs at every start, the image (IMAGE: its dump id) is
 * delivered once, whatever container start asks again. */
int uc_restored_check (int dirfd, pid_t init, const char *image, bool *done, uc_error_t *err);
/* Record that it did. */
int uc_restored_mark (int dirfd, pid_t init, const char *image, uc_error_t *err);

#endif
