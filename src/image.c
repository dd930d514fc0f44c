// SPDX-License-Identifier: GPL-2.0-or-later
#include "image.h"
#include "validate.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- writing */

static int
write_all (int fd, const void *buf, size_t len, uc_error_t *err)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t r = write (fd, p, len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return uc_make_error (err, errno, "write");
      p += r;
      len -= r;
    }
  return 0;
}

static void
put_u32le (uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_u32le (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Writes of an image or a capture log go through an output buffer: an
 * image's entries are packed in place and written UC_OUT_SIZE bytes at a
 * time (one write(2) for thousands of small entries); the capture log
 * flushes after every entry (a killed hook must find each appended
 * datagram in the page cache). */
#define UC_OUT_SIZE (256u << 10)

struct out
{
  int fd;
  size_t len;
  uint8_t *buf;
  off_t written; /* bytes written to FD through this buffer */
};

static int
out_flush (struct out *o, uc_error_t *err)
{
  int ret = write_all (o->fd, o->buf, o->len, err);

  if (ret == 0)
    o->written += o->len;
  o->len = 0;
  return ret;
}

static void
out_free (struct out *o)
{
  free (o->buf);
  o->buf = NULL;
}

static int
out_put (struct out *o, const void *p, size_t n, uc_error_t *err)
{
  if (o->len + n > UC_OUT_SIZE && out_flush (o, err) < 0)
    return -1;
  memcpy (o->buf + o->len, p, n);
  o->len += n;
  return 0;
}

/* One entry: u32 size + packed MSG. K numbers the entry (0 = head). */
static int
write_entry (struct out *o, const ProtobufCMessage *msg, size_t k, uc_error_t *err)
{
  size_t size = protobuf_c_message_get_packed_size (msg);
  cleanup_free uint8_t *big = NULL;
  uint8_t *p;

  if (size == 0 || size > UC_IMG_MAX_ENTRY)
    return uc_make_error (err, 0, "entry %zu packs to %zu bytes (must be 1..%u)", k, size, UC_IMG_MAX_ENTRY);
  if (o->len + size + 4 > UC_OUT_SIZE && out_flush (o, err) < 0)
    return -1;
  /* an entry bigger than the buffer is packed apart and written at once */
  p = size + 4 > UC_OUT_SIZE ? (big = xmalloc (size + 4)) : o->buf + o->len;
  put_u32le (p, (uint32_t) size);
  protobuf_c_message_pack (msg, p + 4);
  if (big)
    {
      if (write_all (o->fd, big, size + 4, err) < 0)
        return -1;
      o->written += size + 4;
      return 0;
    }
  o->len += size + 4;
  return 0;
}

static int
write_frame (struct out *o, const UcHead *head, uc_error_t *err)
{
  uint8_t hdr[8];

  put_u32le (hdr, UC_IMG_MAGIC);
  put_u32le (hdr + 4, UC_IMG_VERSION);
  if (out_put (o, hdr, sizeof (hdr), err) < 0)
    return -1;
  return write_entry (o, &head->base, 0, err);
}

static int
write_list (struct out *o, void *const *msgs, size_t n, size_t *k, uc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (write_entry (o, (const ProtobufCMessage *) msgs[i], (*k)++, err) < 0)
      return -1;
  return 0;
}

static int
fsync_dir (int dirfd, uc_error_t *err)
{
  cleanup_close int fd = dirfd == AT_FDCWD ? open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

  if (fsync (dirfd == AT_FDCWD ? fd : dirfd) < 0)
    return uc_make_error (err, errno, "fsync directory");
  return 0;
}

int
uc_create_excl (int dirfd, const char *name, uc_error_t *err)
{
  int fd;

  /* A leftover of a killed run, or something planted (a FIFO, a link to
   * another file): the name goes, whatever it points at is left alone. */
  if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
    return uc_make_error (err, errno, "remove stale `%s`", name);
  fd = openat (dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return uc_make_error (err, errno, "create `%s`", name);
  if (fchmod (fd, 0600) < 0)
    {
      int e = errno;
      close (fd);
      return uc_make_error (err, e, "chmod `%s`", name);
    }
  return fd;
}

/* LEN bytes of IN from offset OFF appended to O's file, in the kernel
 * (copy_file_range: the page cache copies itself, nothing passes through
 * user space), or through O's buffer where the kernel cannot. */
static int
copy_range (struct out *o, int in, off_t off, size_t len, uc_error_t *err)
{
  bool kernel = true;

  if (out_flush (o, err) < 0)
    return -1;
  while (len > 0)
    {
      ssize_t r = kernel ? copy_file_range (in, &off, o->fd, NULL, len, 0) : -1;
      if (r < 0 && kernel && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
        {
          kernel = false;
          continue;
        }
      if (! kernel)
        {
          r = pread (in, o->buf, len < UC_OUT_SIZE ? len : UC_OUT_SIZE, off);
          if (r > 0 && write_all (o->fd, o->buf, r, err) < 0)
            return -1;
          if (r > 0)
            off += r;
        }
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return uc_make_error (err, errno, "copy the capture log's entries");
      if (r == 0)
        return uc_make_error (err, 0, "the capture log ends %zu bytes early", len);
      len -= r;
    }
  return 0;
}

/* The image; its datagrams are IMG's or, with LOG, the entries of the
 * capture log (copied as they are: the same framing). */
static int
write_image (int dirfd, const char *name, struct uc_image *img, const struct uc_image_log *log, uc_error_t *err)
{
  UcHead *head = img->head;
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  size_t n_dgrams = log ? log->n : img->n_dgrams, k = 1 + n_dgrams;

  if (n_dgrams > UINT32_MAX || img->n_rxsocks > UINT32_MAX || img->n_rxdgrams > UINT32_MAX)
    return uc_make_error (err, 0, "write image `%s`: too many entries", name);
  if (asprintf (&tmp, "%s.tmp", name) < 0)
    abort ();
  head->version = UC_IMG_VERSION;
  head->n_dgrams = (uint32_t) n_dgrams;
  head->has_n_rxsocks = head->has_n_rxdgrams = img->n_rxsocks > 0;
  head->n_rxsocks = (uint32_t) img->n_rxsocks;
  head->n_rxdgrams = (uint32_t) img->n_rxdgrams;
  fd = uc_create_excl (dirfd, tmp, err);
  if (fd < 0)
    return uc_error_wrap (err, "write image");
  struct out o __attribute__ ((cleanup (out_free))) = { .fd = fd, .buf = xmalloc (UC_OUT_SIZE) };
  if (write_frame (&o, head, err) < 0
      || (log ? copy_range (&o, log->fd, log->start, log->end - log->start, err)
              : write_list (&o, (void *const *) img->dgrams, img->n_dgrams, &(size_t){ 1 }, err))
             < 0
      || write_list (&o, (void *const *) img->rxsocks, img->n_rxsocks, &k, err) < 0
      || write_list (&o, (void *const *) img->rxdgrams, img->n_rxdgrams, &k, err) < 0 || out_flush (&o, err) < 0
      || (fsync (fd) < 0 && uc_make_error (err, errno, "fsync") < 0)
      || (renameat (dirfd, tmp, dirfd, name) < 0 && uc_make_error (err, errno, "rename to `%s`", name) < 0))
    {
      unlinkat (dirfd, tmp, 0);
      return uc_error_wrap (err, "write image `%s`", tmp);
    }
  if (fsync_dir (dirfd, err) < 0)
    return uc_error_wrap (err, "write image `%s`", name);
  return 0;
}

int
uc_image_write (int dirfd, const char *name, struct uc_image *img, uc_error_t *err)
{
  return write_image (dirfd, name, img, NULL, err);
}

int
uc_image_write_from_log (int dirfd, const char *name, struct uc_image *img, const struct uc_image_log *log,
                         uc_error_t *err)
{
  if (img->n_dgrams)
    return uc_make_error (err, 0, "write image `%s`: datagrams both in memory and in the capture log", name);
  return write_image (dirfd, name, img, log, err);
}

/* ------------------------------------------------------------ capture log */

/* The capture log is never synced: it has to outlive a killed hook, and the
 * page cache does; a machine that goes down takes the sockets (and the
 * datagrams they had) with it. Only the finished image is made durable
 * (uc_image_write), before CRIU goes on: fsyncs per dump stay O(1). */

int
uc_image_log_open (int dirfd, UcHead *head, struct uc_image_log *l, uc_error_t *err)
{
  struct out o;

  l->dirfd = dirfd;
  l->n = 0;
  l->buf = NULL;
  l->fd = uc_create_excl (dirfd, UC_LOG_NAME, err);
  if (l->fd < 0)
    return uc_error_wrap (err, "capture log");
  l->buf = xmalloc (UC_OUT_SIZE);
  o = (struct out){ .fd = l->fd, .buf = l->buf };
  head->version = UC_IMG_VERSION;
  head->n_dgrams = 0;
  if (write_frame (&o, head, err) < 0 || out_flush (&o, err) < 0)
    {
      uc_image_log_close (l, true);
      return uc_error_wrap (err, "capture log `%s`", UC_LOG_NAME);
    }
  l->start = l->end = o.written;
  return 0;
}

int
uc_image_log_append (struct uc_image_log *l, const UcDgram *d, uc_error_t *err)
{
  struct out o = { .fd = l->fd, .buf = l->buf };

  if (write_entry (&o, &d->base, l->n + 1, err) < 0 || out_flush (&o, err) < 0)
    return uc_error_wrap (err, "capture log `%s`", UC_LOG_NAME);
  l->n++;
  l->end += o.written;
  return 0;
}

void
uc_image_log_close (struct uc_image_log *l, bool remove)
{
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
  free (l->buf);
  l->buf = NULL;
  if (remove)
    unlinkat (l->dirfd, UC_LOG_NAME, 0);
}

/* ---------------------------------------------------------------- reading */

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

/* A varint of P[*I..N) into *V; false if it runs off the end. */
static bool
varint (const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
  *v = 0;
  for (unsigned shift = 0; *i < n && shift < 64; shift += 7)
    {
      uint8_t b = p[(*i)++];
      *v |= (uint64_t) (b & 0x7f) << shift;
      if (! (b & 0x80))
        return true;
    }
  return false;
}

/* Where the last occurrence of length-delimited field FIELD lies in the
 * packed message P (already unpacked by protobuf-c, so well formed). */
static bool
find_bytes (const uint8_t *p, size_t n, uint32_t field, size_t *off, size_t *len)
{
  size_t i = 0;
  bool found = false;

  while (i < n)
    {
      uint64_t key, v;

      if (! varint (p, n, &i, &key))
        return false;
      switch (key & 7)
        {
        case 0: /* varint */
          if (! varint (p, n, &i, &v))
            return false;
          break;
        case 2: /* length-delimited */
          if (! varint (p, n, &i, &v) || v > n - i)
            return false;
          if ((key >> 3) == field)
            {
              *off = i;
              *len = v;
              found = true;
            }
          i += v;
          break;
        case 1: /* 64-bit */
          i += 8;
          break;
        case 5: /* 32-bit */
          i += 4;
          break;
        default:
          return false;
        }
      if (i > n)
        return false;
    }
  return found;
}

/* A datagram unpacked from a mapped file: its payload points into the
 * mapping (the copy protobuf-c made goes at once, so the heap never holds
 * more than one payload). */
static void
borrow_payload (UcDgram *d, const uint8_t *data, size_t size)
{
  size_t off = 0, len = 0;

  static uint32_t field;

  if (field == 0)
    field = protobuf_c_message_descriptor_get_field_by_name (&uc_dgram__descriptor, "payload")->id;
  if (d->payload.len == 0 || ! find_bytes (data, size, field, &off, &len) || len != d->payload.len)
    return;
  free (d->payload.data);
  d->payload.data = (uint8_t *) data + off;
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

int
uc_file_map (int dirfd, const char *name, size_t max, const void **data, size_t *len, uc_error_t *err)
{
  static const uint8_t empty[1];
  cleanup_close int fd = -1;
  struct stat st;
  void *map;

  /* O_NONBLOCK: a FIFO planted under this name does not block the hook */
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    return uc_make_error (err, errno, "refusing to open a symbolic link");
  if (fd < 0)
    return uc_make_error (err, errno, "open");
  if (fstat (fd, &st) < 0)
    return uc_make_error (err, errno, "fstat");
  if (! S_ISREG (st.st_mode))
    return uc_make_error (err, 0, "not a regular file");
  if ((unsigned long long) st.st_size > max)
    return uc_make_error (err, 0, "file is %lld bytes (max %zu)", (long long) st.st_size, max);
  *len = st.st_size;
  if (st.st_size == 0)
    {
      *data = empty;
      return 0;
    }
  map = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return uc_make_error (err, errno, "mmap");
  madvise (map, st.st_size, MADV_SEQUENTIAL);
  *data = map;
  return 0;
}

void
uc_file_unmap (const void *data, size_t len)
{
  if (len)
    munmap ((void *) data, len);
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

void
uc_img_bytes (ProtobufCBinaryData *b, const void *data, size_t len)
{
  b->len = len;
  b->data = xmalloc (len ? len : 1);
  if (len)
    memcpy (b->data, data, len);
}
