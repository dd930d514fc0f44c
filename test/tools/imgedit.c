// SPDX-License-Identifier: GPL-2.0-or-later
/* imgedit: craft hostile images for the trust-boundary tests.
 *
 *   imgedit [--log] FILE EDIT...      edit FILE in place (framing only is
 *                                     checked on reading: the point is to
 *                                     write what udpcork must refuse)
 *   imgedit --to-log IMAGE LOG        write IMAGE's pending datagrams as a
 *                                     capture log (dump id from the head)
 *
 * EDIT is KIND.INDEX.FIELD=VALUE (KIND dgram, rxsock, rxdgram; INDEX from
 * 0) or head.FIELD=VALUE, FIELD a field of src/udpcork.proto. VALUE:
 * a number (decimal or 0x hex), an IPv4/IPv6 address (for bytes fields
 * named *addr*), len:N (N bytes of 'x'), hex:HEX, or text. Setting a field
 * sets its has_ flag; FIELD=- clears it. */
#include "image.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void __attribute__ ((noreturn)) die (const char *fmt, const char *a)
{
  fprintf (stderr, "imgedit: ");
  fprintf (stderr, fmt, a);
  fputc ('\n', stderr);
  exit (1);
}

static void
read_file (const char *path, uint8_t **buf, size_t *len)
{
  FILE *f = fopen (path, "rb");
  struct stat st;

  if (f == NULL || fstat (fileno (f), &st) < 0)
    die ("cannot open %s", path);
  *len = st.st_size;
  *buf = xmalloc (*len + 1);
  if (fread (*buf, 1, *len, f) != *len)
    die ("cannot read %s", path);
  fclose (f);
}

static void
set_bytes (ProtobufCBinaryData *b, const char *field, const char *v)
{
  if (strncmp (v, "len:", 4) == 0)
    {
      size_t n = strtoul (v + 4, NULL, 0);
      b->data = xmalloc (n ? n : 1);
      memset (b->data, 'x', n);
      b->len = n;
    }
  else if (strncmp (v, "hex:", 4) == 0)
    {
      size_t n = strlen (v + 4) / 2;
      b->data = xmalloc (n ? n : 1);
      for (size_t i = 0; i < n; i++)
        sscanf (v + 4 + 2 * i, "%2hhx", &b->data[i]);
      b->len = n;
    }
  else if (strstr (field, "addr"))
    {
      b->data = xmalloc (16);
      if (inet_pton (AF_INET, v, b->data) == 1)
        b->len = 4;
      else if (inet_pton (AF_INET6, v, b->data) == 1)
        b->len = 16;
      else
        die ("not an address: %s", v);
    }
  else
    {
      b->len = strlen (v);
      b->data = (uint8_t *) xstrdup (v);
    }
}

static void
edit (ProtobufCMessage *m, const char *field, const char *v)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (m->descriptor, field);
  char *p;

  if (f == NULL)
    die ("no field %s", field);
  p = (char *) m + f->offset;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
    *(protobuf_c_boolean *) ((char *) m + f->quantifier_offset) = strcmp (v, "-") != 0;
  if (strcmp (v, "-") == 0)
    return;
  switch (f->type)
    {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
      *(int32_t *) p = (int32_t) strtol (v, NULL, 0);
      break;
    case PROTOBUF_C_TYPE_UINT32:
      *(uint32_t *) p = (uint32_t) strtoul (v, NULL, 0);
      break;
    case PROTOBUF_C_TYPE_UINT64:
      *(uint64_t *) p = strtoull (v, NULL, 0);
      break;
    case PROTOBUF_C_TYPE_BOOL:
      *(protobuf_c_boolean *) p = strtol (v, NULL, 0) != 0;
      break;
    case PROTOBUF_C_TYPE_STRING:
      free (*(char **) p);
      *(char **) p = xstrdup (v);
      break;
    case PROTOBUF_C_TYPE_BYTES:
      free (((ProtobufCBinaryData *) p)->data);
      set_bytes ((ProtobufCBinaryData *) p, field, v);
      break;
    default:
      die ("field %s: type not supported", field);
    }
}

static ProtobufCMessage *
target (struct uc_image *img, const char *kind, size_t i)
{
  if (strcmp (kind, "head") == 0)
    return &img->head->base;
  if (strcmp (kind, "dgram") == 0 && i < img->n_dgrams)
    return &img->dgrams[i]->base;
  if (strcmp (kind, "rxsock") == 0 && i < img->n_rxsocks)
    return &img->rxsocks[i]->base;
  if (strcmp (kind, "rxdgram") == 0 && i < img->n_rxdgrams)
    return &img->rxdgrams[i]->base;
  die ("no such entry: %s", kind);
}

static void
write_log (const char *path, struct uc_image *img)
{
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  struct uc_image_log l;
  uc_error_t err = NULL;
  int dirfd;

  if (strcmp (slash ? slash + 1 : dir, UC_LOG_NAME) != 0)
    die ("a capture log must be named %s", UC_LOG_NAME);
  if (slash)
    *slash = '\0';
  dirfd = open (slash ? dir : ".", O_RDONLY | O_DIRECTORY);
  img->head->n_rxsocks = img->head->n_rxdgrams = 0;
  img->head->has_n_rxsocks = img->head->has_n_rxdgrams = 0;
  if (dirfd < 0 || uc_image_log_open (dirfd, img->head, &l, &err) < 0)
    die ("cannot write %s", path);
  for (size_t i = 0; i < img->n_dgrams; i++)
    if (uc_image_log_append (&l, img->dgrams[i], &err) < 0)
      die ("cannot append to %s", path);
  uc_image_log_close (&l, false);
  close (dirfd);
}

int
main (int argc, char **argv)
{
  struct uc_image img;
  uc_error_t err = NULL;
  bool log = false, to_log = false;
  uint8_t *buf;
  size_t len;
  int a = 1;

  if (argc > 1 && strcmp (argv[1], "--log") == 0)
    log = true, a++;
  else if (argc > 1 && strcmp (argv[1], "--to-log") == 0)
    to_log = true, a++;
  if (argc - a < (to_log ? 2 : 1))
    die ("usage: imgedit [--log] FILE KIND.INDEX.FIELD=VALUE... | imgedit --to-log IMAGE LOG%s", "");
  read_file (argv[a], &buf, &len);
  if (uc_image_parse_unvalidated (buf, len, log, &img, &err) < 0)
    die ("%s", err->msg);
  if (to_log)
    {
      write_log (argv[a + 1], &img);
      uc_image_free (&img);
      free (buf);
      return 0;
    }
  for (int i = a + 1; i < argc; i++)
    {
      cleanup_free char *spec = xstrdup (argv[i]);
      char *eq = strchr (spec, '='), *kind = spec, *field, *dot;
      size_t index = 0;

      if (eq == NULL)
        die ("not KIND.INDEX.FIELD=VALUE: %s", argv[i]);
      *eq = '\0';
      dot = strchr (kind, '.');
      if (dot == NULL)
        die ("not KIND.INDEX.FIELD=VALUE: %s", argv[i]);
      *dot = '\0';
      field = dot + 1;
      if (strcmp (kind, "head") != 0)
        {
          index = strtoul (field, &dot, 10);
          if (*dot != '.')
            die ("not KIND.INDEX.FIELD=VALUE: %s", argv[i]);
          field = dot + 1;
        }
      edit (target (&img, kind, index), field, eq + 1);
    }
  if (log)
    write_log (argv[a], &img);
  else
    {
      cleanup_free char *dir = xstrdup (argv[a]);
      char *slash = strrchr (dir, '/');
      int dirfd;
      if (slash)
        *slash = '\0';
      dirfd = open (slash ? dir : ".", O_RDONLY | O_DIRECTORY);
      /* uc_image_write sets the head's counts from the arrays */
      if (dirfd < 0 || uc_image_write (dirfd, slash ? slash + 1 : argv[a], &img, &err) < 0)
        die ("%s", err ? err->msg : "cannot open the directory");
      close (dirfd);
    }
  uc_image_free (&img);
  free (buf);
  return 0;
}
