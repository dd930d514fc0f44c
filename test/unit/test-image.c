// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests of src/image_write.c, src/image_read.c, src/fileio.c, src/sha256.c
 * and the address helpers.
 *
 *   unit-image                    run the checks (TAP output)
 *   unit-image --write-sample DIR write DIR/udpcork.img with sample datagrams */
#include "image.h"
#include "show.h"
#include "sha256.h"
#include "util.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define BIG_PAYLOAD 65507
#define N_SAMPLE 4

/* Sample datagrams: every field the reader checks, both families, payloads
 * of 0 and 65507 bytes.  Storage is static: the test owns it. */
static uint8_t lo4[4] = { 127, 0, 0, 1 }, dst4[4] = { 10, 1, 2, 3 };
static uint8_t lo6[16] = { [15] = 1 };
static uint8_t big[BIG_PAYLOAD];
static UcDgram sample[N_SAMPLE];
static UcDgram *sample_ptrs[N_SAMPLE];
static UcHead sample_head = UC_HEAD__INIT;

static void
set_addr (ProtobufCBinaryData *b, uint8_t *addr, size_t len)
{
  b->data = addr;
  b->len = len;
}

static void
init_sample (void)
{
  static char hello[] = "hello";
  size_t i;

  for (i = 0; i < BIG_PAYLOAD; i++)
    big[i] = (uint8_t) (i * 7 + 3);
  for (i = 0; i < N_SAMPLE; i++)
    {
      UcDgram *d = &sample[i];

      uc_dgram__init (d);
      sample_ptrs[i] = d;
      d->pid = 100 + i;
      d->fd = 3 + i;
      d->protocol = 17;
      d->family = i == 1 ? AF_INET6 : AF_INET;
      if (i == 1)
        set_addr (&d->local_addr, lo6, 16);
      else
        set_addr (&d->local_addr, lo4, 4);
      d->local_port = 40000 + i;
      d->mode = i == 1 ? UC_CORK_MODE__UC_CORK_MSG_MORE : UC_CORK_MODE__UC_CORK_SOCKOPT;
      d->pending_family = d->family;
      d->has_dst_addr = d->has_dst_port = true;
      if (i == 1)
        set_addr (&d->dst_addr, lo6, 16);
      else
        set_addr (&d->dst_addr, i == 2 ? dst4 : lo4, 4);
      d->dst_port = 9999;
      d->has_ttl = d->has_tos = i != 3;
      d->ttl = 64;
      d->tos = 0x10;
      d->has_cookie = true;
      d->cookie = 0x1122334455667788ull + i;
    }
  sample[0].payload.data = (uint8_t *) hello;
  sample[0].payload.len = 5;
  sample[1].payload.len = 0; /* a corked empty datagram */
  sample[2].payload.data = big;
  sample[2].payload.len = BIG_PAYLOAD;
  /* UDP_CORK set on an empty socket: nothing pending, no destination */
  sample[3].payload.len = 0;
  sample[3].pending_family = 0;
  sample[3].has_dst_addr = sample[3].has_dst_port = false;
  sample_head.container_id = (char *) "c0ffee";
  sample_head.tool_version = (char *) UDPCORK_VERSION;
  sample_head.has_created_ns = true;
  sample_head.created_ns = uc_realtime_ns ();
}

static int
write_dgrams (int dirfd, const char *name, UcDgram **d, size_t n, uc_error_t *err)
{
  struct uc_image img = { .head = &sample_head, .dgrams = d, .n_dgrams = n };
  return uc_image_write (dirfd, name, &img, err);
}

static int
write_sample (int dirfd, const char *name, size_t n, uc_error_t *err)
{
  return write_dgrams (dirfd, name, sample_ptrs, n, err);
}

/* ------------------------------------------------------------- file tools */

static char tmpdir[] = "/tmp/udpcork-unit-XXXXXX";
static int dirfd = -1;

static void
put_file (const char *name, const void *data, size_t len)
{
  int fd;

  unlinkat (dirfd, name, 0);
  fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write (fd, data, len) != (ssize_t) len || close (fd) < 0)
    {
      perror ("put_file");
      exit (2);
    }
}

static uint8_t *
get_file (const char *name, size_t *len)
{
  char *buf;
  uc_error_t err = NULL;
  int fd = openat (dirfd, name, O_RDONLY);

  if (fd < 0 || uc_read_all (fd, 1 << 24, &buf, len, &err) < 0)
    {
      fprintf (stderr, "get_file %s failed\n", name);
      exit (2);
    }
  close (fd);
  return (uint8_t *) buf;
}

/* Reading NAME must fail with WANT in the message. */
static bool
read_fails (const char *name, const char *want, const char *desc)
{
  struct uc_image img;
  uc_error_t err = NULL;
  int ret = uc_image_read (dirfd, name, &img, &err);
  bool ok = tap_check_error (ret, &err, want, desc);

  CHECK (img.head == NULL && img.dgrams == NULL, "%s: image left empty", desc);
  return ok;
}

/* A hand-made image: header words, then ENTRIES of SIZES (entry sizes as
 * written in the file are taken from SIZES even if they lie). */
struct buf
{
  uint8_t data[4096];
  size_t len;
};

static void
buf_u32 (struct buf *b, uint32_t v)
{
  uint8_t le[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

  memcpy (b->data + b->len, le, 4);
  b->len += 4;
}

static void
buf_msg (struct buf *b, const ProtobufCMessage *m)
{
  size_t size = protobuf_c_message_get_packed_size (m);

  buf_u32 (b, (uint32_t) size);
  b->len += protobuf_c_message_pack (m, b->data + b->len);
}

static void
buf_raw_entry (struct buf *b, const void *data, uint32_t size)
{
  buf_u32 (b, size);
  memcpy (b->data + b->len, data, size);
  b->len += size;
}

/* Header plus a head with VERSION and N_DGRAMS (other fields as sampled). */
static void
buf_start (struct buf *b, uint32_t version, uint32_t n_dgrams)
{
  UcHead h = sample_head;

  b->len = 0;
  buf_u32 (b, UC_IMG_MAGIC);
  buf_u32 (b, UC_IMG_VERSION);
  h.version = version;
  h.n_dgrams = n_dgrams;
  buf_msg (b, &h.base);
}

/* ------------------------------------------------------------------ tests */

static void
test_sha256 (void)
{
  static const struct
  {
    const char *in, *hex;
  } v[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
  };
  uint8_t d[UC_SHA256_LEN];
  char hex[2 * UC_SHA256_LEN + 1];
  char *million;
  size_t i;

  for (i = 0; i < sizeof (v) / sizeof (v[0]); i++)
    {
      uc_sha256 (v[i].in, strlen (v[i].in), d);
      uc_hex (d, sizeof (d), hex, sizeof (hex));
      CHECK (strcmp (hex, v[i].hex) == 0, "sha256 of \"%.8s\" (%zu bytes)", v[i].in, strlen (v[i].in));
    }
  million = malloc (1000000);
  memset (million, 'a', 1000000);
  uc_sha256 (million, 1000000, d);
  uc_hex (d, sizeof (d), hex, sizeof (hex));
  CHECK (strcmp (hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
         "sha256 of a million 'a'");
  free (million);
  CHECK (uc_hex (d, sizeof (d), hex, sizeof (hex) - 1) == -1, "uc_hex refuses a short buffer");
}

static void
test_addr_str (void)
{
  char buf[UC_ADDRSTRLEN];

  CHECK (strcmp (uc_addr_str (AF_INET, lo4, 9999, buf, sizeof (buf)), "127.0.0.1:9999") == 0, "addr: 127.0.0.1:9999");
  CHECK (strcmp (uc_addr_str (AF_INET6, lo6, 9999, buf, sizeof (buf)), "[::1]:9999") == 0, "addr: [::1]:9999");
  CHECK (strcmp (uc_addr_str (AF_UNIX, lo6, 1, buf, sizeof (buf)), "?") == 0, "addr: unknown family is ?");
  CHECK (strcmp (uc_addr_str (AF_INET, NULL, 1, buf, sizeof (buf)), "?") == 0, "addr: NULL is ?");
  CHECK (uc_now_ns () > 0 && uc_realtime_ns () > 1600000000ull * 1000000000ull, "clocks tick");
}

static bool
same_bytes (const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->data, b->data, a->len) == 0);
}

static bool
same_dgram (const UcDgram *a, const UcDgram *b)
{
  return a->pid == b->pid && a->fd == b->fd && a->family == b->family && a->protocol == b->protocol
         && same_bytes (&a->local_addr, &b->local_addr) && a->local_port == b->local_port && a->mode == b->mode
         && a->pending_family == b->pending_family && a->has_dst_addr == b->has_dst_addr
         && (! a->has_dst_addr || same_bytes (&a->dst_addr, &b->dst_addr)) && a->has_dst_port == b->has_dst_port
         && (! a->has_dst_port || a->dst_port == b->dst_port) && a->has_ttl == b->has_ttl
         && (! a->has_ttl || a->ttl == b->ttl) && a->has_tos == b->has_tos && (! a->has_tos || a->tos == b->tos)
         && a->cookie == b->cookie && same_bytes (&a->payload, &b->payload);
}

static void
test_round_trip (void)
{
  struct uc_image img;
  struct stat st;
  uc_error_t err = NULL;
  size_t i;
  mode_t old = umask (0277); /* fchmod must give 0600 even so */
  int ret;

  /* A stale tmp file with a loose mode must not leak its mode. */
  put_file (UC_IMG_NAME ".tmp", "x", 1);
  fchmodat (dirfd, UC_IMG_NAME ".tmp", 0666, 0);
  ret = write_sample (dirfd, UC_IMG_NAME, N_SAMPLE, &err);
  umask (old);
  tap_check_ok (ret, &err, "write 4 dgrams");
  CHECK (sample_head.n_dgrams == N_SAMPLE && sample_head.version == UC_IMG_VERSION, "writer sets n_dgrams, version");
  CHECK (fstatat (dirfd, UC_IMG_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == 0600
             && S_ISREG (st.st_mode),
         "image is a regular file with mode 0600");
  CHECK (faccessat (dirfd, UC_IMG_NAME ".tmp", F_OK, 0) < 0 && errno == ENOENT, "no tmp file left behind");

  ret = uc_image_read (dirfd, UC_IMG_NAME, &img, &err);
  tap_check_ok (ret, &err, "read it back");
  if (ret < 0)
    return;
  CHECK (img.head->version == UC_IMG_VERSION && img.head->n_dgrams == N_SAMPLE && img.n_dgrams == N_SAMPLE,
         "head: version and count");
  CHECK (strcmp (img.head->container_id, "c0ffee") == 0 && img.head->has_created_ns
             && img.head->created_ns == sample_head.created_ns,
         "head: container id, created_ns");
  for (i = 0; i < N_SAMPLE; i++)
    CHECK (same_dgram (img.dgrams[i], &sample[i]), "dgram %zu round trips (%zu payload bytes, family %u)", i,
           sample[i].payload.len, sample[i].family);
  uc_image_free (&img);
  CHECK (img.head == NULL && img.n_dgrams == 0, "uc_image_free zeroes");

  ret = write_dgrams (dirfd, "empty.img", NULL, 0, &err);
  tap_check_ok (ret, &err, "write 0 dgrams");
  ret = uc_image_read (dirfd, "empty.img", &img, &err);
  tap_check_ok (ret, &err, "read 0 dgrams");
  CHECK (img.n_dgrams == 0 && img.head && img.head->n_dgrams == 0, "empty image has no dgrams");
  uc_image_free (&img);

  ret = write_dgrams (AT_FDCWD, "/nonexistent-dir/x.img", NULL, 0, &err);
  tap_check_error (ret, &err, "/nonexistent-dir/x.img.tmp", "write into a missing dir names the file");
}

/* Many entries, 64 KiB and small ones mixed: the image writer packs them
 * into its 256 KiB output buffer and flushes it between entries several
 * times; the capture log writes each entry at once. Both read back equal. */
static void
test_many_entries (void)
{
  enum
  {
    N = 41
  };
  static UcDgram many[N];
  UcDgram *ptrs[N];
  UcHead head = sample_head;
  struct uc_image_log l;
  struct uc_image img;
  uc_error_t err = NULL;
  bool torn = true;
  size_t i, bytes = 0, same = 0;
  int ret;

  for (i = 0; i < N; i++)
    {
      many[i] = sample[i % N_SAMPLE];
      if (i % 3 == 0 && many[i].pending_family)
        {
          many[i].payload.data = big;
          many[i].payload.len = BIG_PAYLOAD - i;
        }
      many[i].pid = 1000 + i;
      many[i].cookie = 0x4242000000000000ull + i;
      ptrs[i] = &many[i];
      bytes += many[i].payload.len;
    }
  ret = write_dgrams (dirfd, "many.img", ptrs, N, &err);
  CHECK (bytes > 2 * (256u << 10), "%d dgrams hold %zu payload bytes (several output buffers)", N, bytes);
  tap_check_ok (ret, &err, "write them");
  ret = uc_image_read (dirfd, "many.img", &img, &err);
  tap_check_ok (ret, &err, "read them back");
  if (ret == 0)
    {
      for (i = 0; i < img.n_dgrams && i < N; i++)
        same += same_dgram (img.dgrams[i], &many[i]);
      CHECK (img.n_dgrams == N && same == N, "all %d round trip in order (%zu equal)", N, same);
      size_t mapped = 0, nonempty = 0;
      for (i = 0; i < N; i++)
        nonempty += many[i].payload.len > 0;
      for (i = 0; i < img.n_dgrams; i++)
        mapped += img.map && img.dgrams[i]->payload.len && img.dgrams[i]->payload.data >= img.map
                  && img.dgrams[i]->payload.data + img.dgrams[i]->payload.len <= img.map + img.map_len;
      CHECK (mapped == nonempty && nonempty > 0, "every non-empty payload points into the file's mapping (%zu of %zu)",
             mapped, nonempty);
      for (i = 0; i < img.n_dgrams; i++)
        uc_image_drop (&img, img.dgrams[i]);
      same = 0;
      for (i = 0; i < img.n_dgrams && i < N; i++)
        same += same_dgram (img.dgrams[i], &many[i]);
      CHECK (same == N, "payloads read again after their pages were dropped: still equal (%zu)", same);
      uc_image_free (&img);
    }

  ret = uc_image_log_open (dirfd, &head, &l, &err);
  for (i = 0; i < N && ret == 0; i++)
    ret = uc_image_log_append (&l, &many[i], &err);
  tap_check_ok (ret, &err, "capture log: every entry appended");
  /* the image made of the log's entries (copied by the kernel) */
  UcHead head2 = sample_head;
  struct uc_image from = { .head = &head2 };
  ret = uc_image_write_from_log (dirfd, "fromlog.img", &from, &l, &err);
  tap_check_ok (ret, &err, "image written from the capture log's entries");
  ret = uc_image_read (dirfd, "fromlog.img", &img, &err);
  tap_check_ok (ret, &err, "that image read back");
  if (ret == 0)
    {
      same = 0;
      for (i = 0; i < img.n_dgrams && i < N; i++)
        same += same_dgram (img.dgrams[i], &many[i]);
      CHECK (img.n_dgrams == N && img.head->n_dgrams == N && same == N,
             "image from the log: all %d entries in order (%zu equal)", N, same);
      uc_image_free (&img);
    }
  from.n_dgrams = 1;
  ret = uc_image_write_from_log (dirfd, "fromlog.img", &from, &l, &err);
  tap_check_error (ret, &err, "both in memory and in the capture log", "datagrams in memory and in the log: refused");
  unlinkat (dirfd, "fromlog.img", 0);
  uc_image_log_close (&l, false);
  ret = uc_image_read_log (dirfd, &img, &torn, &err);
  tap_check_ok (ret, &err, "capture log read back");
  if (ret == 0)
    {
      same = 0;
      for (i = 0; i < img.n_dgrams && i < N; i++)
        same += same_dgram (img.dgrams[i], &many[i]);
      CHECK (img.n_dgrams == N && same == N && ! torn, "capture log: all %d round trip, none torn", N);
      uc_image_free (&img);
    }
  unlinkat (dirfd, UC_LOG_NAME, 0);
}

static void
test_write_failure (void)
{
  uc_error_t err = NULL;
  int ret;

  /* rename onto a non-empty directory fails: the tmp file must go. */
  mkdirat (dirfd, "adir", 0700);
  put_file ("adir/f", "x", 1);
  ret = write_sample (dirfd, "adir", 1, &err);
  tap_check_error (ret, &err, "adir", "write over a directory fails");
  CHECK (faccessat (dirfd, "adir.tmp", F_OK, 0) < 0, "failed write leaves no tmp file");

  /* Something planted under the tmp name (a symlink, a FIFO, a hard link
   * to another file) is removed, never followed, opened or truncated. */
  symlinkat ("/tmp/udpcork-should-not-exist", dirfd, "link.img.tmp");
  ret = write_sample (dirfd, "link.img", 1, &err);
  tap_check_ok (ret, &err, "write over a symlink planted at the tmp name");
  CHECK (access ("/tmp/udpcork-should-not-exist", F_OK) < 0, "symlink target not created");
  mkfifoat (dirfd, "fifo2.img.tmp", 0600);
  ret = write_sample (dirfd, "fifo2.img", 1, &err);
  tap_check_ok (ret, &err, "write over a FIFO planted at the tmp name (does not block)");
  put_file ("victim", "precious", 8);
  linkat (dirfd, "victim", dirfd, "hard.img.tmp", 0);
  ret = write_sample (dirfd, "hard.img", 1, &err);
  tap_check_ok (ret, &err, "write over a hard link planted at the tmp name");
  {
    char buf[16] = "";
    int fd = openat (dirfd, "victim", O_RDONLY);
    ssize_t n = fd >= 0 ? read (fd, buf, sizeof (buf)) : -1;
    if (fd >= 0)
      close (fd);
    CHECK (n == 8 && memcmp (buf, "precious", 8) == 0, "the hard link's other name is not truncated");
  }
}

static void
test_missing_and_special (void)
{
  struct uc_image img;
  uc_error_t err = NULL;
  int ret;

  ret = uc_image_read (dirfd, "missing.img", &img, &err);
  CHECK (ret < 0 && err && err->status == ENOENT, "missing file: status ENOENT");
  uc_error_release (&err);

  symlinkat (UC_IMG_NAME, dirfd, "sym.img");
  read_fails ("sym.img", "symbolic link", "symlink refused");
  mkfifoat (dirfd, "fifo.img", 0600);
  read_fails ("fifo.img", "not a regular file", "fifo refused");
  read_fails ("adir", "not a regular file", "directory refused");
}

static void
test_truncated (void)
{
  uint8_t *full;
  size_t len, off, failed = 0;
  char desc[64];

  if (write_sample (dirfd, "small.img", 2, &(uc_error_t){ NULL }) < 0)
    exit (2);
  full = get_file ("small.img", &len);
  for (off = 0; off < len; off++)
    {
      struct uc_image img;
      uc_error_t err = NULL;

      put_file ("cut.img", full, off);
      if (uc_image_read (dirfd, "cut.img", &img, &err) == 0 || ! err || ! strstr (err->msg, "truncated"))
        {
          failed++;
          snprintf (desc, sizeof (desc), "truncated at %zu", off);
          tap_check (false, "%s: %s", desc, err ? err->msg : "read succeeded");
        }
      uc_image_free (&img);
      uc_error_release (&err);
    }
  CHECK (failed == 0, "truncating a %zu-byte image at each offset fails with \"truncated\"", len);

  put_file ("cut.img", full, 10);
  read_fails ("cut.img", "truncated at byte offset 8", "truncated error names the offset");
  free (full);
}

static void
test_corrupt_frame (void)
{
  uint8_t *full;
  size_t len;

  full = get_file ("small.img", &len);
  full[0] ^= 0xff;
  put_file ("bad.img", full, len);
  read_fails ("bad.img", "not a udpcork image", "bad magic");
  full[0] ^= 0xff;

  full[4] = 2;
  put_file ("bad.img", full, len);
  read_fails ("bad.img", "image version 2 is newer than supported 1", "future version");
  full[4] = 0;
  put_file ("bad.img", full, len);
  read_fails ("bad.img", "unsupported image version 0", "version 0");
  full[4] = 1;

  put_file ("bad.img", full, len + 1);
  read_fails ("bad.img", "trailing data", "one byte of trailing garbage");
  put_file ("bad.img", "", 0);
  read_fails ("bad.img", "not a udpcork image", "empty file");
  free (full);
}

static void
test_corrupt_entries (void)
{
  static const uint8_t unknown_only[] = { 0xf8, 0x07, 0x01 }; /* field 127 = 1: required fields missing */
  struct buf b;

  buf_start (&b, UC_IMG_VERSION, 0);
  b.data[8] = 0; /* head size 0 */
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "has invalid size 0", "entry size 0");

  buf_start (&b, UC_IMG_VERSION, 0);
  b.data[11] = 0x01; /* head size 16 MiB + */
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "must be 1..1048576", "entry size > 1 MiB");

  b.len = 0;
  buf_u32 (&b, UC_IMG_MAGIC);
  buf_u32 (&b, UC_IMG_VERSION);
  buf_raw_entry (&b, unknown_only, sizeof (unknown_only));
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "corrupt entry 0", "head missing required fields");

  buf_start (&b, UC_IMG_VERSION, 1);
  buf_raw_entry (&b, unknown_only, sizeof (unknown_only));
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "corrupt entry 1", "dgram missing required fields");

  buf_start (&b, UC_IMG_VERSION, 1);
  buf_raw_entry (&b, "\x0a\x7f", 2); /* length-delimited field 1 running past the end */
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "corrupt entry 1", "dgram with an overlong field");

  buf_start (&b, 2, 0);
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "head version 2 does not match", "head version mismatch");

  buf_start (&b, UC_IMG_VERSION, 2);
  buf_msg (&b, &sample[0].base);
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "entry 2 (dgram 2 of 2) is missing", "fewer dgrams than the head says");

  buf_start (&b, UC_IMG_VERSION, 1);
  buf_msg (&b, &sample[0].base);
  buf_msg (&b, &sample[3].base);
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "more entries than the 1 declared", "more dgrams than the head says");

  buf_start (&b, UC_IMG_VERSION, 4000000000u);
  buf_msg (&b, &sample[0].base);
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "head declares 4000000000 dgrams", "absurd dgram count refused before allocating");

  buf_start (&b, UC_IMG_VERSION, UC_IMG_MAX_ENTRIES + 1);
  buf_msg (&b, &sample[0].base);
  put_file ("bad.img", b.data, b.len);
  read_fails ("bad.img", "more than the 1048576 entries udpcork writes", "more entries than a dump ever writes");

  {
    UcDgram d = sample[0];
    d.local_addr.len = 3;
    buf_start (&b, UC_IMG_VERSION, 1);
    buf_msg (&b, &d.base);
    put_file ("bad.img", b.data, b.len);
    read_fails ("bad.img", "local address has 3 bytes", "local address of the wrong size");
    d = sample[0];
    d.family = AF_UNIX;
    buf_start (&b, UC_IMG_VERSION, 1);
    buf_msg (&b, &d.base);
    put_file ("bad.img", b.data, b.len);
    read_fails ("bad.img", "unknown address family 1", "unknown family");
  }
}

/* Flip every byte after the frame header: reading must fail cleanly or
 * succeed; a crash ends the test (and bats reports it). */
static void
test_flipped_bytes (void)
{
  uint8_t *full;
  size_t len, off, failed = 0, bad_msg = 0;

  full = get_file ("small.img", &len);
  for (off = 8; off < len; off++)
    {
      struct uc_image img;
      uc_error_t err = NULL;
      int ret;

      full[off] ^= 0xff;
      put_file ("flip.img", full, len);
      full[off] ^= 0xff;
      ret = uc_image_read (dirfd, "flip.img", &img, &err);
      if (ret < 0)
        {
          failed++;
          if (! err || strchr (err->msg, '\n') || ! strstr (err->msg, "flip.img"))
            bad_msg++;
        }
      else if (img.n_dgrams != 2 || img.head->n_dgrams != 2)
        bad_msg++;
      uc_image_free (&img);
      uc_error_release (&err);
    }
  printf ("# %zu of %zu flipped bytes detected\n", failed, len - 8);
  CHECK (bad_msg == 0, "flipped bytes: clean errors naming the file, or a consistent image");
  CHECK (failed > 0, "flipped bytes: some are detected");
  free (full);
}

/* Print through a memory stream; returns the text (caller frees). */
static char *
print_to_string (const struct uc_image *img, bool json)
{
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&text, &size);
  uc_error_t err = NULL;
  int ret = uc_image_print (f, img, json, &err);

  fclose (f);
  tap_check_ok (ret, &err, json ? "print JSON" : "print table");
  return text;
}

/* The string at KEY of object V, or "" (never NULL). */
static const char *
jstr (yajl_val v, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val s = yajl_tree_get (v, path, yajl_t_string);

  return s && s->u.string ? s->u.string : "";
}

static bool
json_dgram_ok (yajl_val d)
{
  static const char *p_bytes[] = { "bytes", NULL };
  yajl_val bytes = yajl_tree_get (d, p_bytes, yajl_t_number);

  return strcmp (jstr (d, "family"), "inet6") == 0 && strcmp (jstr (d, "destination"), "[::1]:9999") == 0
         && strcmp (jstr (d, "mode"), "MSG_MORE") == 0 && YAJL_IS_INTEGER (bytes) && YAJL_GET_INTEGER (bytes) == 0
         && strcmp (jstr (d, "sha256"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0;
}

static void
test_print (void)
{
  static const char *p_dgrams[] = { "dgrams", NULL };
  struct uc_image img;
  uc_error_t err = NULL;
  char *text;
  yajl_val root, dgrams;

  if (uc_image_read (dirfd, UC_IMG_NAME, &img, &err) < 0)
    exit (2);
  text = print_to_string (&img, false);
  CHECK (strncmp (text, "PID", 3) == 0 && strstr (text, "SHA256"), "table: header line");
  CHECK (strstr (text, "127.0.0.1:40000") && strstr (text, "127.0.0.1:9999") && strstr (text, "UDP_CORK"),
         "table: IPv4 row");
  CHECK (strstr (text, "[::1]:40001") && strstr (text, "[::1]:9999") && strstr (text, "MSG_MORE")
             && strstr (text, "e3b0c44298fc") && ! strstr (text, "e3b0c44298fc1"),
         "table: IPv6 row, sha256 cut to 12 digits");
  CHECK (strstr (text, "65507"), "table: byte count");
  free (text);

  text = print_to_string (&img, true);
  root = yajl_tree_parse (text, NULL, 0);
  dgrams = yajl_tree_get (root, p_dgrams, yajl_t_array);
  CHECK (root && strcmp (jstr (root, "container_id"), "c0ffee") == 0, "JSON: parses, container_id");
  CHECK (dgrams && YAJL_GET_ARRAY (dgrams)->len == N_SAMPLE && json_dgram_ok (YAJL_GET_ARRAY (dgrams)->values[1]),
         "JSON: dgrams array with the IPv6 entry");
  CHECK (strstr (text, "\"ttl\": null") != NULL, "JSON: absent ttl is null");
  yajl_tree_free (root);
  free (text);
  uc_image_free (&img);
}

static int
sample_only (const char *dir)
{
  uc_error_t err = NULL;

  dirfd = open (dir, O_RDONLY | O_DIRECTORY);
  if (dirfd < 0)
    {
      perror (dir);
      return 1;
    }
  if (write_sample (dirfd, UC_IMG_NAME, N_SAMPLE, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  int ret;

  init_sample ();
  if (argc == 3 && strcmp (argv[1], "--write-sample") == 0)
    return sample_only (argv[2]);
  if (argc != 1)
    {
      fprintf (stderr, "usage: %s [--write-sample DIR]\n", argv[0]);
      return 2;
    }
  if (mkdtemp (tmpdir) == NULL || (dirfd = open (tmpdir, O_RDONLY | O_DIRECTORY)) < 0)
    {
      perror ("mkdtemp");
      return 2;
    }
  test_sha256 ();
  test_addr_str ();
  test_round_trip ();
  test_many_entries ();
  test_write_failure ();
  test_missing_and_special ();
  test_truncated ();
  test_corrupt_frame ();
  test_corrupt_entries ();
  test_flipped_bytes ();
  test_print ();
  ret = tap_done ();
  if (ret == 0)
    {
      char cmd[64];
      snprintf (cmd, sizeof (cmd), "rm -rf %s", tmpdir);
      if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", tmpdir);
    }
  return ret;
}
