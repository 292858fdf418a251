#include "net/stun/stun_message.h"

#include <algorithm>
#include <cstring>

#include "common/be_bytes.h"

namespace medrelay::net::stun {

namespace {

constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}

// RFC 8489 §14: text attributes are limited to 763 bytes (128 characters); USERNAME < 509.
constexpr size_t kMaxTextBytes = 763;
constexpr size_t kMaxUsernameBytes = 508;

}  // namespace

bool attr::isKnownComprehensionRequired(uint16_t type) {
  switch (type) {
    case kMappedAddress:
    case kChangeRequest:
    case kUsername:
    case kMessageIntegrity:
    case kErrorCode:
    case kUnknownAttributes:
    case kChannelNumber:
    case kLifetime:
    case kXorPeerAddress:
    case kData:
    case kRealm:
    case kNonce:
    case kXorRelayedAddress:
    case kRequestedAddressFamily:
    case kEvenPort:
    case kRequestedTransport:
    case kDontFragment:
    case kMessageIntegritySha256:
    case kPasswordAlgorithm:
    case kUserhash:
    case kXorMappedAddress:
    case kReservationToken:
    case kPriority:
    case kUseCandidate:
    case kPadding:
    case kResponsePort:
    case kConnectionId:
      return true;
    default:
      return false;
  }
}

std::optional<size_t> stunMessageSize(std::span<const uint8_t> header) {
  if (header.size() < 8) return std::nullopt;
  if ((header[0] & 0xC0) != 0) return std::nullopt;
  if (loadBe32(header.data() + 4) != kMagicCookie) return std::nullopt;
  const uint16_t len = loadBe16(header.data() + 2);
  if ((len & 3) != 0) return std::nullopt;
  return kHeaderSize + len;
}

std::optional<StunMessage> StunMessage::parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) return std::nullopt;
  const auto total = stunMessageSize(bytes);
  if (!total || *total != bytes.size()) return std::nullopt;

  StunMessage m(bytes);
  size_t off = kHeaderSize;
  while (off < bytes.size()) {
    if (bytes.size() - off < 4) return std::nullopt;
    const uint16_t type = loadBe16(&bytes[off]);
    const size_t len = loadBe16(&bytes[off + 2]);
    if (padded(len) > bytes.size() - off - 4) return std::nullopt;
    if (m.fingerprintOffset_ != 0) return std::nullopt;  // FINGERPRINT must be last (§14.7)
    if (++m.attributeCount_ > kMaxAttributes) return std::nullopt;
    if (type == attr::kMessageIntegrity && m.miOffset_ == 0 && m.mi256Offset_ == 0) {
      if (len != 20) return std::nullopt;
      m.miOffset_ = off;
    } else if (type == attr::kMessageIntegritySha256 && m.mi256Offset_ == 0) {
      // 16..32 bytes, multiple of 4 (§14.6).
      if (len < 16 || len > 32 || (len & 3) != 0) return std::nullopt;
      m.mi256Offset_ = off;
    } else if (type == attr::kFingerprint) {
      if (len != 4) return std::nullopt;
      m.fingerprintOffset_ = off;
    }
    off += 4 + padded(len);
  }
  return m;
}

uint16_t StunMessage::type() const {
  return loadBe16(bytes_.data());
}

StunMessage::TransactionId StunMessage::transactionId() const {
  TransactionId id;
  std::memcpy(id.data(), bytes_.data() + 8, kTransactionIdSize);
  return id;
}

bool StunMessage::ignoredAt(size_t offset, uint16_t type) const {
  // After MESSAGE-INTEGRITY only MI-SHA256 and FINGERPRINT count; after MI-SHA256 only
  // FINGERPRINT (RFC 8489 §14.5, §14.6).
  if (mi256Offset_ != 0 && offset > mi256Offset_) return type != attr::kFingerprint;
  if (miOffset_ != 0 && offset > miOffset_) {
    return type != attr::kFingerprint &&
           !(type == attr::kMessageIntegritySha256 && offset == mi256Offset_);
  }
  return false;
}

Attribute StunMessage::Iterator::operator*() const {
  const uint8_t* p = msg_->bytes_.data() + offset_;
  return Attribute{loadBe16(p), std::span<const uint8_t>(p + 4, loadBe16(p + 2))};
}

StunMessage::Iterator& StunMessage::Iterator::operator++() {
  const uint8_t* p = msg_->bytes_.data() + offset_;
  offset_ += 4 + padded(loadBe16(p + 2));
  skipIgnored();
  return *this;
}

void StunMessage::Iterator::skipIgnored() {
  // parse() validated every TLV, so the walk stays in bounds.
  while (offset_ < msg_->bytes_.size()) {
    const uint8_t* p = msg_->bytes_.data() + offset_;
    if (!msg_->ignoredAt(offset_, loadBe16(p))) return;
    offset_ += 4 + padded(loadBe16(p + 2));
  }
}

std::optional<Attribute> StunMessage::find(uint16_t t) const {
  for (const Attribute a : *this) {
    if (a.type == t) return a;
  }
  return std::nullopt;
}

size_t StunMessage::unknownComprehensionRequired(std::span<uint16_t> out) const {
  size_t n = 0;
  for (const Attribute a : *this) {
    if (!attr::isComprehensionRequired(a.type) || attr::isKnownComprehensionRequired(a.type)) {
      continue;
    }
    const auto seen = out.first(std::min(n, out.size()));
    if (std::find(seen.begin(), seen.end(), a.type) != seen.end()) continue;
    if (n < out.size()) out[n] = a.type;
    ++n;
  }
  return n;
}

// MAPPED-ADDRESS layout (§14.1): 0, family, port, address.
std::optional<StunAddress> StunMessage::plainAddress(uint16_t t) const {
  const auto a = find(t);
  if (!a || a->value.size() < 4 || a->value[0] != 0) return std::nullopt;
  StunAddress out;
  const uint8_t fam = a->value[1];
  if (fam == 0x01 && a->value.size() == 8) {
    out.family = StunAddress::Family::kIPv4;
  } else if (fam == 0x02 && a->value.size() == 20) {
    out.family = StunAddress::Family::kIPv6;
  } else {
    return std::nullopt;
  }
  out.port = loadBe16(&a->value[2]);
  std::memcpy(out.ip.data(), &a->value[4], out.ipSize());
  return out;
}

std::optional<StunAddress> StunMessage::mappedAddress() const {
  return plainAddress(attr::kMappedAddress);
}

namespace {
// XOR-MAPPED-ADDRESS (§14.2): port ^ cookie>>16, IPv4 ^ cookie, IPv6 ^ (cookie || tid).
std::optional<StunAddress> decodeXor(std::span<const uint8_t> v, const uint8_t* header) {
  if (v.size() < 4 || v[0] != 0) return std::nullopt;
  StunAddress out;
  if (v[1] == 0x01 && v.size() == 8) {
    out.family = StunAddress::Family::kIPv4;
  } else if (v[1] == 0x02 && v.size() == 20) {
    out.family = StunAddress::Family::kIPv6;
  } else {
    return std::nullopt;
  }
  out.port = static_cast<uint16_t>(loadBe16(&v[2]) ^ (kMagicCookie >> 16));
  for (size_t i = 0; i < out.ipSize(); ++i) out.ip[i] = v[4 + i] ^ header[4 + i];
  return out;
}
}  // namespace

std::optional<StunAddress> StunMessage::xorAddress(uint16_t t) const {
  const auto a = find(t);
  if (!a) return std::nullopt;
  return decodeXor(a->value, bytes_.data());
}

size_t StunMessage::xorPeerAddresses(std::span<StunAddress> out) const {
  size_t n = 0;
  for (const Attribute a : *this) {
    if (a.type != attr::kXorPeerAddress) continue;
    const auto addr = decodeXor(a.value, bytes_.data());
    if (!addr) continue;
    if (n < out.size()) out[n] = *addr;
    ++n;
  }
  return n;
}

std::optional<std::string_view> StunMessage::text(uint16_t t, size_t maxBytes) const {
  const auto a = find(t);
  if (!a || a->value.size() > maxBytes) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(a->value.data()), a->value.size());
}

std::optional<std::string_view> StunMessage::username() const {
  return text(attr::kUsername, kMaxUsernameBytes);
}
std::optional<std::string_view> StunMessage::realm() const {
  return text(attr::kRealm, kMaxTextBytes);
}
std::optional<std::string_view> StunMessage::nonce() const {
  return text(attr::kNonce, kMaxTextBytes);
}
std::optional<std::string_view> StunMessage::software() const {
  return text(attr::kSoftware, kMaxTextBytes);
}

std::optional<ErrorCode> StunMessage::errorCode() const {
  const auto a = find(attr::kErrorCode);
  if (!a || a->value.size() < 4 || a->value.size() > 4 + kMaxTextBytes) return std::nullopt;
  const uint8_t cls = a->value[2] & 0x07;
  const uint8_t num = a->value[3];
  if (cls < 3 || cls > 6 || num > 99) return std::nullopt;
  return ErrorCode{
      static_cast<uint16_t>(cls * 100 + num),
      std::string_view(reinterpret_cast<const char*>(a->value.data() + 4), a->value.size() - 4)};
}

std::optional<size_t> StunMessage::unknownAttributes(std::span<uint16_t> out) const {
  const auto a = find(attr::kUnknownAttributes);
  if (!a || (a->value.size() & 1) != 0) return std::nullopt;
  const size_t n = a->value.size() / 2;
  for (size_t i = 0; i < n && i < out.size(); ++i) out[i] = loadBe16(&a->value[2 * i]);
  return n;
}

std::optional<std::span<const uint8_t>> StunMessage::messageIntegrity() const {
  if (miOffset_ == 0) return std::nullopt;
  return bytes_.subspan(miOffset_ + 4, 20);
}

std::optional<std::span<const uint8_t>> StunMessage::messageIntegritySha256() const {
  if (mi256Offset_ == 0) return std::nullopt;
  return bytes_.subspan(mi256Offset_ + 4, loadBe16(&bytes_[mi256Offset_ + 2]));
}

std::optional<uint32_t> StunMessage::fingerprint() const {
  if (fingerprintOffset_ == 0) return std::nullopt;
  return loadBe32(&bytes_[fingerprintOffset_ + 4]);
}

std::optional<std::span<const uint8_t>> StunMessage::userhash() const {
  const auto a = find(attr::kUserhash);
  if (!a || a->value.size() != 32) return std::nullopt;
  return a->value;
}

std::optional<uint16_t> StunMessage::passwordAlgorithm() const {
  const auto a = find(attr::kPasswordAlgorithm);
  if (!a || a->value.size() < 4) return std::nullopt;
  const size_t paramLen = loadBe16(&a->value[2]);
  if (4 + paramLen > a->value.size()) return std::nullopt;
  return loadBe16(&a->value[0]);
}

std::optional<std::span<const uint8_t>> StunMessage::passwordAlgorithms() const {
  const auto a = find(attr::kPasswordAlgorithms);
  if (!a) return std::nullopt;
  return a->value;
}

std::optional<uint32_t> StunMessage::u32(uint16_t t) const {
  const auto a = find(t);
  if (!a || a->value.size() != 4) return std::nullopt;
  return loadBe32(a->value.data());
}

std::optional<uint64_t> StunMessage::u64(uint16_t t) const {
  const auto a = find(t);
  if (!a || a->value.size() != 8) return std::nullopt;
  return loadBe64(a->value.data());
}

std::optional<uint32_t> StunMessage::priority() const {
  return u32(attr::kPriority);
}
bool StunMessage::useCandidate() const {
  return has(attr::kUseCandidate);
}
std::optional<uint64_t> StunMessage::iceControlled() const {
  return u64(attr::kIceControlled);
}
std::optional<uint64_t> StunMessage::iceControlling() const {
  return u64(attr::kIceControlling);
}

std::optional<uint16_t> StunMessage::channelNumber() const {
  const auto v = u32(attr::kChannelNumber);
  if (!v) return std::nullopt;
  const auto ch = static_cast<uint16_t>(*v >> 16);
  if (ch < 0x4000 || ch > 0x4FFF) return std::nullopt;  // RFC 8656 §12
  return ch;
}

std::optional<uint32_t> StunMessage::lifetime() const {
  return u32(attr::kLifetime);
}

std::optional<std::span<const uint8_t>> StunMessage::data() const {
  const auto a = find(attr::kData);
  if (!a) return std::nullopt;
  return a->value;
}

std::optional<uint8_t> StunMessage::requestedTransport() const {
  const auto v = u32(attr::kRequestedTransport);
  if (!v) return std::nullopt;
  return static_cast<uint8_t>(*v >> 24);
}

std::optional<StunAddress::Family> StunMessage::family(uint16_t t) const {
  const auto v = u32(t);
  if (!v) return std::nullopt;
  const auto f = static_cast<uint8_t>(*v >> 24);
  if (f == 0x01) return StunAddress::Family::kIPv4;
  if (f == 0x02) return StunAddress::Family::kIPv6;
  return std::nullopt;
}

std::optional<StunAddress::Family> StunMessage::requestedAddressFamily() const {
  return family(attr::kRequestedAddressFamily);
}
std::optional<StunAddress::Family> StunMessage::additionalAddressFamily() const {
  return family(attr::kAdditionalAddressFamily);
}

std::optional<bool> StunMessage::evenPort() const {
  const auto a = find(attr::kEvenPort);
  if (!a || a->value.size() != 1) return std::nullopt;
  return (a->value[0] & 0x80) != 0;
}

bool StunMessage::dontFragment() const {
  return has(attr::kDontFragment);
}
std::optional<uint64_t> StunMessage::reservationToken() const {
  return u64(attr::kReservationToken);
}
std::optional<uint32_t> StunMessage::connectionId() const {
  return u32(attr::kConnectionId);
}

}  // namespace medrelay::net::stun
