#include "net/socket_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace medrelay::net {

namespace {

// FNV-1a: cheap, no allocation, good enough for keys that attackers can vary only by port/IP.
constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
uint64_t fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

std::optional<uint16_t> parsePort(std::string_view s) {
  unsigned v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<SocketAddress> SocketAddress::fromSockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return std::nullopt;
  SocketAddress a;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&a.u_.v4, sa, sizeof(sockaddr_in));
    return a;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&a.u_.v6, sa, sizeof(sockaddr_in6));
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::fromIp(std::string_view ip, uint16_t port) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  SocketAddress a;
  if (inet_pton(AF_INET, buf, &a.u_.v4.sin_addr) == 1) {
    a.u_.v4.sin_family = AF_INET;
    a.u_.v4.sin_port = htons(port);
    return a;
  }
  a = SocketAddress();
  if (inet_pton(AF_INET6, buf, &a.u_.v6.sin6_addr) == 1) {
    a.u_.v6.sin6_family = AF_INET6;
    a.u_.v6.sin6_port = htons(port);
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    const auto port = parsePort(text.substr(close + 2));
    auto a = port ? fromIp(text.substr(1, close - 1), *port) : std::nullopt;
    if (!a || !a->isIpv6()) return std::nullopt;
    return a;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
  const auto port = parsePort(text.substr(colon + 1));
  auto a = port ? fromIp(text.substr(0, colon), *port) : std::nullopt;
  if (!a || !a->isIpv4()) return std::nullopt;
  return a;
}

SocketAddress SocketAddress::fromStun(const stun::StunAddress& s) {
  sockaddr_storage ss;
  const socklen_t len = s.toSockaddr(ss);
  return *fromSockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

stun::StunAddress SocketAddress::toStun() const {
  stun::StunAddress s;
  stun::StunAddress::fromSockaddr(&u_.sa, s);
  return s;
}

bool SocketAddress::isWildcard() const {
  if (isIpv4()) return u_.v4.sin_addr.s_addr == htonl(INADDR_ANY);
  if (isIpv6()) return IN6_IS_ADDR_UNSPECIFIED(&u_.v6.sin6_addr);
  return false;
}

uint16_t SocketAddress::port() const {
  if (isIpv4()) return ntohs(u_.v4.sin_port);
  if (isIpv6()) return ntohs(u_.v6.sin6_port);
  return 0;
}

void SocketAddress::setPort(uint16_t port) {
  if (isIpv4()) u_.v4.sin_port = htons(port);
  if (isIpv6()) u_.v6.sin6_port = htons(port);
}

socklen_t SocketAddress::sockaddrLength() const {
  if (isIpv4()) return sizeof(sockaddr_in);
  if (isIpv6()) return sizeof(sockaddr_in6);
  return 0;
}

std::string SocketAddress::ipString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (isIpv4()) inet_ntop(AF_INET, &u_.v4.sin_addr, buf, sizeof(buf));
  if (isIpv6()) inet_ntop(AF_INET6, &u_.v6.sin6_addr, buf, sizeof(buf));
  return buf;
}

std::string SocketAddress::toString() const {
  if (isIpv4()) return ipString() + ":" + std::to_string(port());
  if (isIpv6()) return "[" + ipString() + "]:" + std::to_string(port());
  return "unspecified";
}

size_t SocketAddress::hash() const {
  uint64_t h = kFnvOffset;
  const uint16_t fam = static_cast<uint16_t>(family());
  h = fnv(h, &fam, sizeof(fam));
  if (isIpv4()) {
    h = fnv(h, &u_.v4.sin_port, sizeof(u_.v4.sin_port));
    h = fnv(h, &u_.v4.sin_addr, sizeof(u_.v4.sin_addr));
  } else if (isIpv6()) {
    h = fnv(h, &u_.v6.sin6_port, sizeof(u_.v6.sin6_port));
    h = fnv(h, &u_.v6.sin6_addr, sizeof(u_.v6.sin6_addr));
    h = fnv(h, &u_.v6.sin6_scope_id, sizeof(u_.v6.sin6_scope_id));
  }
  return static_cast<size_t>(h);
}

bool SocketAddress::operator==(const SocketAddress& o) const {
  if (family() != o.family()) return false;
  if (isIpv4()) {
    return u_.v4.sin_port == o.u_.v4.sin_port && u_.v4.sin_addr.s_addr == o.u_.v4.sin_addr.s_addr;
  }
  if (isIpv6()) {
    return u_.v6.sin6_port == o.u_.v6.sin6_port &&
           std::memcmp(&u_.v6.sin6_addr, &o.u_.v6.sin6_addr, sizeof(in6_addr)) == 0 &&
           u_.v6.sin6_scope_id == o.u_.v6.sin6_scope_id;
  }
  return true;  // both unspecified
}

size_t TransportTuple::hash() const {
  uint64_t h = remote.hash();
  const uint8_t head[2] = {static_cast<uint8_t>(protocol), localIndex};
  h = fnv(h, head, sizeof(head));
  h = fnv(h, &connectionId, sizeof(connectionId));
  return static_cast<size_t>(h);
}

std::string TransportTuple::toString() const {
  if (protocol == TransportProtocol::kUdp) return "udp " + remote.toString();
  return "tcp#" + std::to_string(connectionId) + " " + remote.toString();
}

}  // namespace medrelay::net
