// SPDX-License-Identifier: GPL-2.0-or-later
/* Shared main of udpcork-prestop and udpcork-poststart. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hooks.h"
#include "imgdir.h"
#include "log.h"
#include "runtime.h"

static void
usage (FILE *out, const char *prog, const char *what)
{
  fprintf (out,
           "Usage: %s [OPTION]...\n"
           "%s\n\n"
           "Run by CRIU as an action script (CRTOOLS_SCRIPT_ACTION, CRTOOLS_INIT_PID and\n"
           "CRTOOLS_IMAGE_DIR set), or as an OCI hook with the container state JSON on\n"
           "standard input (then --image-dir is required).\n\n"
           "  -d, --image-dir DIR  checkpoint image directory (OCI mode; default: the\n"
           "                       annotation " UC_ANNOTATION_IMAGE_DIR ",\n"
           "                       a directory under " UC_IMAGE_ROOT ")\n"
           "  -v, --verbose        debug logging\n"
           "  -h, --help           show this help\n"
           "  -V, --version        show the version\n\n"
           "Logs go to standard error and to syslog. See %s(8).\n",
           prog, what, prog);
}

bool
uc_hook_opted_out (struct uc_state *st)
{
  uc_error_t err = NULL;

  if (st->from_criu && st->pid > 0 && uc_runtime_lookup (st, &err) < 0)
    {
      uc_warn ("cannot read the container's annotations (%s): assuming no opt-out", err->msg);
      uc_error_release (&err);
    }
  if (! uc_state_opted_out (st))
    return false;
  uc_info ("container %s (pid %d) opted out with %s=%s: left alone", st->id ? st->id : "?", st->pid,
           UC_ANNOTATION_DISABLE, uc_state_annotation (st, UC_ANNOTATION_DISABLE));
  return true;
}

int
uc_open_image_dir (const struct uc_state *st, const struct uc_opts *o, uc_error_t *err)
{
  const char *ann;
  int fd;

  if (st->from_criu)
    {
      /* CRIU's /proc/PID/fd/N link to the directory it opened */
      if (st->image_dir == NULL || *st->image_dir == '\0')
        return uc_make_error (err, 0, "CRTOOLS_IMAGE_DIR is not set");
      fd = open (st->image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return uc_make_error (err, errno, "open image directory `%s`", st->image_dir);
      return fd;
    }
  if (o->image_dir)
    return uc_imgdir_open_given (o->image_dir, err);
  ann = uc_state_annotation (st, UC_ANNOTATION_IMAGE_DIR);
  if (ann == NULL || *ann == '\0')
    return uc_make_error (err, 0, "no image directory: pass --image-dir DIR (or set the annotation "
                          UC_ANNOTATION_IMAGE_DIR " to a directory under " UC_IMAGE_ROOT ")");
  return uc_imgdir_open_beneath (UC_IMAGE_ROOT, ann, err);
}

int
uc_hook_begin (struct uc_state *st, const struct uc_opts *o, uc_error_t *err)
{
  if (uc_check_oci_pid (st, err) < 0)
    return -1;
  if (uc_hook_opted_out (st))
    return UC_HOOK_SKIP;
  return uc_open_image_dir (st, o, err);
}

int
uc_check_oci_pid (struct uc_state *st, uc_error_t *err)
{
  char path[64];
  struct stat self, ct;
  char *id = st->id ? strdup (st->id) : NULL;
  int ret = 0;

  if (st->from_criu || st->pid <= 0)
    {
      free (id);
      return 0;
    }
  snprintf (path, sizeof (path), "/proc/%d/ns/pid", st->pid);
  if (stat (path, &ct) < 0)
    ret = uc_make_error (err, errno, "container %s: pid %d", st->id ? st->id : "?", st->pid);
  else if (stat ("/proc/self/ns/pid", &self) == 0 && self.st_ino == ct.st_ino && self.st_dev == ct.st_dev)
    ret = uc_make_error (err, 0, "pid %d of container %s is not in a container (it shares udpcork's pid namespace): "
                         "refusing", st->pid, st->id ? st->id : "?");
  else if (id)
    {
      /* The runtime's own record must agree that this pid is this container. */
      uc_error_t ignore = NULL;
      if (uc_runtime_lookup (st, &ignore) > 0 && strcmp (st->id, id) != 0)
        ret = uc_make_error (err, 0, "pid %d belongs to container %s, not to %s: refusing", st->pid, st->id, id);
      uc_error_release (&ignore);
    }
  free (id);
  return ret;
}

int
uc_hook_main (int argc, char **argv, const char *prog, const char *what,
              int (*run) (struct uc_state *, const struct uc_opts *, uc_error_t *))
{
  static const struct option longopts[] = {
    { "image-dir", required_argument, NULL, 'd' }, { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },            { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct uc_opts o = { 0 };
  struct uc_state st = { 0 };
  uc_error_t err = NULL;
  int c, ret;

  while ((c = getopt_long (argc, argv, "d:vhV", longopts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        o.image_dir = optarg;
        break;
      case 'v':
        o.verbose = 1;
        break;
      case 'h':
        usage (stdout, prog, what);
        return 0;
      case 'V':
        printf ("%s %s\n", prog, UDPCORK_VERSION);
        return 0;
      default:
        usage (stderr, prog, what);
        return 2;
      }
  if (optind != argc)
    {
      fprintf (stderr, "%s: unexpected argument `%s`\n", prog, argv[optind]);
      return 2;
    }
  uc_log_init (prog, o.verbose);

  if (getenv ("CRTOOLS_SCRIPT_ACTION"))
    ret = uc_state_from_env (&st, &err);
  else
    ret = uc_state_read_json (STDIN_FILENO, &st, &err);
  if (ret == 0)
    {
      uc_debug ("%s: container pid %d, image dir %s", uc_action_name (st.action), st.pid,
                st.image_dir ? st.image_dir : o.image_dir ? o.image_dir : "-");
      ret = run (&st, &o, &err);
    }
  if (ret < 0)
    {
      if (st.from_criu)
        uc_error_wrap (&err, "%s", uc_action_name (st.action));
      uc_log_error (&err);
    }
  uc_state_free (&st);
  return ret < 0 ? 1 : 0;
}
