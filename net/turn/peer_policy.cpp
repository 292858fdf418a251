#include "net/turn/peer_policy.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace medrelay::net::turn {

using stun::StunAddress;
using Family = StunAddress::Family;

namespace {

struct Range {
  Family family;
  std::array<uint8_t, 16> ip;
  uint8_t prefix;
};

constexpr Range v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t prefix) {
  return {Family::kIPv4, {a, b, c, d}, prefix};
}

// Always refused unless explicitly allowed (RFC 6890 special-purpose registries, RFC 8656 §21.4).
constexpr Range kRefused[] = {
    v4(0, 0, 0, 0, 8),                              // "this network", unspecified
    v4(10, 0, 0, 0, 8),                             // private (RFC 1918)
    v4(100, 64, 0, 0, 10),                          // shared address space / CGNAT (RFC 6598)
    v4(127, 0, 0, 0, 8),                            // loopback
    v4(169, 254, 0, 0, 16),                         // link-local
    v4(172, 16, 0, 0, 12),                          // private
    v4(192, 0, 0, 0, 24),                           // IETF protocol assignments
    v4(192, 0, 2, 0, 24),                           // TEST-NET-1
    v4(192, 88, 99, 0, 24),                         // 6to4 relay anycast (deprecated)
    v4(192, 168, 0, 0, 16),                         // private
    v4(198, 18, 0, 0, 15),                          // benchmarking
    v4(198, 51, 100, 0, 24),                        // TEST-NET-2
    v4(203, 0, 113, 0, 24),                         // TEST-NET-3
    v4(224, 0, 0, 0, 4),                            // multicast
    v4(240, 0, 0, 0, 4),                            // reserved, incl. 255.255.255.255 broadcast
    {Family::kIPv6, {}, 127},                       // :: and ::1 (both in ::/127)
    {Family::kIPv6, {0x01, 0x00}, 64},              // discard-only 100::/64
    {Family::kIPv6, {0x20, 0x01, 0x00, 0x00}, 32},  // Teredo (embeds obfuscated IPv4)
    {Family::kIPv6, {0x20, 0x01, 0x0d, 0xb8}, 32},  // documentation
    {Family::kIPv6, {0xfc, 0x00}, 7},               // unique local
    {Family::kIPv6, {0xfe, 0x80}, 10},              // link-local
    {Family::kIPv6, {0xfe, 0xc0}, 10},              // site-local (deprecated)
    {Family::kIPv6, {0xff, 0x00}, 8},               // multicast
};

bool prefixMatch(const std::array<uint8_t, 16>& net, const std::array<uint8_t, 16>& ip,
                 unsigned prefix) {
  const unsigned full = prefix / 8;
  if (std::memcmp(net.data(), ip.data(), full) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (net[full] & mask) == (ip[full] & mask);
}

bool allZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string ip(text.substr(0, slash));
  Cidr c;
  if (inet_pton(AF_INET, ip.c_str(), c.ip.data()) == 1) {
    c.family = Family::kIPv4;
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), c.ip.data()) == 1) {
    c.family = Family::kIPv6;
    c.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    const auto p = text.substr(slash + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || p.empty() || v > c.prefix) {
      return std::nullopt;
    }
    c.prefix = static_cast<uint8_t>(v);
  }
  return c;
}

bool Cidr::contains(const StunAddress& a) const {
  return a.family == family && prefixMatch(ip, a.ip, prefix);
}

bool Cidr::insideRefusedRange() const {
  StunAddress first;
  first.family = family;
  first.ip = ip;
  const StunAddress n = PeerPolicy::normalize(first);
  const bool embedded = n.family != family;
  for (const Range& r : kRefused) {
    if (r.family != n.family) continue;
    // An embedded IPv4 block: the IPv4 part's prefix is what remains after the IPv6 wrapper.
    unsigned p = prefix;
    if (embedded)
      p = family == Family::kIPv6 && ip[0] == 0x20 && ip[1] == 0x02
              ? (prefix > 16 ? prefix - 16 : 0)
              : (prefix > 96 ? prefix - 96 : 0);
    if (p >= r.prefix && prefixMatch(r.ip, n.ip, r.prefix)) return true;
  }
  return false;
}

Result<PeerPolicy> PeerPolicy::create(const std::vector<std::string>& allow,
                                      const std::vector<std::string>& deny) {
  PeerPolicy p;
  for (const auto& s : allow) {
    auto c = Cidr::parse(s);
    if (!c) return makeError("bad_cidr", "turn.allow_peers: not a CIDR: " + s);
    p.allow_.push_back({*c, c->insideRefusedRange()});
  }
  for (const auto& s : deny) {
    auto c = Cidr::parse(s);
    if (!c) return makeError("bad_cidr", "turn.deny_peers: not a CIDR: " + s);
    p.deny_.push_back(*c);
  }
  return p;
}

void PeerPolicy::addOwnAddress(const SocketAddress& a) {
  own_.push_back(a.toStun());
}

StunAddress PeerPolicy::normalize(const StunAddress& a) {
  if (a.family != Family::kIPv6) return a;
  const auto& b = a.ip;
  std::array<uint8_t, 4> v4{};
  bool embedded = false;
  if (allZero(b.data(), 10) && b[10] == 0xFF && b[11] == 0xFF) {
    embedded = true;  // IPv4-mapped ::ffff:0:0/96
    std::memcpy(v4.data(), &b[12], 4);
  } else if (allZero(b.data(), 12)) {
    embedded = true;  // IPv4-compatible ::/96 (deprecated; also covers :: and ::1)
    std::memcpy(v4.data(), &b[12], 4);
  } else if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B &&
             (allZero(&b[4], 8) || (b[4] == 0x00 && b[5] == 0x01))) {
    embedded = true;  // NAT64 well-known 64:ff9b::/96 (RFC 6052), local-use 64:ff9b:1::/48
    std::memcpy(v4.data(), &b[12], 4);
  } else if (b[0] == 0x20 && b[1] == 0x02) {
    embedded = true;  // 6to4 2002:V4ADDR::/48 (RFC 3056)
    std::memcpy(v4.data(), &b[2], 4);
  }
  if (!embedded) return a;
  return StunAddress::ipv4(v4, a.port);
}

bool PeerPolicy::inRefusedRange(const StunAddress& a) {
  for (const Range& r : kRefused) {
    if (r.family == a.family && prefixMatch(r.ip, a.ip, r.prefix)) return true;
  }
  return false;
}

PeerPolicy::Verdict PeerPolicy::check(const StunAddress& peer) const {
  for (const auto& o : own_) {
    if (o.family == peer.family && o.ip == peer.ip && (o.port == 0 || o.port == peer.port)) {
      return Verdict::kOwnAddress;
    }
  }
  const StunAddress n = normalize(peer);
  for (const auto& d : deny_) {
    if (d.contains(peer) || d.contains(n)) return Verdict::kDenied;
  }
  const bool refused = inRefusedRange(n) || inRefusedRange(peer);
  for (const auto& e : allow_) {
    if (!e.cidr.contains(peer) && !e.cidr.contains(n)) continue;
    if (!refused || e.refusedRange) return Verdict::kAllowed;
  }
  return refused ? Verdict::kRefusedRange : Verdict::kNotAllowed;
}

}  // namespace medrelay::net::turn
