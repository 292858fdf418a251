#pragma once

// Small pieces of socket plumbing shared by the listeners and sockets of net/.

#include "common/result.h"
#include "net/socket_address.h"

namespace medrelay::net {

// A "socket_error" Error naming the failed call and errno's text.
Error socketError(const char* what);

// A non-blocking TCP listening socket on bind (SO_REUSEADDR; IPv6 only for IPv6 binds), with
// `local` set to the bound address (port 0 → the ephemeral port). Closed again on failure.
Result<int> listenTcp(const SocketAddress& bind, int backlog, SocketAddress& local);

}  // namespace medrelay::net
