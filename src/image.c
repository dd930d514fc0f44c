// SPDX-License-Identifier: GPL-2.0-or-later
#include "image.h"
#include "sha256.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

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

/* One entry: u32 size + packed MSG.  K numbers the entry (0 = head). */
static int
write_entry (int fd, const ProtobufCMessage *msg, size_t k, uc_error_t *err)
{
  size_t size = protobuf_c_message_get_packed_size (msg);
  uint8_t *buf;
  int ret;

  if (size == 0 || size > UC_IMG_MAX_ENTRY)
    return uc_make_error (err, 0, "entry %zu packs to %zu bytes (must be 1..%u)", k, size, UC_IMG_MAX_ENTRY);
  buf = malloc (size + 4);
  if (buf == NULL)
    return uc_make_error (err, errno, "allocate entry %zu", k);
  put_u32le (buf, (uint32_t) size);
  protobuf_c_message_pack (msg, buf + 4);
  ret = write_all (fd, buf, size + 4, err);
  free (buf);
  return ret;
}

static int
write_list (int fd, void *const *msgs, size_t n, size_t *k, uc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (write_entry (fd, (const ProtobufCMessage *) msgs[i], (*k)++, err) < 0)
      return -1;
  return 0;
}

static int
write_contents (int fd, const struct uc_image *img, uc_error_t *err)
{
  uint8_t hdr[8];
  size_t k = 1;

  put_u32le (hdr, UC_IMG_MAGIC);
  put_u32le (hdr + 4, UC_IMG_VERSION);
  if (write_all (fd, hdr, sizeof (hdr), err) < 0 || write_entry (fd, &img->head->base, 0, err) < 0
      || write_list (fd, (void *const *) img->dgrams, img->n_dgrams, &k, err) < 0
      || write_list (fd, (void *const *) img->rxsocks, img->n_rxsocks, &k, err) < 0
      || write_list (fd, (void *const *) img->rxdgrams, img->n_rxdgrams, &k, err) < 0)
    return -1;
  if (fsync (fd) < 0)
    return uc_make_error (err, errno, "fsync");
  return 0;
}

static int
fsync_dir (int dirfd, uc_error_t *err)
{
  int fd = dirfd == AT_FDCWD ? open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dirfd;
  int ret = 0;

  if (fd < 0 || fsync (fd) < 0)
    ret = uc_make_error (err, errno, "fsync directory");
  if (fd >= 0 && fd != dirfd)
    close (fd);
  return ret;
}

static int
write_tmp (int dirfd, const char *tmp, const struct uc_image *img, uc_error_t *err)
{
  int fd, ret;

  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return uc_make_error (err, errno, "create");
  ret = fchmod (fd, 0600) < 0 ? uc_make_error (err, errno, "fchmod") : 0;
  if (ret == 0)
    ret = write_contents (fd, img, err);
  if (close (fd) < 0 && ret == 0)
    ret = uc_make_error (err, errno, "close");
  return ret;
}

int
uc_image_write (int dirfd, const char *name, UcHead *head, UcDgram *const *dgrams, size_t n, uc_error_t *err)
{
  struct uc_image img = { .head = head, .n_dgrams = n, .dgrams = (UcDgram **) dgrams };
  return uc_image_write_all (dirfd, name, &img, err);
}

int
uc_image_write_all (int dirfd, const char *name, struct uc_image *img, uc_error_t *err)
{
  UcHead *head = img->head;
  char *tmp = NULL;
  int ret;

  if (img->n_dgrams > UINT32_MAX || img->n_rxsocks > UINT32_MAX || img->n_rxdgrams > UINT32_MAX)
    return uc_make_error (err, 0, "write image `%s`: too many entries", name);
  if (asprintf (&tmp, "%s.tmp", name) < 0)
    return uc_make_error (err, errno, "write image `%s`", name);
  head->version = UC_IMG_VERSION;
  head->n_dgrams = (uint32_t) img->n_dgrams;
  head->has_n_rxsocks = head->has_n_rxdgrams = img->n_rxsocks > 0;
  head->n_rxsocks = (uint32_t) img->n_rxsocks;
  head->n_rxdgrams = (uint32_t) img->n_rxdgrams;
  ret = write_tmp (dirfd, tmp, img, err);
  if (ret == 0 && renameat (dirfd, tmp, dirfd, name) < 0)
    ret = uc_make_error (err, errno, "rename to `%s`", name);
  if (ret < 0)
    {
      unlinkat (dirfd, tmp, 0);
      uc_error_wrap (err, "write image `%s`", tmp);
    }
  else
    ret = fsync_dir (dirfd, err) < 0 ? uc_error_wrap (err, "write image `%s`", name) : 0;
  free (tmp);
  return ret;
}

/* ---------------------------------------------------------------- reading */

struct cursor
{
  const uint8_t *buf;
  size_t len, off;
  size_t mapped;   /* bytes mapped from the file (0: BUF is not ours to unmap) */
  size_t released; /* bytes already given back to the kernel */
};

/* A mapped image: the pages of the entries already unpacked are dropped as
 * the reader goes, so that the payloads are not held twice. */
static void
cursor_release (struct cursor *c)
{
  long page = sysconf (_SC_PAGESIZE);
  size_t upto = c->off & ~((size_t) page - 1);

  if (c->mapped && upto > c->released)
    {
      madvise ((void *) (c->buf + c->released), upto - c->released, MADV_DONTNEED);
      c->released = upto;
    }
}

#define ENTRY_NAME_LEN 96

static const char *
entry_name_of (size_t k, const char *what, size_t i, size_t n, char *buf, size_t len)
{
  if (k == 0)
    snprintf (buf, len, "entry 0 (head)");
  else
    snprintf (buf, len, "entry %zu (%s %zu of %zu)", k, what, i, n);
  return buf;
}

/* "entry 0 (head)" or "entry K (dgram I of N)", for messages. */
static const char *
entry_name (size_t k, size_t n, char *buf, size_t len)
{
  return entry_name_of (k, "dgram", k, n, buf, len);
}

/* Next entry K of N dgrams (K = 0: the head): its bytes in *DATA and *SIZE;
 * advances C. */
static int
next_entry_named (struct cursor *c, const char *name, const uint8_t **data, size_t *size, uc_error_t *err)
{
  size_t start = c->off, left = c->len - c->off;
  uint32_t s;

  if (left == 0)
    return uc_make_error (err, 0, "truncated at byte offset %zu: %s is missing", start, name);
  if (left < 4)
    return uc_make_error (err, 0, "truncated at byte offset %zu: size of %s needs 4 bytes, %zu left", start, name, left);
  s = get_u32le (c->buf + start);
  if (s == 0 || s > UC_IMG_MAX_ENTRY)
    return uc_make_error (err, 0, "%s at byte offset %zu has invalid size %" PRIu32 " (must be 1..%u)", name, start, s,
                          UC_IMG_MAX_ENTRY);
  if (left - 4 < s)
    return uc_make_error (err, 0, "truncated at byte offset %zu: %s needs %" PRIu32 " bytes, %zu left", start + 4,
                          name, s, left - 4);
  *data = c->buf + start + 4;
  *size = s;
  c->off = start + 4 + s;
  return 0;
}

static int
next_entry (struct cursor *c, size_t k, size_t n, const uint8_t **data, size_t *size, uc_error_t *err)
{
  char name[ENTRY_NAME_LEN];
  return next_entry_named (c, entry_name (k, n, name, sizeof (name)), data, size, err);
}

static int
check_frame (struct cursor *c, uc_error_t *err)
{
  uint32_t magic, version;

  if (c->len < 4)
    return uc_make_error (err, 0, "not a udpcork image: truncated at byte offset %zu: magic needs 4 bytes", c->len);
  magic = get_u32le (c->buf);
  if (magic != UC_IMG_MAGIC)
    return uc_make_error (err, 0, "not a udpcork image (magic 0x%08" PRIx32 ", expected 0x%08x)", magic,
                          UC_IMG_MAGIC);
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

static bool
addr_len_ok (uint32_t family, size_t len)
{
  return (family == AF_INET && len == 4) || (family == AF_INET6 && len == 16);
}

/* What later steps rely on: a known family and addresses of the right size. */
static int
check_dgram (const UcDgram *d, size_t k, uc_error_t *err)
{
  if (d->family != AF_INET && d->family != AF_INET6)
    return uc_make_error (err, 0, "entry %zu: unknown address family %" PRIu32, k, d->family);
  if (! addr_len_ok (d->family, d->local_addr.len))
    return uc_make_error (err, 0, "entry %zu: local address has %zu bytes", k, d->local_addr.len);
  if (d->has_dst_addr && d->dst_addr.len != 4 && d->dst_addr.len != 16)
    return uc_make_error (err, 0, "entry %zu: destination address has %zu bytes", k, d->dst_addr.len);
  if (d->has_src_addr && d->src_addr.len != 4 && d->src_addr.len != 16)
    return uc_make_error (err, 0, "entry %zu: source address has %zu bytes", k, d->src_addr.len);
  return 0;
}

static int
read_head (struct cursor *c, struct uc_image *img, uc_error_t *err)
{
  const uint8_t *data;
  size_t size, at = c->off;

  if (next_entry (c, 0, 0, &data, &size, err) < 0)
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

static int
read_dgrams (struct cursor *c, struct uc_image *img, uc_error_t *err)
{
  size_t i, n = img->head->n_dgrams;

  img->dgrams = calloc (n ? n : 1, sizeof (UcDgram *));
  if (img->dgrams == NULL)
    return uc_make_error (err, errno, "allocate %zu dgrams", n);
  for (i = 0; i < n; i++)
    {
      const uint8_t *data;
      size_t size, at = c->off;

      char name[ENTRY_NAME_LEN];

      if (next_entry (c, i + 1, n, &data, &size, err) < 0)
        return -1;
      img->dgrams[i] = uc_dgram__unpack (NULL, size, data);
      cursor_release (c);
      if (img->dgrams[i] == NULL)
        return uc_make_error (err, 0, "corrupt %s at byte offset %zu", entry_name (i + 1, n, name, sizeof (name)), at);
      img->n_dgrams = i + 1;
      if (check_dgram (img->dgrams[i], i + 1, err) < 0)
        return -1;
    }
  return 0;
}

/* N entries of type DESC after entry FIRST-1: into *OUT, counted in *DONE. */
static int
read_list (struct cursor *c, const ProtobufCMessageDescriptor *desc, const char *what, size_t first, size_t n,
           void ***out, size_t *done, uc_error_t *err)
{
  *out = calloc (n ? n : 1, sizeof (void *));
  if (*out == NULL)
    return uc_make_error (err, errno, "allocate %zu %ss", n, what);
  for (size_t i = 0; i < n; i++)
    {
      char name[ENTRY_NAME_LEN];
      const uint8_t *data;
      size_t size, at = c->off;

      entry_name_of (first + i, what, i + 1, n, name, sizeof (name));
      if (next_entry_named (c, name, &data, &size, err) < 0)
        return -1;
      (*out)[i] = protobuf_c_message_unpack (desc, NULL, size, data);
      cursor_release (c);
      if ((*out)[i] == NULL)
        return uc_make_error (err, 0, "corrupt %s at byte offset %zu", name, at);
      *done = i + 1;
    }
  return 0;
}

/* Receive queues: addresses of the right size, datagrams pointing at
 * their socket, per-socket counts that add up. */
static int
check_rx (const struct uc_image *img, uc_error_t *err)
{
  size_t i, *count = calloc (img->n_rxsocks + 1, sizeof (size_t));
  int ret = 0;

  if (count == NULL)
    return uc_make_error (err, errno, "check receive queues");
  for (i = 0; ret == 0 && i < img->n_rxsocks; i++)
    if ((img->rxsocks[i]->family != AF_INET && img->rxsocks[i]->family != AF_INET6)
        || ! addr_len_ok (img->rxsocks[i]->family, img->rxsocks[i]->local_addr.len))
      ret = uc_make_error (err, 0, "rxsock %zu: bad family or local address", i);
  for (i = 0; ret == 0 && i < img->n_rxdgrams; i++)
    {
      const UcRxdgram *r = img->rxdgrams[i];
      if (r->sock >= img->n_rxsocks)
        ret = uc_make_error (err, 0, "rxdgram %zu: socket index %" PRIu32 " out of range", i, r->sock);
      else if ((r->src_addr.len != 4 && r->src_addr.len != 16)
               || (r->has_dst_addr && r->dst_addr.len != r->src_addr.len))
        ret = uc_make_error (err, 0, "rxdgram %zu: bad address length", i);
      else
        count[r->sock]++;
    }
  for (i = 0; ret == 0 && i < img->n_rxsocks; i++)
    if (count[i] != img->rxsocks[i]->n_dgrams)
      ret = uc_make_error (err, 0, "rxsock %zu declares %" PRIu32 " datagrams, the image holds %zu", i,
                           img->rxsocks[i]->n_dgrams, count[i]);
  free (count);
  return ret;
}

static int
read_rx (struct cursor *c, struct uc_image *img, uc_error_t *err)
{
  size_t first = 1 + img->n_dgrams;

  if (read_list (c, &uc_rxsock__descriptor, "rxsock", first, img->head->n_rxsocks, (void ***) &img->rxsocks,
                 &img->n_rxsocks, err)
          < 0
      || read_list (c, &uc_rxdgram__descriptor, "rxdgram", first + img->head->n_rxsocks, img->head->n_rxdgrams,
                    (void ***) &img->rxdgrams, &img->n_rxdgrams, err)
             < 0
      || check_rx (img, err) < 0)
    return -1;
  if (c->off != c->len)
    return uc_make_error (err, 0, "%zu bytes of trailing data at byte offset %zu (more entries than the %zu declared?)",
                          c->len - c->off, c->off,
                          (size_t) img->head->n_dgrams + img->head->n_rxsocks + img->head->n_rxdgrams);
  return 0;
}

static int
load_file (int dirfd, const char *name, struct cursor *c, uc_error_t *err)
{
  static const uint8_t empty[1];
  struct stat st;
  void *map;
  int fd, ret = 0;

  memset (c, 0, sizeof (*c));
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    return uc_make_error (err, errno, "refusing to open a symbolic link");
  if (fd < 0)
    return uc_make_error (err, errno, "open");
  if (fstat (fd, &st) < 0)
    ret = uc_make_error (err, errno, "fstat");
  else if (! S_ISREG (st.st_mode))
    ret = uc_make_error (err, 0, "not a regular file");
  else if ((unsigned long long) st.st_size > UC_IMG_MAX_FILE)
    ret = uc_make_error (err, 0, "file is %lld bytes (max %llu)", (long long) st.st_size, UC_IMG_MAX_FILE);
  else if (st.st_size == 0)
    c->buf = empty;
  else if ((map = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
    ret = uc_make_error (err, errno, "mmap");
  else
    {
      madvise (map, st.st_size, MADV_SEQUENTIAL);
      c->buf = map;
      c->len = c->mapped = st.st_size;
    }
  close (fd);
  return ret;
}

static void
unload_file (struct cursor *c)
{
  if (c->mapped)
    munmap ((void *) c->buf, c->mapped);
  c->mapped = 0;
}

static int
parse_cursor (struct cursor *c, const char *name, struct uc_image *img, uc_error_t *err)
{
  int ret;

  memset (img, 0, sizeof (*img));
  ret = check_frame (c, err);
  if (ret == 0)
    ret = read_head (c, img, err);
  if (ret == 0)
    ret = read_dgrams (c, img, err);
  if (ret == 0)
    ret = read_rx (c, img, err);
  if (ret < 0)
    {
      uc_image_free (img);
      return uc_error_wrap (err, "read image `%s`", name);
    }
  return 0;
}

int
uc_image_parse (const void *data, size_t len, const char *name, struct uc_image *img, uc_error_t *err)
{
  struct cursor c = { .buf = data, .len = len };
  return parse_cursor (&c, name, img, err);
}

int
uc_image_read (int dirfd, const char *name, struct uc_image *img, uc_error_t *err)
{
  struct cursor c;
  int ret;

  memset (img, 0, sizeof (*img));
  if (load_file (dirfd, name, &c, err) < 0)
    return uc_error_wrap (err, "read image `%s`", name);
  ret = parse_cursor (&c, name, img, err);
  unload_file (&c);
  return ret;
}

void
uc_image_free (struct uc_image *img)
{
  size_t i;

  if (img == NULL)
    return;
  for (i = 0; i < img->n_dgrams; i++)
    uc_dgram__free_unpacked (img->dgrams[i], NULL);
  free (img->dgrams);
  for (i = 0; i < img->n_rxsocks; i++)
    uc_rxsock__free_unpacked (img->rxsocks[i], NULL);
  free (img->rxsocks);
  for (i = 0; i < img->n_rxdgrams; i++)
    uc_rxdgram__free_unpacked (img->rxdgrams[i], NULL);
  free (img->rxdgrams);
  if (img->head)
    uc_head__free_unpacked (img->head, NULL);
  memset (img, 0, sizeof (*img));
}

/* --------------------------------------------------------------- printing */

struct dgram_view
{
  char local[UC_ADDRSTRLEN];
  char dest[UC_ADDRSTRLEN];
  char sha[2 * UC_SHA256_LEN + 1];
  const char *family;
  const char *mode;
};

static const char *
bin_addr (const ProtobufCBinaryData *a, unsigned port, char *buf)
{
  int family = a->len == 4 ? AF_INET : a->len == 16 ? AF_INET6 : 0;

  return uc_addr_str (family, a->data, port, buf, UC_ADDRSTRLEN);
}

static void
view_dgram (const UcDgram *d, struct dgram_view *v)
{
  uint8_t digest[UC_SHA256_LEN];

  v->family = d->family == AF_INET ? "inet" : d->family == AF_INET6 ? "inet6" : "?";
  v->mode = d->mode == UC_CORK_MODE__UC_CORK_SOCKOPT    ? "UDP_CORK"
            : d->mode == UC_CORK_MODE__UC_CORK_MSG_MORE ? "MSG_MORE"
                                                        : "NONE";
  bin_addr (&d->local_addr, d->local_port, v->local);
  if (d->has_dst_addr)
    bin_addr (&d->dst_addr, d->has_dst_port ? d->dst_port : 0, v->dest);
  else
    snprintf (v->dest, sizeof (v->dest), "-");
  uc_sha256 (d->payload.data, d->payload.len, digest);
  uc_hex (digest, sizeof (digest), v->sha, sizeof (v->sha));
}

static void
opt_int (char *buf, size_t len, protobuf_c_boolean has, int32_t v)
{
  if (has)
    snprintf (buf, len, "%" PRId32, v);
  else
    snprintf (buf, len, "-");
}

static int
print_table (FILE *out, const struct uc_image *img)
{
  size_t i;

  fprintf (out, "%-7s %-4s %-6s %-24s %-24s %-8s %6s %4s %4s %s\n", "PID", "FD", "FAMILY", "LOCAL", "DESTINATION",
           "MODE", "BYTES", "TTL", "TOS", "SHA256");
  for (i = 0; i < img->n_dgrams; i++)
    {
      const UcDgram *d = img->dgrams[i];
      struct dgram_view v;
      char ttl[16], tos[16];

      view_dgram (d, &v);
      opt_int (ttl, sizeof (ttl), d->has_ttl, d->ttl);
      opt_int (tos, sizeof (tos), d->has_tos, d->tos);
      fprintf (out, "%-7" PRIu32 " %-4" PRIu32 " %-6s %-24s %-24s %-8s %6zu %4s %4s %.12s\n", d->pid, d->fd, v.family,
               v.local, v.dest, v.mode, d->payload.len, ttl, tos, v.sha);
    }
  if (img->n_rxsocks == 0)
    return 0;
  fprintf (out, "\nReceive queues:\n%-7s %-4s %-6s %-24s %9s %9s\n", "PID", "FD", "FAMILY", "LOCAL", "DATAGRAMS",
           "BYTES");
  for (i = 0; i < img->n_rxsocks; i++)
    {
      const UcRxsock *r = img->rxsocks[i];
      char local[UC_ADDRSTRLEN];
      fprintf (out, "%-7" PRIu32 " %-4" PRIu32 " %-6s %-24s %9" PRIu32 " %9" PRIu64 "\n", r->pid, r->fd,
               r->family == AF_INET6 ? "inet6" : "inet", bin_addr (&r->local_addr, r->local_port, local),
               r->n_dgrams, r->bytes);
    }
  return 0;
}

static yajl_gen_status
gen_str (yajl_gen g, const char *s)
{
  return yajl_gen_string (g, (const unsigned char *) s, strlen (s));
}

static void
gen_opt_int (yajl_gen g, const char *key, protobuf_c_boolean has, int32_t v)
{
  gen_str (g, key);
  if (has)
    yajl_gen_integer (g, v);
  else
    yajl_gen_null (g);
}

static void
gen_dgram (yajl_gen g, const UcDgram *d)
{
  struct dgram_view v;

  view_dgram (d, &v);
  yajl_gen_map_open (g);
  gen_str (g, "pid");
  yajl_gen_integer (g, d->pid);
  gen_str (g, "fd");
  yajl_gen_integer (g, d->fd);
  gen_str (g, "family");
  gen_str (g, v.family);
  gen_str (g, "local");
  gen_str (g, v.local);
  gen_str (g, "destination");
  gen_str (g, v.dest);
  gen_str (g, "mode");
  gen_str (g, v.mode);
  gen_str (g, "bytes");
  yajl_gen_integer (g, (long long) d->payload.len);
  gen_opt_int (g, "ttl", d->has_ttl, d->ttl);
  gen_opt_int (g, "tos", d->has_tos, d->tos);
  gen_opt_int (g, "mark", d->has_mark, (int32_t) d->mark);
  gen_opt_int (g, "priority", d->has_priority, (int32_t) d->priority);
  gen_opt_int (g, "gso_size", d->has_gso_size, (int32_t) d->gso_size);
  gen_opt_int (g, "oif", d->has_oif, (int32_t) d->oif);
  gen_opt_int (g, "dontfrag", d->has_dontfrag, d->dontfrag);
  gen_opt_int (g, "flowlabel", d->has_flowlabel, (int32_t) d->flowlabel);
  gen_str (g, "sha256");
  gen_str (g, v.sha);
  yajl_gen_map_close (g);
}

static int
print_json (FILE *out, const struct uc_image *img, uc_error_t *err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  const unsigned char *buf;
  size_t i, len;
  int ret = 0;

  if (g == NULL)
    return uc_make_error (err, ENOMEM, "yajl_gen_alloc");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  yajl_gen_map_open (g);
  gen_str (g, "version");
  yajl_gen_integer (g, img->head->version);
  gen_str (g, "container_id");
  /* An id that is not UTF-8 cannot be put in JSON: show null instead. */
  if (img->head->container_id == NULL || gen_str (g, img->head->container_id) != yajl_gen_status_ok)
    yajl_gen_null (g);
  gen_str (g, "dgrams");
  yajl_gen_array_open (g);
  for (i = 0; i < img->n_dgrams; i++)
    gen_dgram (g, img->dgrams[i]);
  yajl_gen_array_close (g);
  gen_str (g, "rxqueues");
  yajl_gen_array_open (g);
  for (i = 0; i < img->n_rxsocks; i++)
    {
      const UcRxsock *r = img->rxsocks[i];
      char local[UC_ADDRSTRLEN];
      yajl_gen_map_open (g);
      gen_str (g, "pid");
      yajl_gen_integer (g, r->pid);
      gen_str (g, "fd");
      yajl_gen_integer (g, r->fd);
      gen_str (g, "family");
      gen_str (g, r->family == AF_INET6 ? "inet6" : "inet");
      gen_str (g, "local");
      gen_str (g, bin_addr (&r->local_addr, r->local_port, local));
      gen_str (g, "datagrams");
      yajl_gen_integer (g, r->n_dgrams);
      gen_str (g, "bytes");
      yajl_gen_integer (g, (long long) r->bytes);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  if (yajl_gen_map_close (g) != yajl_gen_status_ok || yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    ret = uc_make_error (err, 0, "generate JSON");
  else
    fwrite (buf, 1, len, out);
  yajl_gen_free (g);
  return ret;
}

int
uc_image_print (FILE *out, const struct uc_image *img, bool json, uc_error_t *err)
{
  int ret = json ? print_json (out, img, err) : print_table (out, img);

  if (ret == 0 && (fflush (out) == EOF || ferror (out)))
    return uc_make_error (err, errno, "write output");
  return ret;
}

int
uc_image_log_open (int dirfd, UcHead *head, struct uc_image_log *l, uc_error_t *err)
{
  uint8_t hdr[8];

  l->dirfd = dirfd;
  l->n = 0;
  l->fd = openat (dirfd, UC_LOG_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (l->fd < 0)
    return uc_make_error (err, errno, "create capture log `%s`", UC_LOG_NAME);
  head->version = UC_IMG_VERSION;
  head->n_dgrams = 0;
  put_u32le (hdr, UC_IMG_MAGIC);
  put_u32le (hdr + 4, UC_IMG_VERSION);
  if (fchmod (l->fd, 0600) < 0 || write_all (l->fd, hdr, sizeof (hdr), err) < 0
      || write_entry (l->fd, &head->base, 0, err) < 0 || fsync (l->fd) < 0 || fsync_dir (dirfd, err) < 0)
    {
      uc_make_error (err, errno, "write");
      uc_image_log_close (l, true);
      return uc_error_wrap (err, "capture log `%s`", UC_LOG_NAME);
    }
  return 0;
}

int
uc_image_log_append (struct uc_image_log *l, const UcDgram *d, uc_error_t *err)
{
  if (write_entry (l->fd, &d->base, ++l->n, err) < 0)
    return uc_error_wrap (err, "capture log `%s`", UC_LOG_NAME);
  if (fdatasync (l->fd) < 0)
    return uc_make_error (err, errno, "fsync capture log `%s`", UC_LOG_NAME);
  return 0;
}

void
uc_image_log_close (struct uc_image_log *l, bool remove)
{
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
  if (remove)
    unlinkat (l->dirfd, UC_LOG_NAME, 0);
}

int
uc_image_read_log (int dirfd, struct uc_image *img, bool *torn, uc_error_t *err)
{
  struct cursor c;
  int ret;

  memset (img, 0, sizeof (*img));
  *torn = false;
  if (load_file (dirfd, UC_LOG_NAME, &c, err) < 0)
    return uc_error_wrap (err, "read capture log `%s`", UC_LOG_NAME);
  ret = check_frame (&c, err);
  if (ret == 0)
    ret = read_head (&c, img, err);
  while (ret == 0 && c.off < c.len)
    {
      const uint8_t *data;
      size_t size, k = img->n_dgrams + 1;
      UcDgram **nv;
      uc_error_t e = NULL;

      if (next_entry (&c, k, k, &data, &size, &e) < 0)
        {
          uc_error_release (&e); /* cut short by a kill: that socket was never uncorked... or was, see caller */
          *torn = true;
          break;
        }
      nv = realloc (img->dgrams, (img->n_dgrams + 1) * sizeof (*nv));
      if (nv == NULL)
        {
          ret = uc_make_error (err, ENOMEM, "read capture log");
          break;
        }
      img->dgrams = nv;
      img->dgrams[img->n_dgrams] = uc_dgram__unpack (NULL, size, data);
      cursor_release (&c);
      if (img->dgrams[img->n_dgrams] == NULL)
        {
          ret = uc_make_error (err, 0, "corrupt entry %zu", k);
          break;
        }
      img->n_dgrams++;
      if ((ret = check_dgram (img->dgrams[img->n_dgrams - 1], k, err)) < 0)
        break;
    }
  unload_file (&c);
  if (ret < 0)
    {
      uc_image_free (img);
      return uc_error_wrap (err, "read capture log `%s`", UC_LOG_NAME);
    }
  return 0;
}

int
uc_img_bytes (ProtobufCBinaryData *b, const void *data, size_t len)
{
  b->len = len;
  b->data = malloc (len ? len : 1);
  if (b->data == NULL)
    return -1;
  if (len)
    memcpy (b->data, data, len);
  return 0;
}
