// SPDX-License-Identifier: GPL-2.0-or-later
#include "sock.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"
#include "xalloc.h"

int
uc_sockopt (int fd, int level, int name, int dflt)
{
  int v = dflt;
  socklen_t l = sizeof (v);

  if (getsockopt (fd, level, name, &v, &l) < 0)
    return dflt;
  return v;
}

int
uc_sock_outq (int fd)
{
  int v = -1;

  if (ioctl (fd, SIOCOUTQ, &v) < 0)
    return -1;
  return v;
}

int
uc_sock_check (int fd, const struct uc_sock_id *id, uc_error_t *err)
{
  struct sockaddr_storage ss;
  socklen_t l = sizeof (ss);
  int type, dom, proto;
  const void *addr;
  unsigned port;
  struct stat st;

  if (id->ino && (fstat (fd, &st) < 0 || (unsigned long long) st.st_ino != id->ino))
    return uc_make_error (err, 0, "no longer the socket udpcork saw (inode %llu, not %llu)",
                          (unsigned long long) st.st_ino, id->ino);
  if (id->family == 0)
    return 0;
  type = uc_sockopt (fd, SOL_SOCKET, SO_TYPE, -1);
  dom = uc_sockopt (fd, SOL_SOCKET, SO_DOMAIN, -1);
  proto = uc_sockopt (fd, SOL_SOCKET, SO_PROTOCOL, -1);
  if (type != SOCK_DGRAM || dom != (int) id->family || proto != (int) id->protocol)
    return uc_make_error (err, 0, "not the saved socket (type %d domain %d protocol %d, expected datagram %u/%u)", type,
                          dom, proto, id->family, id->protocol);
  if (getsockname (fd, (struct sockaddr *) &ss, &l) < 0)
    return uc_make_error (err, errno, "getsockname");
  if (dom == AF_INET)
    {
      addr = &((struct sockaddr_in *) &ss)->sin_addr;
      port = ntohs (((struct sockaddr_in *) &ss)->sin_port);
    }
  else
    {
      addr = &((struct sockaddr_in6 *) &ss)->sin6_addr;
      port = ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
    }
  if (port != id->port || memcmp (addr, id->addr, dom == AF_INET ? 4 : 16) != 0)
    {
      char a[UC_ADDRSTRLEN], b[UC_ADDRSTRLEN];
      return uc_make_error (err, 0, "not the saved socket: bound to %s, saved %s",
                            uc_addr_str (dom, addr, port, a, sizeof (a)),
                            uc_addr_str (dom, id->addr, id->port, b, sizeof (b)));
    }
  return 0;
}

int
uc_sock_open (const struct uc_container *c, pid_t pid, int fd, const struct uc_sock_id *id, uc_error_t *err)
{
  cleanup_close int s = uc_proc_getfd (c, pid, fd, err);
  int ret;

  if (s < 0 || (id && uc_sock_check (s, id, err) < 0))
    return -1;
  ret = s;
  s = -1;
  return ret;
}

const char *
uc_sock_name (char *buf, size_t len, pid_t hostpid, pid_t nspid, int fd, int family, const void *addr, unsigned port)
{
  char a[UC_ADDRSTRLEN], p[40] = "";

  if (hostpid)
    snprintf (p, sizeof (p), "pid %d (", hostpid);
  snprintf (buf, len, "%scontainer pid %d%s fd %d %s %s", p, nspid, hostpid ? ")" : "", fd,
            family == AF_INET6 ? "udp6" : "udp", uc_addr_str (family, addr, port, a, sizeof (a)));
  return buf;
}
