// SPDX-License-Identifier: GPL-2.0-or-later
/* Writing images and capture logs: entries packed into an output buffer,
 * the capture log's entries copied into the image in the kernel
 * (copy_file_range), the image made durable under its name (a .tmp file,
 * fsync, rename, fsync of the directory). The format is in image.h. */
#include "image.h"
#include "fileio.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
put_u32le (uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
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
  int ret = uc_write_all (o->fd, o->buf, o->len, err);

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
      if (uc_write_all (o->fd, big, size + 4, err) < 0)
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
          if (r > 0 && uc_write_all (o->fd, o->buf, r, err) < 0)
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
  if (uc_fsync_dir (dirfd, err) < 0)
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

void
uc_img_bytes (ProtobufCBinaryData *b, const void *data, size_t len)
{
  b->len = len;
  b->data = xmalloc (len ? len : 1);
  if (len)
    memcpy (b->data, data, len);
}
