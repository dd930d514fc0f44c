// SPDX-License-Identifier: GPL-2.0-or-later
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "xalloc.h"

#define UC_RUNTIME_MAX_JSON (1u << 20)

static yajl_val
get (yajl_val v, const char *key)
{
  const char *path[] = { key, NULL };
  return v ? yajl_tree_get (v, path, yajl_t_any) : NULL;
}

/* crun: {"pid": N, "bundle": "..."}; runc: {"init_process_pid": N,
 * "config": {"labels": ["bundle=...", ...]}}. Returns the bundle if the
 * record is about PID. */
static const char *
record_bundle (yajl_val root, pid_t pid)
{
  yajl_val p = get (root, "pid"), labels;

  if (p == NULL)
    p = get (root, "init_process_pid");
  if (! YAJL_IS_INTEGER (p) || YAJL_GET_INTEGER (p) != pid)
    return NULL;
  if (YAJL_IS_STRING (get (root, "bundle")))
    return YAJL_GET_STRING (get (root, "bundle"));
  labels = get (get (root, "config"), "labels");
  if (YAJL_IS_ARRAY (labels))
    for (size_t i = 0; i < labels->u.array.len; i++)
      {
        const char *l = YAJL_GET_STRING (labels->u.array.values[i]);
        if (l && strncmp (l, "bundle=", 7) == 0)
          return l + 7;
      }
  return NULL;
}

static int
scan_root (const char *root, pid_t pid, struct uc_runtime_rec *out, uc_error_t *err)
{
  static const char *const files[] = { "status", "state.json" };
  struct dirent *de;
  int found = 0;
  DIR *d = opendir (root);

  if (d == NULL)
    return 0;
  while (found == 0 && (de = readdir (d)))
    for (size_t f = 0; f < 2 && found == 0 && de->d_name[0] != '.'; f++)
      {
        char path[4096];
        const char *bundle;
        yajl_val rec;

        snprintf (path, sizeof (path), "%s/%s/%s", root, de->d_name, files[f]);
        rec = uc_json_parse_file (path, UC_RUNTIME_MAX_JSON, NULL); /* not a record, or another container's */
        bundle = record_bundle (rec, pid);
        if (bundle)
          {
            found = 1;
            out->root = xstrdup (root);
            out->id = xstrdup (de->d_name);
            out->bundle = xstrdup (bundle);
            snprintf (path, sizeof (path), "%s/config.json", bundle);
            if (uc_annotations_from_config (&out->ann, path, err) < 0)
              found = -1;
            else
              uc_debug ("container pid %d is `%s` (bundle %s, %s)", pid, out->id, out->bundle, root);
          }
        if (rec)
          yajl_tree_free (rec);
      }
  closedir (d);
  return found;
}

/* ROOT, or for ROOT/ *, each directory in it. */
static int
scan (const char *root, pid_t pid, struct uc_runtime_rec *out, uc_error_t *err)
{
  size_t n = strlen (root);
  cleanup_free char *parent = NULL;
  struct dirent *de;
  int found = 0;
  DIR *d;

  if (n < 2 || strcmp (root + n - 2, "/*") != 0)
    return scan_root (root, pid, out, err);
  parent = xstrdup (root);
  parent[n - 2] = '\0';
  d = opendir (parent);
  if (d == NULL)
    return 0;
  while (found == 0 && (de = readdir (d)))
    if (de->d_name[0] != '.' && de->d_type == DT_DIR)
      {
        cleanup_free char *sub = NULL;
        if (asprintf (&sub, "%s/%s", parent, de->d_name) < 0)
          abort ();
        found = scan_root (sub, pid, out, err);
      }
  closedir (d);
  return found;
}

int
uc_runtime_lookup (pid_t pid, struct uc_runtime_rec *rec, uc_error_t *err)
{
  const char *env = getenv ("UDPCORK_RUNTIME_ROOTS");
  cleanup_free char *roots = xstrdup (env && *env ? env : UC_RUNTIME_ROOTS);
  char *save = NULL;
  int found = 0;

  memset (rec, 0, sizeof (*rec));
  if (pid > 0)
    for (char *r = strtok_r (roots, ":", &save); r && found == 0; r = strtok_r (NULL, ":", &save))
      found = scan (r, pid, rec, err);
  if (found < 0)
    uc_runtime_rec_free (rec);
  return found;
}

void
uc_runtime_rec_free (struct uc_runtime_rec *rec)
{
  free (rec->root);
  free (rec->id);
  free (rec->bundle);
  uc_annotations_free (&rec->ann);
  memset (rec, 0, sizeof (*rec));
}
