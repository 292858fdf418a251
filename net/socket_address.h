#pragma once

// An IPv4/IPv6 transport address as the sockets see it (sockaddr_in/sockaddr_in6), a value type
// usable as a hash-map key. Converts to and from the STUN codec's StunAddress.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/stun/stun_address.h"

namespace medrelay::net {

class SocketAddress {
 public:
  SocketAddress() { u_.sa.sa_family = AF_UNSPEC; }

  // nullopt unless sa is AF_INET/AF_INET6 and len covers it.
  static std::optional<SocketAddress> fromSockaddr(const sockaddr* sa, socklen_t len);
  // "1.2.3.4:5", "[::1]:5" (brackets required for IPv6).
  static std::optional<SocketAddress> parse(std::string_view text);
  // A literal IP ("127.0.0.1", "::1") and a port.
  static std::optional<SocketAddress> fromIp(std::string_view ip, uint16_t port);
  static SocketAddress fromStun(const stun::StunAddress& a);

  stun::StunAddress toStun() const;
  int family() const { return u_.sa.sa_family; }
  bool isIpv4() const { return family() == AF_INET; }
  bool isIpv6() const { return family() == AF_INET6; }
  bool valid() const { return isIpv4() || isIpv6(); }
  bool isWildcard() const;
  uint16_t port() const;
  void setPort(uint16_t port);

  const sockaddr* sockaddrPtr() const { return &u_.sa; }
  socklen_t sockaddrLength() const;
  // For recvmsg()/accept(): writable storage of capacity() bytes.
  sockaddr* mutableSockaddr() { return &u_.sa; }
  static constexpr socklen_t capacity() { return sizeof(Storage); }

  std::string ipString() const;
  std::string toString() const;  // "ip:port" / "[ip]:port"

  size_t hash() const;
  bool operator==(const SocketAddress& o) const;

 private:
  union Storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage u_{};
};

struct SocketAddressHash {
  size_t operator()(const SocketAddress& a) const { return a.hash(); }
};

enum class TransportProtocol : uint8_t { kUdp, kTcp };

// The remote end of a path as one media worker sees it: which local socket/listener
// (localIndex), UDP or an ICE-TCP connection (connectionId), and the remote address.
struct TransportTuple {
  TransportProtocol protocol = TransportProtocol::kUdp;
  uint8_t localIndex = 0;
  uint32_t connectionId = 0;  // TCP only; 0 for UDP
  SocketAddress remote;

  bool operator==(const TransportTuple& o) const {
    return protocol == o.protocol && localIndex == o.localIndex && connectionId == o.connectionId &&
           remote == o.remote;
  }
  size_t hash() const;
  std::string toString() const;  // "udp 1.2.3.4:5" / "tcp#7 1.2.3.4:5"
};

struct TransportTupleHash {
  size_t operator()(const TransportTuple& t) const { return t.hash(); }
};

}  // namespace medrelay::net
