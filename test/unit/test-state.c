// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests of src/state.c: OCI state JSON and CRIU action-script env. */
#include "state.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

static int
parse (const char *json, struct uc_state *st, uc_error_t *err)
{
  return uc_state_parse_json (json, strlen (json), st, err);
}

/* JSON must be rejected with a message containing WANT. */
static void
bad (const char *json, const char *want, const char *desc)
{
  struct uc_state st;
  uc_error_t err = NULL;
  int ret = parse (json, &st, &err);

  tap_check_error (ret, &err, want, desc);
  CHECK (st.id == NULL && st.pid == 0, "%s: state left empty", desc);
  uc_state_free (&st);
}

#define PID_RANGE "\"pid\" must be an integer between 1 and 4194304"
#define STATE(rest) "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"running\"" rest "}"

static void
test_good (void)
{
  struct uc_state st;
  uc_error_t err = NULL;
  int ret;

  ret = parse ("{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"running\",\"pid\":1234,"
               "\"bundle\":\"/run/b\",\"annotations\":{\"a\":\"1\",\"io.udpcork/x\":\"y\"},"
               "\"unknown\":{\"nested\":[1,2,{\"x\":null}]}}",
               &st, &err);
  tap_check_ok (ret, &err, "full state parses");
  CHECK (! st.from_criu && st.action == UC_ACTION_OCI && st.action_name == NULL, "full: OCI origin");
  CHECK (st.oci_version && strcmp (st.oci_version, "1.0.2") == 0, "full: ociVersion");
  CHECK (st.id && strcmp (st.id, "c1") == 0, "full: id");
  CHECK (st.status && strcmp (st.status, "running") == 0, "full: status");
  CHECK (st.pid == 1234, "full: pid");
  CHECK (st.bundle && strcmp (st.bundle, "/run/b") == 0, "full: bundle");
  CHECK (st.image_dir == NULL, "full: no image dir");
  CHECK (st.ann.n == 2, "full: 2 annotations");
  CHECK (uc_annotation (&st.ann, "io.udpcork/x") && strcmp (uc_annotation (&st.ann, "io.udpcork/x"), "y") == 0,
         "full: annotation lookup");
  CHECK (uc_annotation (&st.ann, "missing") == NULL, "full: missing annotation is NULL");
  uc_state_free (&st);
  CHECK (st.id == NULL && st.ann.n == 0, "uc_state_free zeroes");

  ret = parse (STATE (",\"pid\":4194304"), &st, &err);
  tap_check_ok (ret, &err, "no annotations, no bundle");
  CHECK (st.pid == 4194304 && st.bundle == NULL && st.ann.n == 0, "pid 4194304 accepted, bundle NULL");
  uc_state_free (&st);

  ret = parse (" \n{\"ociVersion\":\"1.0.0\",\"id\":\"x\",\"status\":\"stopped\",\"annotations\":{}}\n", &st, &err);
  tap_check_ok (ret, &err, "stopped without pid");
  CHECK (st.pid == 0 && st.ann.n == 0, "stopped: pid 0, empty annotations");
  uc_state_free (&st);

  ret = parse ("{\"ociVersion\":\"1.0.0\",\"id\":\"x\",\"status\":\"creating\"}", &st, &err);
  tap_check_ok (ret, &err, "creating without pid");
  uc_state_free (&st);

  ret = parse ("{\"ociVersion\":\"1.0.0\",\"id\":\"x\",\"status\":\"stopped\",\"pid\":0}", &st, &err);
  tap_check_ok (ret, &err, "stopped with pid 0 (no process)");
  CHECK (st.pid == 0, "stopped with pid 0: pid 0");
  uc_state_free (&st);

  /* Not NUL-terminated input: only LEN bytes count. */
  {
    const char *s = STATE (",\"pid\":7") "garbage";
    ret = uc_state_parse_json (s, strlen (s) - strlen ("garbage"), &st, &err);
    tap_check_ok (ret, &err, "only LEN bytes are parsed");
    CHECK (st.pid == 7, "LEN-bounded: pid 7");
    uc_state_free (&st);
  }
}

static void
test_bad_json (void)
{
  bad ("", "no OCI state on stdin (empty input)", "empty input");
  bad (" \n\t", "no OCI state on stdin (empty input)", "blank input");
  bad ("{\"ociVersion\":", "invalid OCI state JSON: ", "truncated JSON");
  bad ("{ociVersion: 1}", "invalid OCI state JSON: ", "unquoted key");
  bad ("{\"id\":\"a\"} {}", "invalid OCI state JSON: ", "two documents");
  bad ("[1,2]", "invalid OCI state: not a JSON object", "array");
  bad ("\"str\"", "invalid OCI state: not a JSON object", "string");
  bad ("null", "invalid OCI state: not a JSON object", "null");

  {
    struct uc_state st;
    uc_error_t err = NULL;
    int ret = uc_state_parse_json ("{\"id\":\0}", 9, &st, &err);
    tap_check_error (ret, &err, "NUL byte", "embedded NUL");
  }
}

static void
test_bad_fields (void)
{
  bad ("{\"id\":\"c1\",\"status\":\"running\",\"pid\":1}", "missing \"ociVersion\"", "missing ociVersion");
  bad ("{\"ociVersion\":\"1\",\"status\":\"running\",\"pid\":1}", "missing \"id\"", "missing id");
  bad ("{\"ociVersion\":\"1\",\"id\":\"\",\"status\":\"running\",\"pid\":1}", "\"id\" must not be empty", "empty id");
  bad ("{\"ociVersion\":\"1\",\"id\":\"c\",\"pid\":1}", "missing \"status\"", "missing status");
  bad ("{\"ociVersion\":1,\"id\":\"c\",\"status\":\"running\",\"pid\":1}", "\"ociVersion\" must be a string",
       "ociVersion number");
  bad ("{\"ociVersion\":\"1\",\"id\":5,\"status\":\"running\",\"pid\":1}", "\"id\" must be a string", "id number");
  bad ("{\"ociVersion\":\"1\",\"id\":\"c\",\"status\":null,\"pid\":1}", "\"status\" must be a string", "status null");
  bad (STATE (",\"pid\":1,\"bundle\":3"), "\"bundle\" must be a string", "bundle number");
  bad (STATE (",\"pid\":1,\"annotations\":[]"), "\"annotations\" must be an object", "annotations array");
  bad (STATE (",\"pid\":1,\"annotations\":{\"a\":\"b\",\"k\":1}"), "annotation \"k\" must be a string",
       "annotation value number");
}

static void
test_bad_pid (void)
{
  bad (STATE (""), "missing \"pid\"", "running without pid");
  bad (STATE (",\"pid\":0"), PID_RANGE, "pid 0");
  bad (STATE (",\"pid\":-1"), PID_RANGE, "pid -1");
  bad (STATE (",\"pid\":1.5"), PID_RANGE, "pid 1.5");
  bad (STATE (",\"pid\":1.0"), PID_RANGE, "pid 1.0");
  bad (STATE (",\"pid\":1e3"), PID_RANGE, "pid 1e3");
  bad (STATE (",\"pid\":4194305"), PID_RANGE, "pid 4194305");
  bad (STATE (",\"pid\":99999999999999999999999"), PID_RANGE, "pid overflowing 64 bits");
  bad (STATE (",\"pid\":\"123\""), PID_RANGE, "pid string");
  bad (STATE (",\"pid\":true"), PID_RANGE, "pid boolean");
  bad (STATE (",\"pid\":null"), PID_RANGE, "pid null");
  bad ("{\"ociVersion\":\"1\",\"id\":\"c\",\"status\":\"stopped\",\"pid\":-1}", PID_RANGE, "stopped, pid -1");
}

/* A temporary file holding LEN bytes: JSON followed by spaces. */
static int
json_file (const char *json, size_t len)
{
  FILE *f = tmpfile ();
  size_t i;

  fputs (json, f);
  for (i = strlen (json); i < len; i++)
    fputc (' ', f);
  fflush (f);
  rewind (f);
  return dup (fileno (f)); /* the FILE leaks until exit: fine in a test */
}

static void
test_read_fd (void)
{
  struct uc_state st;
  uc_error_t err = NULL;
  int fd, ret;

  fd = json_file (STATE (",\"pid\":99"), UC_STATE_MAX_JSON);
  ret = uc_state_read_json (fd, &st, &err);
  tap_check_ok (ret, &err, "read_json: exactly 4 MiB accepted");
  CHECK (st.pid == 99, "read_json: pid 99");
  uc_state_free (&st);
  close (fd);

  fd = json_file (STATE (",\"pid\":99"), UC_STATE_MAX_JSON + 1);
  ret = uc_state_read_json (fd, &st, &err);
  tap_check_error (ret, &err, "larger than 4194304 bytes", "read_json: 4 MiB + 1 refused");
  close (fd);

  fd = json_file ("", 0);
  ret = uc_state_read_json (fd, &st, &err);
  tap_check_error (ret, &err, "no OCI state on stdin (empty input)", "read_json: empty");
  close (fd);

  ret = uc_state_read_json (-1, &st, &err);
  tap_check_error (ret, &err, "read OCI state", "read_json: bad fd");
}

static void
set_env (const char *action, const char *pid, const char *dir)
{
  const char *names[] = { "CRTOOLS_SCRIPT_ACTION", "CRTOOLS_INIT_PID", "CRTOOLS_IMAGE_DIR" };
  const char *values[] = { action, pid, dir };
  int i;

  for (i = 0; i < 3; i++)
    if (values[i])
      setenv (names[i], values[i], 1);
    else
      unsetenv (names[i]);
}

static void
bad_env (const char *action, const char *pid, const char *want, const char *desc)
{
  struct uc_state st;
  uc_error_t err = NULL;
  int ret;

  set_env (action, pid, NULL);
  ret = uc_state_from_env (&st, &err);
  tap_check_error (ret, &err, want, desc);
  CHECK (st.action_name == NULL, "%s: state left empty", desc);
}

static void
test_env (void)
{
  struct uc_state st;
  uc_error_t err = NULL;
  int ret;

  set_env ("network-lock", "42", "/var/lib/ckpt");
  ret = uc_state_from_env (&st, &err);
  tap_check_ok (ret, &err, "env: network-lock");
  CHECK (st.from_criu && st.action == UC_ACTION_NETWORK_LOCK, "env: action network-lock");
  CHECK (st.action_name && strcmp (st.action_name, "network-lock") == 0, "env: action_name verbatim");
  CHECK (st.pid == 42, "env: pid 42");
  CHECK (st.image_dir && strcmp (st.image_dir, "/var/lib/ckpt") == 0, "env: image dir");
  CHECK (st.id == NULL && st.oci_version == NULL && st.ann.n == 0, "env: no JSON fields");
  uc_state_free (&st);

  set_env ("pre-restore", "", NULL);
  ret = uc_state_from_env (&st, &err);
  tap_check_ok (ret, &err, "env: pre-restore, empty pid");
  CHECK (st.action == UC_ACTION_PRE_RESTORE && st.pid == 0 && st.image_dir == NULL, "env: pre-restore fields");
  uc_state_free (&st);

  set_env ("post-resume", NULL, NULL);
  ret = uc_state_from_env (&st, &err);
  tap_check_ok (ret, &err, "env: post-resume, no pid");
  CHECK (st.action == UC_ACTION_POST_RESUME && st.pid == 0, "env: post-resume fields");
  uc_state_free (&st);

  set_env ("orphan-pts-master", "7", NULL);
  ret = uc_state_from_env (&st, &err);
  tap_check_ok (ret, &err, "env: unknown action");
  CHECK (st.action == UC_ACTION_OTHER && strcmp (st.action_name, "orphan-pts-master") == 0,
         "env: unknown action is OTHER, name kept");
  uc_state_free (&st);

  bad_env (NULL, "1", "CRTOOLS_SCRIPT_ACTION is not set", "env: no action");
  bad_env ("", "1", "CRTOOLS_SCRIPT_ACTION is not set", "env: empty action");
  bad_env ("post-dump", "abc", "invalid CRTOOLS_INIT_PID `abc`", "env: pid abc");
  bad_env ("post-dump", "-5", "invalid CRTOOLS_INIT_PID", "env: pid -5");
  bad_env ("post-dump", "0", "invalid CRTOOLS_INIT_PID", "env: pid 0");
  bad_env ("post-dump", "12a", "invalid CRTOOLS_INIT_PID", "env: pid 12a");
  bad_env ("post-dump", " 12", "invalid CRTOOLS_INIT_PID", "env: pid with space");
  bad_env ("post-dump", "99999999999999999999", "invalid CRTOOLS_INIT_PID", "env: pid overflow");
}

static void
test_action_names (void)
{
  static const char *const names[] = { "oci",
                                       "pre-dump",
                                       "network-lock",
                                       "post-dump",
                                       "network-unlock",
                                       "pre-restore",
                                       "setup-namespaces",
                                       "post-setup-namespaces",
                                       "post-restore",
                                       "pre-resume",
                                       "post-resume",
                                       "other" };
  bool ok = true;
  int i;

  for (i = UC_ACTION_OCI; i <= UC_ACTION_OTHER; i++)
    ok = ok && strcmp (uc_action_name ((enum uc_action) i), names[i]) == 0;
  CHECK (ok, "uc_action_name for every action");
  CHECK (strcmp (uc_action_name ((enum uc_action) 99), "other") == 0, "uc_action_name out of range");
}

int
main (void)
{
  test_good ();
  test_bad_json ();
  test_bad_fields ();
  test_bad_pid ();
  test_read_fd ();
  test_env ();
  test_action_names ();
  return tap_done ();
}
