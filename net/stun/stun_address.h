#pragma once

// A transport address as carried in STUN address attributes (RFC 8489 §14.1/§14.2).

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace medrelay::net::stun {

struct StunAddress {
  enum class Family : uint8_t { kIPv4 = 0x01, kIPv6 = 0x02 };  // wire values

  Family family = Family::kIPv4;
  std::array<uint8_t, 16> ip{};  // network order; IPv4 uses the first 4 bytes
  uint16_t port = 0;             // host order

  size_t ipSize() const { return family == Family::kIPv4 ? 4 : 16; }
  static StunAddress ipv4(std::array<uint8_t, 4> a, uint16_t port);
  static StunAddress ipv6(const std::array<uint8_t, 16>& a, uint16_t port);
  // From/to sockaddr_in / sockaddr_in6. fromSockaddr returns false for other families.
  static bool fromSockaddr(const sockaddr* sa, StunAddress& out);
  socklen_t toSockaddr(sockaddr_storage& out) const;

  bool operator==(const StunAddress& o) const {
    return family == o.family && port == o.port && ip == o.ip;
  }
};

}  // namespace medrelay::net::stun
