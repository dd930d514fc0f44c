/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which container a hook run is about: the OCI container state (JSON on
 * stdin, see the OCI runtime spec "State") or the environment of a CRIU
 * action script (CRTOOLS_*). */
#ifndef UDPCORK_STATE_H
#define UDPCORK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

#define UC_STATE_MAX_JSON (4u << 20) /* bytes of OCI state accepted */
#define UC_PID_MAX 4194304           /* PID_MAX_LIMIT of Linux */

enum uc_action
{
  UC_ACTION_OCI = 0,
  UC_ACTION_PRE_DUMP,
  UC_ACTION_NETWORK_LOCK,
  UC_ACTION_POST_DUMP,
  UC_ACTION_NETWORK_UNLOCK,
  UC_ACTION_PRE_RESTORE,
  UC_ACTION_SETUP_NAMESPACES,
  UC_ACTION_POST_SETUP_NAMESPACES,
  UC_ACTION_POST_RESTORE,
  UC_ACTION_PRE_RESUME,
  UC_ACTION_POST_RESUME,
  UC_ACTION_OTHER
};

/* OCI annotations: the state's, or a bundle's config.json's. */
struct uc_annotations
{
  size_t n;
  char **keys;
  char **values;
};

struct uc_state
{
  bool from_criu;                           /* true: CRTOOLS_* env */
  enum uc_action action;                    /* UC_ACTION_OCI when from JSON */
  char *action_name;                        /* CRTOOLS_SCRIPT_ACTION verbatim, or NULL */
  char *oci_version, *id, *status, *bundle; /* JSON; NULL when absent/from env */
  pid_t pid;                                /* container init (host pid); 0 if unknown (e.g. pre-restore) */
  char *image_dir;                          /* CRTOOLS_IMAGE_DIR, or NULL */
  struct uc_annotations ann;
};

/* Parse LEN bytes of OCI state JSON.  On failure *ST is left zeroed. */
int uc_state_parse_json (const char *buf, size_t len, struct uc_state *st, uc_error_t *err);
/* Read FD to EOF (at most UC_STATE_MAX_JSON bytes), then parse. */
int uc_state_read_json (int fd, struct uc_state *st, uc_error_t *err);
/* From CRIU action-script variables: CRTOOLS_SCRIPT_ACTION (required),
 * CRTOOLS_INIT_PID (optional; empty = 0), CRTOOLS_IMAGE_DIR (optional). */
int uc_state_from_env (struct uc_state *st, uc_error_t *err);
/* Value of annotation KEY, or NULL. */
const char *uc_annotation (const struct uc_annotations *a, const char *key);
void uc_annotations_free (struct uc_annotations *a);
/* "network-lock" etc.; "oci" for UC_ACTION_OCI, "other" for UC_ACTION_OTHER. */
const char *uc_action_name (enum uc_action a);
/* Free what *ST owns and zero it; safe on a zeroed struct. */
void uc_state_free (struct uc_state *st);

/* Read the "annotations" of an OCI config.json into A (empty before). */
int uc_annotations_from_config (struct uc_annotations *a, const char *config, uc_error_t *err);

/* Parse the JSON file PATH (at most MAX bytes): a yajl tree to free with
 * yajl_tree_free, or NULL with *ERR. */
#include <yajl/yajl_tree.h>
yajl_val uc_json_parse_file (const char *path, size_t max, uc_error_t *err);

/* The opt-out annotation: a container that has it set to "true" is left
 * alone by both hooks. */
#define UC_ANNOTATION_DISABLE "io.github.udpcork.disable"
bool uc_annotations_opt_out (const struct uc_annotations *a);

/* OCI mode: the image directory, when --image-dir is not given. */
#define UC_ANNOTATION_IMAGE_DIR "io.github.udpcork.image-dir"

#endif
