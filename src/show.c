// SPDX-License-Identifier: GPL-2.0-or-later
#include "show.h"
#include "archive_image.h"
#include "image.h"
#include "log.h"
#include "sha256.h"
#include "util.h"
#include "xalloc.h"
#include <inttypes.h>
#include <sys/socket.h>
#include <yajl/yajl_gen.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: udpcork show [--json] DIR|ARCHIVE\n"
                "       udpcork recover --pid PID [-v] DIR\n"
                "       udpcork --help | --version\n"
                "\n"
                "Print the corked UDP datagrams saved in DIR/" UC_IMG_NAME ",\n"
                "DIR being a CRIU checkpoint image directory, or in a checkpoint\n"
                "archive (podman container checkpoint --export: .tar, .tar.gz, .tar.zst).\n"
                "\n"
                "recover: give the datagrams a dump took out of the container whose init\n"
                "is PID back to its sockets, exactly once (after udpcork-prestop or CRIU\n"
                "was killed during a checkpoint).\n"
                "\n"
                "  -j, --json     print JSON instead of a table\n"
                "  -h, --help     show this help\n"
                "  -V, --version  show the version\n");
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
               r->family == AF_INET6 ? "inet6" : "inet", bin_addr (&r->local_addr, r->local_port, local), r->n_dgrams,
               r->bytes);
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

/* The socket's owner and identity: opens the object. */
static void
gen_owner (yajl_gen g, uint32_t pid, uint32_t fd, uint32_t family, const ProtobufCBinaryData *local, uint32_t port)
{
  char a[UC_ADDRSTRLEN];

  yajl_gen_map_open (g);
  gen_str (g, "pid");
  yajl_gen_integer (g, pid);
  gen_str (g, "fd");
  yajl_gen_integer (g, fd);
  gen_str (g, "family");
  gen_str (g, family == AF_INET6 ? "inet6" : family == AF_INET ? "inet" : "?");
  gen_str (g, "local");
  gen_str (g, bin_addr (local, port, a));
}

static void
gen_dgram (yajl_gen g, const UcDgram *d)
{
  struct dgram_view v;

  view_dgram (d, &v);
  gen_owner (g, d->pid, d->fd, d->family, &d->local_addr, d->local_port);
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
      gen_owner (g, r->pid, r->fd, r->family, &r->local_addr, r->local_port);
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

/* Exit status: 0 also when DIR holds no image (nothing was saved). */
static int
show_dir (const char *dir, bool json)
{
  struct uc_image img = { 0 };
  uc_error_t err = NULL;
  struct stat st;
  cleanup_close int dirfd = -1;
  int ret;

  if (stat (dir, &st) == 0 && S_ISREG (st.st_mode))
    {
      char *buf = NULL;
      size_t len = 0;
      ret = uc_archive_read_image (dir, &buf, &len, &err);
      if (ret == 0)
        ret = uc_image_parse (buf, len, UC_IMG_NAME, &img, &err);
      free (buf);
    }
  else
    {
      dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        {
          uc_make_error (&err, errno, "open directory `%s`", dir);
          uc_log_error (&err);
          return 1;
        }
      ret = uc_image_read (dirfd, UC_IMG_NAME, &img, &err);
    }
  if (ret < 0 && uc_error_is (&err, ENOENT))
    {
      printf ("no " UC_IMG_NAME " in %s: nothing was saved\n", dir);
      return 0;
    }
  if (ret == 0)
    ret = uc_image_print (stdout, &img, json, &err);
  uc_image_free (&img);
  if (ret < 0)
    {
      uc_error_wrap (&err, "%s", dir);
      uc_log_error (&err);
      return 1;
    }
  return 0;
}

/* Returns an exit status to end with, or -1 to go on. */
static int
parse_opts (int argc, char **argv, const char *shortopts, bool *json)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  while ((c = getopt_long (argc, argv, shortopts, opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        *json = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      case 'V':
        printf ("udpcork " UDPCORK_VERSION "\n");
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  return -1;
}

int
uc_show_main (int argc, char **argv)
{
  bool json = false;
  int c;

  uc_log_init ("udpcork", 0);
  /* Options before the command word ("+": stop there), then after it. */
  c = parse_opts (argc, argv, "+jhV", &json);
  if (c >= 0)
    return c;
  if (optind >= argc)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[optind], "show") != 0)
    {
      fprintf (stderr, "udpcork: unknown command `%s`\n", argv[optind]);
      usage (stderr);
      return 2;
    }
  argc -= optind;
  argv += optind;
  optind = 0; /* full re-initialisation of getopt */
  c = parse_opts (argc, argv, "jh", &json);
  if (c >= 0)
    return c;
  if (optind != argc - 1)
    {
      fprintf (stderr, "udpcork show: expected exactly one DIR or ARCHIVE\n");
      usage (stderr);
      return 2;
    }
  return show_dir (argv[optind], json);
}
