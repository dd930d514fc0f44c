// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading images and capture logs: a mapped file (or bytes in memory)
 * walked entry by entry, framing checked, entries unpacked (datagram
 * payloads left in the mapping), then validated (validate.h). Also what
 * frees a read image and drops the pages of payloads already used. */
#include "image.h"
#include "fileio.h"
#include "pbwire.h"
#include "validate.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint32_t
get_u32le (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

struct cursor
{
  const uint8_t *buf;
  size_t len, off;
  bool mapped;     /* BUF is a mapping of ours: pages already read go */
  size_t released; /* bytes already given back to the kernel */
};

/* A mapped image: the pages of the entries already unpacked are dropped as
 * the reader goes, so that the payloads are not held twice. */
static void
cursor_release (struct cursor *c)
{
  size_t page = (size_t) sysconf (_SC_PAGESIZE), upto = c->off & ~(page - 1);

  if (c->mapped && upto > c->released)
    {
      madvise ((void *) (c->buf + c->released), upto - c->released, MADV_DONTNEED);
      c->released = upto;
    }
}

/* Next entry (named NAME in messages): its bytes in *DATA, *SIZE. */
static int
next_entry (struct cursor *c, const char *name, const uint8_t **data, size_t *size, uc_error_t *err)
{
  size_t start = c->off, left = c->len - c->off;
  uint32_t s;

  if (left == 0)
    return uc_make_error (err, 0, "truncated at byte offset %zu: %s is missing", start, name);
  if (left < 4)
    return uc_make_error (err, 0, "truncated at byte offset %zu: size of %s needs 4 bytes, %zu left", start, name,
                          left);
  s = get_u32le (c->buf + start);
  if (s == 0 || s > UC_IMG_MAX_ENTRY)
    return uc_make_error (err, 0, "%s at byte offset %zu has invalid size %" PRIu32 " (must be 1..%u)", name, start, s,
                          UC_IMG_MAX_ENTRY);
  if (left - 4 < s)
    return uc_make_error (err, 0, "truncated at byte offset %zu: %s needs %" PRIu32 " bytes, %zu left", start + 4, name,
                          s, left - 4);
  *data = c->buf + start + 4;
  *size = s;
  c->off = start + 4 + s;
  return 0;
}

static int
check_frame (struct cursor *c, uc_error_t *err)
{
  uint32_t magic, version;

  if (c->len < 4)
    return uc_make_error (err, 0, "not a udpcork image: truncated at byte offset %zu: magic needs 4 bytes", c->len);
  magic = get_u32le (c->buf);
  if (magic != UC_IMG_MAGIC)
    return uc_make_error (err, 0, "not a udpcork image (magic 0x%08" PRIx32 ", expected 0x%08x)", magic, UC_IMG_MAGIC);
  if (c->len < 8)
    return uc_make_error (err, 0, "truncated at byte offset %zu: version needs 4 bytes", c->len);
  version = get_u32le (c->buf + 4);
  if (version > UC_IMG_VERSION)
    return uc_make_error (err, 0, "image version %" PRIu32 " is newer than supported %u", version, UC_IMG_VERSION);
  if (version != UC_IMG_VERSION)
    return uc_make_error (err, 0, "unsupported image version %" PRIu32, version);
  c->off = 8;
  return 0;
}

/* One run of entries of one message type. N entries, or with TO_END every
 * entry up to the end of the file (a capture log; a last entry cut short
 * is dropped and *TORN set). */
struct section
{
  const ProtobufCMessageDescriptor *desc;
  const char *what;
  void ***out;
  size_t *done;
};

/* A datagram unpacked from a mapped file: its payload points into the
 * mapping (the copy protobuf-c made goes at once, so the heap never holds
 * more than one payload). */
static void
borrow_payload (UcDgram *d, const uint8_t *data, size_t size)
{
  const uint8_t *p;
  size_t len = 0;
  bool bad = false;

  static uint32_t field;

  if (field == 0)
    field = protobuf_c_message_descriptor_get_field_by_name (&uc_dgram__descriptor, "payload")->id;
  if (d->payload.len == 0)
    return;
  /* the last occurrence of the field: the one protobuf-c kept */
  p = uc_pb_find_bytes (data, size, field, &len, &bad);
  if (p == NULL || len != d->payload.len)
    return;
  free (d->payload.data);
  d->payload.data = (uint8_t *) p;
}

static int
read_section (struct cursor *c, const struct section *s, size_t first, size_t n, bool to_end, bool *torn,
              uc_error_t *err)
{
  size_t cap = 0;

  *s->out = NULL;
  *s->done = 0;
  if (! to_end)
    *s->out = xcalloc (n, sizeof (void *));
  for (size_t i = 0; to_end ? c->off < c->len : i < n; i++)
    {
      char name[96];
      const uint8_t *data;
      size_t size, at = c->off;

      if (to_end)
        snprintf (name, sizeof (name), "entry %zu (%s %zu)", first + i, s->what, i + 1);
      else
        snprintf (name, sizeof (name), "entry %zu (%s %zu of %zu)", first + i, s->what, i + 1, n);
      if (next_entry (c, name, &data, &size, err) < 0)
        {
          if (! to_end)
            return -1;
          uc_error_release (err); /* cut short by a kill */
          *torn = true;
          return 0;
        }
      if (to_end && first + i > UC_IMG_MAX_ENTRIES)
        return uc_make_error (err, 0, "more than the %u entries udpcork writes", UC_IMG_MAX_ENTRIES);
      if (to_end)
        xgrow (s->out, &cap, i + 1, sizeof (void *));
      (*s->out)[i] = protobuf_c_message_unpack (s->desc, NULL, size, data);
      if ((*s->out)[i] != NULL && c->mapped && s->desc == &uc_dgram__descriptor)
        borrow_payload ((*s->out)[i], data, size);
      /* after the last look at the entry: a read fault maps the pages
       * around it again (fault-around) */
      cursor_release (c);
      if ((*s->out)[i] == NULL)
        return uc_make_error (err, 0, "corrupt %s at byte offset %zu", name, at);
      *s->done = i + 1;
    }
  return 0;
}

static int
read_head (struct cursor *c, struct uc_image *img, uc_error_t *err)
{
  const uint8_t *data;
  size_t size, at = c->off;

  if (next_entry (c, "entry 0 (head)", &data, &size, err) < 0)
    return -1;
  img->head = uc_head__unpack (NULL, size, data);
  if (img->head == NULL)
    return uc_make_error (err, 0, "corrupt entry 0 (head) at byte offset %zu", at);
  if (img->head->version != UC_IMG_VERSION)
    return uc_make_error (err, 0, "head version %" PRIu32 " does not match image version %u", img->head->version,
                          UC_IMG_VERSION);
  /* Every entry takes at least 5 bytes: refuse counts the file cannot hold
   * before allocating for them. */
  if ((uint64_t) img->head->n_dgrams + img->head->n_rxsocks + img->head->n_rxdgrams > UC_IMG_MAX_ENTRIES)
    return uc_make_error (err, 0,
                          "head declares %" PRIu32 " dgrams, %" PRIu32 " rxsocks and %" PRIu32
                          " rxdgrams: more than the %u entries udpcork writes",
                          img->head->n_dgrams, img->head->n_rxsocks, img->head->n_rxdgrams, UC_IMG_MAX_ENTRIES);
  if ((uint64_t) img->head->n_dgrams + img->head->n_rxsocks + img->head->n_rxdgrams > (c->len - c->off) / 5)
    return uc_make_error (err, 0,
                          "truncated: head declares %" PRIu32 " dgrams, %" PRIu32 " rxsocks and %" PRIu32
                          " rxdgrams but only %zu bytes follow at offset %zu",
                          img->head->n_dgrams, img->head->n_rxsocks, img->head->n_rxdgrams, c->len - c->off, c->off);
  return 0;
}

/* The one reader loop of images and capture logs. */
static int
parse (struct cursor *c, bool log, bool *torn, struct uc_image *img, uc_error_t *err)
{
  const struct section dg = { &uc_dgram__descriptor, "dgram", (void ***) &img->dgrams, &img->n_dgrams };
  const struct section rs = { &uc_rxsock__descriptor, "rxsock", (void ***) &img->rxsocks, &img->n_rxsocks };
  const struct section rd = { &uc_rxdgram__descriptor, "rxdgram", (void ***) &img->rxdgrams, &img->n_rxdgrams };
  size_t n;

  memset (img, 0, sizeof (*img));
  if (c->mapped)
    {
      img->map = c->buf; /* IMG owns the mapping from here */
      img->map_len = c->len;
    }
  if (check_frame (c, err) < 0 || read_head (c, img, err) < 0)
    return -1;
  if (log)
    {
      if (img->head->n_dgrams || img->head->n_rxsocks || img->head->n_rxdgrams)
        return uc_make_error (err, 0, "not a capture log: its head declares entries");
      return read_section (c, &dg, 1, 0, true, torn, err);
    }
  n = img->head->n_dgrams;
  if (read_section (c, &dg, 1, n, false, torn, err) < 0
      || read_section (c, &rs, 1 + n, img->head->n_rxsocks, false, torn, err) < 0
      || read_section (c, &rd, 1 + n + img->head->n_rxsocks, img->head->n_rxdgrams, false, torn, err) < 0)
    return -1;
  if (c->off != c->len)
    return uc_make_error (err, 0, "%zu bytes of trailing data at byte offset %zu (more entries than the %zu declared?)",
                          c->len - c->off, c->off, n + img->head->n_rxsocks + img->head->n_rxdgrams);
  return 0;
}

static int
parse_checked (struct cursor *c, bool log, bool *torn, const char *name, struct uc_image *img, uc_error_t *err)
{
  if (parse (c, log, torn, img, err) < 0 || uc_validate_image (img, log, err) < 0)
    {
      uc_image_free (img);
      return uc_error_wrap (err, "read %s `%s`", log ? "capture log" : "image", name);
    }
  return 0;
}

static int
read_file (int dirfd, const char *name, bool log, bool *torn, struct uc_image *img, uc_error_t *err)
{
  struct cursor c = { .mapped = true };
  const void *data;
  int ret;

  memset (img, 0, sizeof (*img));
  if (uc_file_map (dirfd, name, UC_IMG_MAX_FILE, &data, &c.len, err) < 0)
    return uc_error_wrap (err, "read %s `%s`", log ? "capture log" : "image", name);
  c.buf = data;
  /* the mapping is IMG's now (freed by uc_image_free, also on failure) */
  ret = parse_checked (&c, log, torn, name, img, err);
  return ret;
}

int
uc_image_read (int dirfd, const char *name, struct uc_image *img, uc_error_t *err)
{
  bool torn = false;
  return read_file (dirfd, name, false, &torn, img, err);
}

int
uc_image_parse (const void *data, size_t len, const char *name, struct uc_image *img, uc_error_t *err)
{
  struct cursor c = { .buf = data, .len = len };
  bool torn = false;
  return parse_checked (&c, false, &torn, name, img, err);
}

int
uc_image_read_log (int dirfd, struct uc_image *img, bool *torn, uc_error_t *err)
{
  *torn = false;
  return read_file (dirfd, UC_LOG_NAME, true, torn, img, err);
}

int
uc_image_parse_log (const void *data, size_t len, struct uc_image *img, bool *torn, uc_error_t *err)
{
  struct cursor c = { .buf = data, .len = len };
  *torn = false;
  return parse_checked (&c, true, torn, UC_LOG_NAME, img, err);
}

int
uc_image_parse_unvalidated (const void *data, size_t len, bool log, struct uc_image *img, uc_error_t *err)
{
  struct cursor c = { .buf = data, .len = len };
  bool torn = false;

  if (parse (&c, log, &torn, img, err) < 0)
    {
      uc_image_free (img);
      return -1;
    }
  return 0;
}

void
uc_image_free (struct uc_image *img)
{
  size_t i;

  if (img == NULL)
    return;
  for (i = 0; i < img->n_dgrams; i++)
    {
      UcDgram *d = img->dgrams[i];
      if (d && img->map && d->payload.data >= img->map && d->payload.data < img->map + img->map_len)
        d->payload.data = NULL; /* in the mapping */
      if (d)
        uc_dgram__free_unpacked (d, NULL);
    }
  free (img->dgrams);
  for (i = 0; i < img->n_rxsocks; i++)
    uc_rxsock__free_unpacked (img->rxsocks[i], NULL);
  free (img->rxsocks);
  for (i = 0; i < img->n_rxdgrams; i++)
    uc_rxdgram__free_unpacked (img->rxdgrams[i], NULL);
  free (img->rxdgrams);
  if (img->head)
    uc_head__free_unpacked (img->head, NULL);
  if (img->map)
    uc_file_unmap (img->map, img->map_len);
  memset (img, 0, sizeof (*img));
}

void
uc_image_drop (const struct uc_image *img, const UcDgram *d)
{
  size_t page = (size_t) sysconf (_SC_PAGESIZE);
  uintptr_t from, to;

  if (! img->map || d->payload.data < img->map || d->payload.data >= img->map + img->map_len)
    return;
  /* from the page where it starts (the entries before it are done: the
   * reader goes in order, and a page read again comes back from the page
   * cache) to the page where the next entry starts */
  from = (uintptr_t) d->payload.data & ~(uintptr_t) (page - 1);
  to = ((uintptr_t) d->payload.data + d->payload.len) & ~(uintptr_t) (page - 1);
  if (to > from)
    madvise ((void *) from, to - from, MADV_DONTNEED);
}
