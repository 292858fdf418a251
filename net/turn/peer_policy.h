#pragma once

// Which peer addresses a TURN allocation may reach (RFC 8656 §21.4, §22.1 "the server may
// restrict the peers"). Default: only medrelay's own media addresses. An operator widens this
// with allow lists and narrows it with deny lists; loopback, unspecified, link-local, private,
// CGNAT, multicast, reserved and broadcast ranges stay refused unless an allow entry lies inside
// such a range (an explicit allow: 0.0.0.0/0 does not open 127.0.0.1, 127.0.0.1/32 does).
// IPv4-in-IPv6 forms (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96 and
// 64:ff9b:1::/48, 6to4 2002::/16) are judged by the IPv4 address they embed.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/socket_address.h"
#include "net/stun/stun_address.h"

namespace medrelay::net::turn {

struct Cidr {
  stun::StunAddress::Family family = stun::StunAddress::Family::kIPv4;
  std::array<uint8_t, 16> ip{};
  uint8_t prefix = 0;

  // "10.0.0.0/8", "fe80::/10", or a bare address (full-length prefix).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const stun::StunAddress& a) const;  // same family only; port ignored
  // True when every address of this block is inside one of the always-refused ranges.
  bool insideRefusedRange() const;
};

class PeerPolicy {
 public:
  enum class Verdict : uint8_t { kOwnAddress, kAllowed, kDenied, kRefusedRange, kNotAllowed };

  PeerPolicy() = default;
  static Result<PeerPolicy> create(const std::vector<std::string>& allow,
                                   const std::vector<std::string>& deny);

  // medrelay's own media address (the SFU): exact ip:port (port 0: any port of that IP).
  // Allowed before any other rule, even on this machine where it is 127.0.0.1.
  void addOwnAddress(const SocketAddress& a);
  void clearOwnAddresses() { own_.clear(); }

  Verdict check(const stun::StunAddress& peer) const;
  bool allowed(const stun::StunAddress& peer) const {
    const Verdict v = check(peer);
    return v == Verdict::kOwnAddress || v == Verdict::kAllowed;
  }

  // The IPv4 address embedded in an IPv4-in-IPv6 form, as an IPv4 StunAddress (same port);
  // the address itself otherwise.
  static stun::StunAddress normalize(const stun::StunAddress& a);
  // Loopback, unspecified, private, ... (see the file comment), after normalize().
  static bool inRefusedRange(const stun::StunAddress& a);

 private:
  struct Entry {
    Cidr cidr;
    bool refusedRange = false;  // the entry explicitly opens (part of) a refused range
  };
  std::vector<Entry> allow_;
  std::vector<Cidr> deny_;
  std::vector<stun::StunAddress> own_;
};

}  // namespace medrelay::net::turn
