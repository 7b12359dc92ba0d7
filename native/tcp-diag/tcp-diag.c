// What the kernel holds for one TCP connection, by its addresses and ports, through sock_diag
// (the netlink interface `ss` uses): queues(localAddress, localPort, remoteAddress, remotePort) ->
// [receive queue, send queue] in bytes (idiag_rqueue: received and not read by the process;
// idiag_wqueue: written and not acknowledged), or undefined when no ESTABLISHED connection has
// those ends. One request names the connection, so the kernel looks it up in its hash: some
// microseconds, where reading /proc/net/tcp walks the whole connection hash (6-13 ms a read here,
// whatever it lists). Any socket of the host can be asked for, the peer's end of a loopback
// connection too; no privilege is needed. Linux only; needs no library.
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int nl_fd = -1;
static uint32_t seq = 0;

static int open_netlink(void) {
  if (nl_fd >= 0) return 0;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -errno;
  // The answer is queued while the request is sent; a deadline all the same.
  struct timeval deadline = {.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
  nl_fd = fd;
  return 0;
}

// 0 and the queues when found, 1 when there is no such connection, -errno on failure.
static int lookup(int family, const void *src, int sport, const void *dst, int dport, uint32_t *rqueue, uint32_t *wqueue) {
  int err = open_netlink();
  if (err) return err;
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.nlh.nlmsg_seq = ++seq;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1 << TCP_ESTABLISHED;
  msg.req.id.idiag_sport = htons(sport);
  msg.req.id.idiag_dport = htons(dport);
  memcpy(msg.req.id.idiag_src, src, family == AF_INET ? 4 : 16);
  memcpy(msg.req.id.idiag_dst, dst, family == AF_INET ? 4 : 16);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(nl_fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  for (;;) {
    // An answer carries one inet_diag_msg and its attributes (none asked for).
    char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t n = recv(nl_fd, buf, sizeof buf, 0);
    if (n < 0) return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      // An answer to an earlier request that timed out: skip it.
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error == -ENOENT ? 1 : (e->error != 0 ? e->error : -EIO);
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      // The lookup falls back to a listening socket of the local port: only the connection counts.
      if (m->idiag_state != TCP_ESTABLISHED || m->id.idiag_sport != htons(sport) || m->id.idiag_dport != htons(dport)) return 1;
      *rqueue = m->idiag_rqueue;
      *wqueue = m->idiag_wqueue;
      return 0;
    }
  }
}

static int parse_address(napi_env env, napi_value v, int *family, unsigned char out[16]) {
  char text[64];
  size_t len;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok) return 0;
  if (inet_pton(AF_INET, text, out) == 1) {
    *family = AF_INET;
    return 1;
  }
  if (inet_pton(AF_INET6, text, out) == 1) {
    *family = AF_INET6;
    return 1;
  }
  return 0;
}

static napi_value queues(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char local[16] = {0}, remote[16] = {0};
  int local_family = 0, remote_family = 0;
  uint32_t local_port = 0, remote_port = 0;
  if (argc < 4 || !parse_address(env, argv[0], &local_family, local) || !parse_address(env, argv[2], &remote_family, remote) || local_family != remote_family ||
      napi_get_value_uint32(env, argv[1], &local_port) != napi_ok || napi_get_value_uint32(env, argv[3], &remote_port) != napi_ok || local_port > 65535 ||
      remote_port > 65535) {
    napi_throw_type_error(env, NULL, "queues(localAddress, localPort, remoteAddress, remotePort): two IP addresses of one family and two ports");
    return NULL;
  }
  uint32_t rqueue = 0, wqueue = 0;
  int found = lookup(local_family, local, (int)local_port, remote, (int)remote_port, &rqueue, &wqueue);
  napi_value result;
  if (found < 0) {
    char message[128];
    snprintf(message, sizeof message, "sock_diag: %s", strerror(-found));
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  if (found == 1) {
    napi_get_undefined(env, &result);
    return result;
  }
  napi_value r, w;
  napi_create_array_with_length(env, 2, &result);
  napi_create_uint32(env, rqueue, &r);
  napi_create_uint32(env, wqueue, &w);
  napi_set_element(env, result, 0, r);
  napi_set_element(env, result, 1, w);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "queues", NAPI_AUTO_LENGTH, queues, NULL, &fn);
  napi_set_named_property(env, exports, "queues", fn);
  return exports;
}
