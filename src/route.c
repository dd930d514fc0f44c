// SPDX-License-Identifier: GPL-2.0-or-later
#include "route.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "xalloc.h"

int
uc_route_is_local (int family, const void *addr, bool *local, uc_error_t *err)
{
  struct
  {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[64];
  } req = { 0 };
  union
  {
    char buf[4096];
    struct nlmsghdr align;
  } resp;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  size_t alen = family == AF_INET ? 4 : 16;
  struct rtattr *a;
  cleanup_close int s = -1;
  ssize_t n;

  *local = false;
  s = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0)
    return uc_make_error (err, errno, "rtnetlink socket");
  req.nh.nlmsg_len = NLMSG_LENGTH (sizeof (struct rtmsg));
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = family;
  req.rt.rtm_dst_len = alen * 8;
  a = (struct rtattr *) ((char *) &req + NLMSG_ALIGN (req.nh.nlmsg_len));
  a->rta_type = RTA_DST;
  a->rta_len = RTA_LENGTH (alen);
  memcpy (RTA_DATA (a), addr, alen);
  req.nh.nlmsg_len = NLMSG_ALIGN (req.nh.nlmsg_len) + RTA_ALIGN (a->rta_len);
  if (sendto (s, &req, req.nh.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof (kernel)) < 0)
    return uc_make_error (err, errno, "rtnetlink RTM_GETROUTE");
  do
    n = recv (s, &resp, sizeof (resp), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return uc_make_error (err, errno, "rtnetlink reply");
  for (struct nlmsghdr *h = &resp.align; NLMSG_OK (h, (size_t) n); h = NLMSG_NEXT (h, n))
    {
      if (h->nlmsg_type == NLMSG_ERROR)
        return 0; /* no route: not local */
      if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH (sizeof (struct rtmsg)))
        {
          *local = ((struct rtmsg *) NLMSG_DATA (h))->rtm_type == RTN_LOCAL;
          return 0;
        }
    }
  return uc_make_error (err, 0, "rtnetlink: no route in the reply");
}
