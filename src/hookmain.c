// SPDX-License-Identifier: GPL-2.0-or-later
/* Shared main of udpcork-prestop and udpcork-poststart: options, input,
 * the container resolved once, the action, logging, exit status. */
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
#include "xalloc.h"

static void
usage (FILE *out, const struct uc_hook_def *def)
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
           def->prog, def->what, def->prog);
}

/* The image directory of this run, opened as its source deserves
 * (imgdir.h). */
static int
open_image_dir (const struct uc_state *st, const struct uc_opts *o, const struct uc_annotations *ann,
                bool *by_annotation, uc_error_t *err)
{
  const char *dir;
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
  dir = uc_annotation (ann, UC_ANNOTATION_IMAGE_DIR);
  if (dir == NULL || *dir == '\0')
    return uc_make_error (err, 0,
                          "no image directory: pass --image-dir DIR (or set the annotation " UC_ANNOTATION_IMAGE_DIR
                          " to a directory under " UC_IMAGE_ROOT ")");
  *by_annotation = true;
  return uc_imgdir_open_beneath (UC_IMAGE_ROOT, dir, err);
}

/* OCI mode: the state's pid must be a container's (another pid namespace),
 * and the one the runtime knows under the state's id. */
static int
check_oci_pid (const struct uc_hook *h, uc_error_t *err)
{
  const struct uc_state *st = h->st;
  struct stat self, ct;
  char path[64];

  snprintf (path, sizeof (path), "/proc/%d/ns/pid", st->pid);
  if (stat (path, &ct) < 0)
    return uc_make_error (err, errno, "container %s: pid %d", st->id, st->pid);
  if (stat ("/proc/self/ns/pid", &self) == 0 && self.st_ino == ct.st_ino && self.st_dev == ct.st_dev)
    return uc_make_error (err, 0,
                          "pid %d of container %s is not in a container (it shares udpcork's pid namespace): "
                          "refusing",
                          st->pid, st->id);
  if (h->rt.id && strcmp (h->rt.id, st->id) != 0)
    return uc_make_error (err, 0, "pid %d belongs to container %s, not to %s: refusing", st->pid, h->rt.id, st->id);
  return 0;
}

#define UC_HOOK_SKIP 1

/* Everything about the container, once: 0, UC_HOOK_SKIP (opted out), or
 * -1 with *ERR. */
static int
resolve (const struct uc_state *st, const struct uc_opts *o, struct uc_hook *h, uc_error_t *err)
{
  uc_error_t e = NULL;

  memset (h, 0, sizeof (*h));
  h->st = st;
  h->action = st->action;
  h->pid = st->pid;
  h->dirfd = -1;
  h->id = st->id;
  if (st->pid > 0 && uc_runtime_lookup (st->pid, &h->rt, &e) < 0)
    {
      uc_warn ("cannot read the runtime's record of container pid %d (%s): no annotations from it", st->pid, e->msg);
      uc_error_release (&e);
    }
  if (h->id == NULL)
    h->id = h->rt.id;
  h->ann = st->ann.n ? &st->ann : &h->rt.ann;
  if (! st->from_criu && st->pid > 0 && check_oci_pid (h, err) < 0)
    return -1;
  if (uc_annotations_opt_out (h->ann))
    {
      uc_info ("container %s (pid %d) opted out with %s=%s: left alone", h->id ? h->id : "?", h->pid,
               UC_ANNOTATION_DISABLE, uc_annotation (h->ann, UC_ANNOTATION_DISABLE));
      return UC_HOOK_SKIP;
    }
  h->dirfd = open_image_dir (st, o, h->ann, &h->dir_by_annotation, err);
  if (h->dirfd < 0)
    return -1;
  if (st->action == UC_ACTION_OCI)
    snprintf (h->dump_id, sizeof (h->dump_id), "oci-%d-%llu", st->pid, uc_proc_start_time (st->pid));
  else
    uc_dump_id (st->image_dir, h->dump_id);
  return 0;
}

int
uc_hook_image_is_ours (const struct uc_hook *h, const struct uc_image *img, uc_error_t *err)
{
  const char *owner = img->head ? img->head->container_id : NULL;

  if (! h->dir_by_annotation || (owner && h->id && strcmp (owner, h->id) == 0))
    return 0;
  return uc_make_error (err, 0,
                        "the image directory named by the annotation %s holds the image of container %s, not of %s: "
                        "refusing (an annotation names only its own container's directory; root can restore an "
                        "image into another container with --image-dir)",
                        UC_ANNOTATION_IMAGE_DIR, owner && *owner ? owner : "(unknown)", h->id ? h->id : "?");
}

static void
release (struct uc_hook *h)
{
  uc_runtime_rec_free (&h->rt);
  if (h->dirfd >= 0)
    close (h->dirfd);
  h->dirfd = -1;
}

int
uc_hook_main (int argc, char **argv, const struct uc_hook_def *def)
{
  static const struct option longopts[] = {
    { "image-dir", required_argument, NULL, 'd' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct uc_opts o = { 0 };
  struct uc_state st = { 0 };
  struct uc_hook h = { .dirfd = -1 };
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
        usage (stdout, def);
        return 0;
      case 'V':
        printf ("%s %s\n", def->prog, UDPCORK_VERSION);
        return 0;
      default:
        usage (stderr, def);
        return 2;
      }
  if (optind != argc)
    {
      fprintf (stderr, "%s: unexpected argument `%s`\n", def->prog, argv[optind]);
      return 2;
    }
  uc_log_init (def->prog, o.verbose);

  if (getenv ("CRTOOLS_SCRIPT_ACTION"))
    ret = uc_state_from_env (&st, &err);
  else
    ret = uc_state_read_json (STDIN_FILENO, &st, &err);
  if (ret == 0 && def->acts_on (st.action))
    {
      uc_debug ("%s: container pid %d, image dir %s", uc_action_name (st.action), st.pid,
                st.image_dir  ? st.image_dir
                : o.image_dir ? o.image_dir
                              : "-");
      ret = resolve (&st, &o, &h, &err);
      if (ret == 0)
        ret = def->run (&h, &err);
      else if (ret == UC_HOOK_SKIP)
        ret = 0;
    }
  if (ret < 0)
    {
      if (st.from_criu)
        uc_error_wrap (&err, "%s", uc_action_name (st.action));
      uc_log_error (&err);
    }
  release (&h);
  uc_state_free (&st);
  return ret < 0 ? 1 : 0;
}
