#pragma once

// Zero-copy STUN message view (RFC 8489 §5, §14; TURN attributes RFC 8656 §18; ICE RFC 8445
// §7.1.1). parse() validates the header and every attribute TLV once; the view then borrows the
// caller's buffer, which must outlive it. No allocation, no exceptions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/stun/stun_address.h"
#include "net/stun/stun_constants.h"

namespace medrelay::net::stun {

struct Attribute {
  uint16_t type = 0;
  std::span<const uint8_t> value;  // without padding
};

struct ErrorCode {
  uint16_t code = 0;  // 300..699 (class * 100 + number)
  std::string_view reason;
};

// REQUESTED-TRANSPORT protocol numbers (RFC 8656 §18.7).
inline constexpr uint8_t kTransportUdp = 17;
inline constexpr uint8_t kTransportTcp = 6;

class StunMessage {
 public:
  using TransactionId = std::array<uint8_t, kTransactionIdSize>;

  // Validates a whole STUN message (a UDP datagram or a framed TCP message): top two bits zero,
  // magic cookie, length multiple of 4 and equal to size - 20, TLVs with padding in bounds, at most
  // kMaxAttributes, FINGERPRINT (if any) last. nullopt when any check fails.
  static std::optional<StunMessage> parse(std::span<const uint8_t> bytes);

  uint16_t type() const;
  uint16_t method() const { return methodOf(type()); }
  MessageClass messageClass() const { return classOf(type()); }
  TransactionId transactionId() const;
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Attributes that are processed: everything up to MESSAGE-INTEGRITY, then only
  // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §14.5/§14.6). Others after MI are ignored.
  class Iterator {
   public:
    Iterator(const StunMessage* m, size_t offset) : msg_(m), offset_(offset) { skipIgnored(); }
    Attribute operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    void skipIgnored();
    const StunMessage* msg_;
    size_t offset_;
  };
  Iterator begin() const { return Iterator(this, kHeaderSize); }
  Iterator end() const { return Iterator(this, bytes_.size()); }
  size_t attributeCount() const { return attributeCount_; }

  // First processed occurrence of a type (RFC 8489 §14: later duplicates are ignored).
  std::optional<Attribute> find(uint16_t type) const;
  bool has(uint16_t type) const { return find(type).has_value(); }

  // Comprehension-required attribute types this codec does not know (for a 420 response,
  // RFC 8489 §6.3.1.1). Writes up to out.size() types, returns how many were found in total.
  size_t unknownComprehensionRequired(std::span<uint16_t> out) const;

  // Typed accessors: nullopt when absent or malformed (wrong length, bad family, over-long text).
  std::optional<StunAddress> mappedAddress() const;  // also ALTERNATE-SERVER style plain address
  std::optional<StunAddress> plainAddress(uint16_t type) const;
  std::optional<StunAddress> xorAddress(uint16_t type) const;
  std::optional<StunAddress> xorMappedAddress() const {
    return xorAddress(attr::kXorMappedAddress);
  }
  std::optional<StunAddress> xorPeerAddress() const { return xorAddress(attr::kXorPeerAddress); }
  std::optional<StunAddress> xorRelayedAddress() const {
    return xorAddress(attr::kXorRelayedAddress);
  }
  // XOR-PEER-ADDRESS may repeat in CreatePermission (RFC 8656 §10.1); out gets up to out.size().
  size_t xorPeerAddresses(std::span<StunAddress> out) const;

  std::optional<std::string_view> username() const;  // < 509 bytes (RFC 8489 §14.3)
  std::optional<std::string_view> realm() const;     // < 763 bytes (§14.9)
  std::optional<std::string_view> nonce() const;     // < 763 bytes (§14.10)
  std::optional<std::string_view> software() const;  // < 763 bytes (§14.14)
  std::optional<ErrorCode> errorCode() const;        // §14.8
  // UNKNOWN-ATTRIBUTES (§14.13): writes up to out.size(), returns the count in the attribute.
  std::optional<size_t> unknownAttributes(std::span<uint16_t> out) const;
  std::optional<std::span<const uint8_t>> messageIntegrity() const;        // 20 bytes
  std::optional<std::span<const uint8_t>> messageIntegritySha256() const;  // 16..32 bytes
  std::optional<uint32_t> fingerprint() const;
  std::optional<std::span<const uint8_t>> userhash() const;  // 32 bytes (§14.4)
  // PASSWORD-ALGORITHM (§14.12): algorithm number (1 = MD5, 2 = SHA-256).
  std::optional<uint16_t> passwordAlgorithm() const;
  // PASSWORD-ALGORITHMS (§14.11): raw value, list of (alg, len, params) entries.
  std::optional<std::span<const uint8_t>> passwordAlgorithms() const;

  std::optional<uint32_t> priority() const;  // RFC 8445 §7.1.1
  bool useCandidate() const;
  std::optional<uint64_t> iceControlled() const;   // tie-breaker
  std::optional<uint64_t> iceControlling() const;  // tie-breaker

  std::optional<uint16_t> channelNumber() const;         // RFC 8656 §18.1 (0x4000..0x4FFF checked)
  std::optional<uint32_t> lifetime() const;              // seconds, §18.2
  std::optional<std::span<const uint8_t>> data() const;  // §18.4
  std::optional<uint8_t> requestedTransport() const;     // protocol number, §18.7
  // REQUESTED-/ADDITIONAL-ADDRESS-FAMILY (§18.8, §18.11): 0x01 IPv4, 0x02 IPv6.
  std::optional<StunAddress::Family> requestedAddressFamily() const;
  std::optional<StunAddress::Family> additionalAddressFamily() const;
  std::optional<bool> evenPort() const;  // R bit, §18.6
  bool dontFragment() const;
  std::optional<uint64_t> reservationToken() const;  // §18.9
  std::optional<uint32_t> connectionId() const;      // RFC 6062 §6.2.1

  // Offsets of the integrity attributes' TLV headers inside bytes(); 0 when absent.
  size_t messageIntegrityOffset() const { return miOffset_; }
  size_t messageIntegritySha256Offset() const { return mi256Offset_; }
  size_t fingerprintOffset() const { return fingerprintOffset_; }

 private:
  friend class Iterator;
  explicit StunMessage(std::span<const uint8_t> b) : bytes_(b) {}
  bool ignoredAt(size_t offset, uint16_t type) const;
  std::optional<std::string_view> text(uint16_t type, size_t maxBytes) const;
  std::optional<uint32_t> u32(uint16_t type) const;
  std::optional<uint64_t> u64(uint16_t type) const;
  std::optional<StunAddress::Family> family(uint16_t type) const;

  std::span<const uint8_t> bytes_;
  size_t attributeCount_ = 0;
  // Offsets of the integrity attributes' TLV headers; 0 = absent.
  size_t miOffset_ = 0;
  size_t mi256Offset_ = 0;
  size_t fingerprintOffset_ = 0;
};

// Total size of the STUN message whose header starts at bytes (for stream framing, RFC 6544
// §3 / RFC 8656 §6.2 over TCP): 20 + length, or nullopt if the header is not plausible STUN.
std::optional<size_t> stunMessageSize(std::span<const uint8_t> header);

}  // namespace medrelay::net::stun
