// SPDX-License-Identifier: GPL-2.0-or-later
#include "state.h"
#include "util.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define BAD_STATE "invalid OCI state: "

static const char *const action_names[] = {
  [UC_ACTION_OCI] = "oci",
  [UC_ACTION_PRE_DUMP] = "pre-dump",
  [UC_ACTION_NETWORK_LOCK] = "network-lock",
  [UC_ACTION_POST_DUMP] = "post-dump",
  [UC_ACTION_NETWORK_UNLOCK] = "network-unlock",
  [UC_ACTION_PRE_RESTORE] = "pre-restore",
  [UC_ACTION_SETUP_NAMESPACES] = "setup-namespaces",
  [UC_ACTION_POST_SETUP_NAMESPACES] = "post-setup-namespaces",
  [UC_ACTION_POST_RESTORE] = "post-restore",
  [UC_ACTION_PRE_RESUME] = "pre-resume",
  [UC_ACTION_POST_RESUME] = "post-resume",
  [UC_ACTION_OTHER] = "other",
};

const char *
uc_action_name (enum uc_action a)
{
  if ((unsigned) a >= sizeof (action_names) / sizeof (action_names[0]))
    return "other";
  return action_names[a];
}

static enum uc_action
action_from_name (const char *name)
{
  unsigned i;

  for (i = UC_ACTION_PRE_DUMP; i < UC_ACTION_OTHER; i++)
    if (strcmp (name, action_names[i]) == 0)
      return (enum uc_action) i;
  return UC_ACTION_OTHER;
}

/* Strict decimal pid: digits only, 1..UC_PID_MAX. */
static int
parse_pid (const char *s, pid_t *out)
{
  long v = 0;
  const char *p;

  if (*s == '\0')
    return -1;
  for (p = s; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return -1;
      v = v * 10 + (*p - '0');
      if (v > UC_PID_MAX)
        return -1;
    }
  if (v < 1)
    return -1;
  *out = (pid_t) v;
  return 0;
}

static int
dup_string (const char *s, char **out, uc_error_t *err)
{
  *out = xstrdup (s);
  (void) err;
  return 0;
}

/* The object member KEY of OBJ (the first one if repeated), or NULL. */
static yajl_val
member (yajl_val obj, const char *key)
{
  size_t i;

  for (i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static int
get_string (yajl_val obj, const char *key, bool required, char **out, uc_error_t *err)
{
  yajl_val v = member (obj, key);

  if (v == NULL)
    {
      if (required)
        return uc_make_error (err, 0, BAD_STATE "missing \"%s\"", key);
      return 0;
    }
  if (! YAJL_IS_STRING (v))
    return uc_make_error (err, 0, BAD_STATE "\"%s\" must be a string", key);
  return dup_string (YAJL_GET_STRING (v), out, err);
}

static int
get_pid (yajl_val obj, const char *status, pid_t *out, uc_error_t *err)
{
  yajl_val v = member (obj, "pid");
  bool optional = strcmp (status, "creating") == 0 || strcmp (status, "stopped") == 0;

  if (v == NULL)
    {
      if (optional)
        return 0;
      return uc_make_error (err, 0, BAD_STATE "missing \"pid\" (required when status is \"%s\")", status);
    }
  /* Runtimes report "pid": 0 for a container without a process. */
  if (optional && YAJL_IS_NUMBER (v) && strcmp (YAJL_GET_NUMBER (v), "0") == 0)
    return 0;
  /* Check the number's text ourselves: no sign, fraction or exponent. */
  if (! YAJL_IS_NUMBER (v) || parse_pid (YAJL_GET_NUMBER (v), out) < 0)
    return uc_make_error (err, 0, BAD_STATE "\"pid\" must be an integer between 1 and %d", UC_PID_MAX);
  return 0;
}

static int
get_annotations (yajl_val obj, struct uc_annotations *a, uc_error_t *err)
{
  yajl_val v = member (obj, "annotations");
  size_t i, n;

  if (v == NULL)
    return 0;
  if (! YAJL_IS_OBJECT (v))
    return uc_make_error (err, 0, BAD_STATE "\"annotations\" must be an object");
  n = v->u.object.len;
  for (i = 0; i < n; i++)
    if (! YAJL_IS_STRING (v->u.object.values[i]))
      return uc_make_error (err, 0, BAD_STATE "annotation \"%s\" must be a string", v->u.object.keys[i]);
  if (n == 0)
    return 0;
  a->keys = xcalloc (n, sizeof (char *));
  a->values = xcalloc (n, sizeof (char *));
  for (i = 0; i < n; i++)
    {
      a->keys[i] = xstrdup (v->u.object.keys[i]);
      a->values[i] = xstrdup (YAJL_GET_STRING (v->u.object.values[i]));
    }
  a->n = n;
  return 0;
}

static int
fill_from_tree (yajl_val root, struct uc_state *st, uc_error_t *err)
{
  if (! YAJL_IS_OBJECT (root))
    return uc_make_error (err, 0, BAD_STATE "not a JSON object");
  if (get_string (root, "ociVersion", true, &st->oci_version, err) < 0
      || get_string (root, "id", true, &st->id, err) < 0 || get_string (root, "status", true, &st->status, err) < 0
      || get_string (root, "bundle", false, &st->bundle, err) < 0)
    return -1;
  if (st->id[0] == '\0')
    return uc_make_error (err, 0, BAD_STATE "\"id\" must not be empty");
  if (get_pid (root, st->status, &st->pid, err) < 0)
    return -1;
  return get_annotations (root, &st->ann, err);
}

/* First line of a yajl error message, trimmed. */
static void
first_line (char *msg)
{
  size_t n = strcspn (msg, "\r\n");

  while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\t'))
    n--;
  msg[n] = '\0';
}

static bool
all_blank (const char *buf, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    if (strchr (" \t\r\n", buf[i]) == NULL)
      return false;
  return true;
}

int
uc_state_parse_json (const char *buf, size_t len, struct uc_state *st, uc_error_t *err)
{
  char errbuf[1024] = "";
  char *text;
  yajl_val root;
  int ret;

  memset (st, 0, sizeof (*st));
  if (len == 0 || all_blank (buf, len))
    return uc_make_error (err, 0, "no OCI state on stdin (empty input)");
  if (memchr (buf, '\0', len) != NULL)
    return uc_make_error (err, 0, "invalid OCI state JSON: contains a NUL byte");
  text = xmalloc (len + 1);
  memcpy (text, buf, len);
  text[len] = '\0';
  root = yajl_tree_parse (text, errbuf, sizeof (errbuf));
  free (text);
  if (root == NULL)
    {
      first_line (errbuf);
      return uc_make_error (err, 0, "invalid OCI state JSON: %s", errbuf[0] ? errbuf : "parse error");
    }
  ret = fill_from_tree (root, st, err);
  yajl_tree_free (root);
  if (ret < 0)
    uc_state_free (st);
  return ret;
}

yajl_val
uc_json_parse_file (const char *path, size_t max, uc_error_t *err)
{
  char errbuf[512] = "";
  cleanup_free char *buf = NULL;
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  yajl_val root;
  size_t len;

  if (fd < 0)
    {
      uc_make_error (err, errno, "open `%s`", path);
      return NULL;
    }
  if (uc_read_all (fd, max, &buf, &len, err) < 0)
    {
      uc_error_wrap (err, "read `%s`", path);
      return NULL;
    }
  root = yajl_tree_parse (buf, errbuf, sizeof (errbuf));
  if (root == NULL)
    {
      first_line (errbuf);
      uc_make_error (err, 0, "`%s`: invalid JSON: %s", path, errbuf);
    }
  return root;
}

int
uc_annotations_from_config (struct uc_annotations *a, const char *config, uc_error_t *err)
{
  yajl_val root = uc_json_parse_file (config, UC_STATE_MAX_JSON, err);
  int ret;

  if (root == NULL)
    return -1;
  ret = YAJL_IS_OBJECT (root) ? get_annotations (root, a, err) : uc_make_error (err, 0, "`%s`: not an object", config);
  yajl_tree_free (root);
  if (ret < 0)
    {
      uc_annotations_free (a);
      uc_error_wrap (err, "annotations of `%s`", config);
    }
  return ret;
}

int
uc_state_read_json (int fd, struct uc_state *st, uc_error_t *err)
{
  char *buf;
  size_t len;
  int ret;

  memset (st, 0, sizeof (*st));
  if (uc_read_all (fd, UC_STATE_MAX_JSON, &buf, &len, err) < 0)
    return uc_error_wrap (err, "read OCI state");
  ret = uc_state_parse_json (buf, len, st, err);
  free (buf);
  return ret;
}

static int
env_fill (struct uc_state *st, uc_error_t *err)
{
  const char *action = getenv ("CRTOOLS_SCRIPT_ACTION");
  const char *pid = getenv ("CRTOOLS_INIT_PID");
  const char *dir = getenv ("CRTOOLS_IMAGE_DIR");

  if (action == NULL || *action == '\0')
    return uc_make_error (err, 0, "CRTOOLS_SCRIPT_ACTION is not set: not run as a CRIU action script");
  st->from_criu = true;
  st->action = action_from_name (action);
  if (dup_string (action, &st->action_name, err) < 0)
    return -1;
  if (pid != NULL && *pid != '\0' && parse_pid (pid, &st->pid) < 0)
    return uc_make_error (err, 0, "invalid CRTOOLS_INIT_PID `%s`: must be an integer between 1 and %d", pid,
                          UC_PID_MAX);
  if (dir != NULL && *dir != '\0')
    return dup_string (dir, &st->image_dir, err);
  return 0;
}

int
uc_state_from_env (struct uc_state *st, uc_error_t *err)
{
  memset (st, 0, sizeof (*st));
  if (env_fill (st, err) < 0)
    {
      uc_state_free (st);
      return -1;
    }
  return 0;
}

const char *
uc_annotation (const struct uc_annotations *a, const char *key)
{
  for (size_t i = 0; i < a->n; i++)
    if (strcmp (a->keys[i], key) == 0)
      return a->values[i];
  return NULL;
}

void
uc_annotations_free (struct uc_annotations *a)
{
  for (size_t i = 0; i < a->n; i++)
    {
      free (a->keys[i]);
      free (a->values[i]);
    }
  free (a->keys);
  free (a->values);
  memset (a, 0, sizeof (*a));
}

void
uc_state_free (struct uc_state *st)
{
  if (st == NULL)
    return;
  uc_annotations_free (&st->ann);
  free (st->action_name);
  free (st->oci_version);
  free (st->id);
  free (st->status);
  free (st->bundle);
  free (st->image_dir);
  memset (st, 0, sizeof (*st));
}

bool
uc_annotations_opt_out (const struct uc_annotations *a)
{
  const char *v = uc_annotation (a, UC_ANNOTATION_DISABLE);
  return v && (strcmp (v, "true") == 0 || strcmp (v, "1") == 0 || strcmp (v, "yes") == 0);
}
