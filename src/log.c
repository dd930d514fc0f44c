// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *log_prog = "udpcork";
static int log_verbose;
static int log_syslog = -1; /* unknown until the first message for syslog */

/* Does a syslog daemon listen on /dev/log? Without one, glibc's syslog()
 * tries to connect again at every message (three system calls per line,
 * 30000 for a checkpoint of 10000 sockets): asked once, at the first
 * message for syslog (a run that logs nothing, e.g. `udpcork show`,
 * connects nowhere). */
static bool
syslog_reachable (void)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
  int s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool ok;

  if (s < 0)
    return false;
  ok = connect (s, (struct sockaddr *) &a, sizeof (a)) == 0 || errno == EPROTOTYPE;
  close (s);
  return ok;
}

/* Per-socket lines (uc_note) are gathered and written UC_NOTES_SIZE bytes
 * at a time (10000 lines were 10000 writes into CRIU's log pipe); any other
 * message, and the exit, writes them first, so the order stays. A hook
 * killed with SIGKILL loses the notes not yet written, never a summary,
 * warning or error. */
#define UC_NOTES_SIZE (32u << 10)
static char notes[UC_NOTES_SIZE];
static size_t notes_len;

static void
notes_flush (void)
{
  size_t off = 0;

  while (off < notes_len)
    {
      ssize_t r = write (STDERR_FILENO, notes + off, notes_len - off);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break; /* nowhere to report it */
      off += r;
    }
  notes_len = 0;
}

void
uc_log_init (const char *prog, int verbose)
{
  const char *env = getenv ("UDPCORK_DEBUG");

  log_prog = prog;
  log_verbose = verbose || (env && *env && *env != '0');
  atexit (notes_flush);
}

void
uc_log (int prio, const char *fmt, ...)
{
  static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
  bool to_syslog = ! (prio & UC_LOG_STDERR_ONLY);
  char buf[1024], *msg = buf;
  int e = errno, n;
  va_list ap;

  prio &= 7;
  if (prio == LOG_DEBUG && ! log_verbose)
    return;
  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof (buf), fmt, ap);
  va_end (ap);
  if (n >= (int) sizeof (buf))
    {
      va_start (ap, fmt);
      if (vasprintf (&msg, fmt, ap) < 0)
        msg = buf; /* truncated */
      va_end (ap);
    }
  if (! to_syslog)
    {
      char line[1200];
      int l = snprintf (line, sizeof (line), "%s: %s: %s\n", log_prog, names[prio], msg);

      if (l > 0 && (size_t) l < sizeof (line))
        {
          if (notes_len + l > sizeof (notes))
            notes_flush ();
          memcpy (notes + notes_len, line, l);
          notes_len += l;
          goto out;
        }
    }
  notes_flush ();
  /* one write per line (stderr is unbuffered) */
  fprintf (stderr, "%s: %s: %s\n", log_prog, names[prio], msg);
  if (to_syslog && log_syslog < 0)
    {
      log_syslog = syslog_reachable ();
      if (log_syslog)
        openlog (log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
  if (to_syslog && log_syslog)
    syslog (prio, "%s", msg);
out:
  if (msg != buf)
    free (msg);
  errno = e;
}

void
uc_log_error (uc_error_t *err)
{
  if (err && *err)
    uc_log (LOG_ERR, "%s", (*err)->msg);
  uc_error_release (err);
}
