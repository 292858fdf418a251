#include "net/socket_util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace medrelay::net {

Error socketError(const char* what) {
  return makeError("socket_error", std::string(what) + ": " + std::strerror(errno));
}

Result<int> listenTcp(const SocketAddress& bind, int backlog, SocketAddress& local) {
  const int family = bind.family();
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return socketError("socket");
  auto fail = [fd](const char* what) {
    Error e = socketError(what);
    ::close(fd);
    return e;
  };
  const int on = 1;
  // A listener may rebind while old connections linger in TIME_WAIT.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd, bind.sockaddrPtr(), bind.sockaddrLength()) != 0) return fail("bind");
  if (::listen(fd, backlog) != 0) return fail("listen");
  socklen_t len = SocketAddress::capacity();
  if (getsockname(fd, local.mutableSockaddr(), &len) != 0) return fail("getsockname");
  return fd;
}

}  // namespace medrelay::net
