#include "net/stun/stun_address.h"

#include <cstring>

namespace medrelay::net::stun {

StunAddress StunAddress::ipv4(std::array<uint8_t, 4> a, uint16_t port) {
  StunAddress s;
  s.family = Family::kIPv4;
  std::memcpy(s.ip.data(), a.data(), 4);
  s.port = port;
  return s;
}

StunAddress StunAddress::ipv6(const std::array<uint8_t, 16>& a, uint16_t port) {
  StunAddress s;
  s.family = Family::kIPv6;
  s.ip = a;
  s.port = port;
  return s;
}

bool StunAddress::fromSockaddr(const sockaddr* sa, StunAddress& out) {
  if (sa == nullptr) return false;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof(in));
    out = StunAddress{};
    out.family = Family::kIPv4;
    std::memcpy(out.ip.data(), &in.sin_addr, 4);
    out.port = ntohs(in.sin_port);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof(in6));
    out = StunAddress{};
    out.family = Family::kIPv6;
    std::memcpy(out.ip.data(), &in6.sin6_addr, 16);
    out.port = ntohs(in6.sin6_port);
    return true;
  }
  return false;
}

socklen_t StunAddress::toSockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof(out));
  if (family == Family::kIPv4) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, ip.data(), 4);
    std::memcpy(&out, &in, sizeof(in));
    return sizeof(in);
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, ip.data(), 16);
  std::memcpy(&out, &in6, sizeof(in6));
  return sizeof(in6);
}

}  // namespace medrelay::net::stun
