#include "net/stun/stun_builder.h"

#include <cstring>

#include "common/be_bytes.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::net::stun {

namespace {
constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}
constexpr size_t kMaxReasonBytes = 763;
}  // namespace

StunBuilder::StunBuilder(std::span<uint8_t> buffer, MessageClass cls, uint16_t method,
                         const StunMessage::TransactionId& tid)
    : buf_(buffer) {
  if (buf_.size() < kHeaderSize || method > 0x0FFF) {
    ok_ = false;
    return;
  }
  storeBe16(buf_.data(), messageType(method, cls));
  storeBe16(buf_.data() + 2, 0);
  storeBe32(buf_.data() + 4, kMagicCookie);
  std::memcpy(buf_.data() + 8, tid.data(), tid.size());
  size_ = kHeaderSize;
}

uint8_t* StunBuilder::reserve(uint16_t type, size_t len) {
  if (!ok_ || sealed_ || len > 0xFFFF || buf_.size() - size_ < 4 + padded(len) ||
      size_ + 4 + padded(len) - kHeaderSize > 0xFFFF) {
    ok_ = false;
    return nullptr;
  }
  uint8_t* p = buf_.data() + size_;
  storeBe16(p, type);
  storeBe16(p + 2, static_cast<uint16_t>(len));
  std::memset(p + 4 + len, 0, padded(len) - len);
  size_ += 4 + padded(len);
  return p + 4;
}

void StunBuilder::setLength(size_t totalSize) {
  storeBe16(buf_.data() + 2, static_cast<uint16_t>(totalSize - kHeaderSize));
}

bool StunBuilder::addAttribute(uint16_t type, std::span<const uint8_t> value, uint8_t padByte) {
  uint8_t* p = reserve(type, value.size());
  if (p == nullptr) return false;
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  std::memset(p + value.size(), padByte, padded(value.size()) - value.size());
  return true;
}

bool StunBuilder::addString(uint16_t type, std::string_view s, uint8_t padByte) {
  return addAttribute(type, keyBytes(s), padByte);
}

bool StunBuilder::addU32(uint16_t type, uint32_t v) {
  uint8_t* p = reserve(type, 4);
  if (p == nullptr) return false;
  storeBe32(p, v);
  return true;
}

bool StunBuilder::addU64(uint16_t type, uint64_t v) {
  uint8_t* p = reserve(type, 8);
  if (p == nullptr) return false;
  storeBe64(p, v);
  return true;
}

bool StunBuilder::addAddress(uint16_t type, const StunAddress& a) {
  uint8_t* p = reserve(type, 4 + a.ipSize());
  if (p == nullptr) return false;
  p[0] = 0;
  p[1] = static_cast<uint8_t>(a.family);
  storeBe16(p + 2, a.port);
  std::memcpy(p + 4, a.ip.data(), a.ipSize());
  return true;
}

bool StunBuilder::addXorAddress(uint16_t type, const StunAddress& a) {
  uint8_t* p = reserve(type, 4 + a.ipSize());
  if (p == nullptr) return false;
  p[0] = 0;
  p[1] = static_cast<uint8_t>(a.family);
  storeBe16(p + 2, static_cast<uint16_t>(a.port ^ (kMagicCookie >> 16)));
  // XOR with the magic cookie and (IPv6) the transaction id: header bytes 4..19.
  for (size_t i = 0; i < a.ipSize(); ++i) p[4 + i] = a.ip[i] ^ buf_[4 + i];
  return true;
}

bool StunBuilder::addErrorCode(uint16_t code, std::string_view reason) {
  if (code < 300 || code > 699 || reason.size() > kMaxReasonBytes) {
    ok_ = false;
    return false;
  }
  uint8_t* p = reserve(attr::kErrorCode, 4 + reason.size());
  if (p == nullptr) return false;
  p[0] = 0;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(code / 100);
  p[3] = static_cast<uint8_t>(code % 100);
  if (!reason.empty()) std::memcpy(p + 4, reason.data(), reason.size());
  return true;
}

bool StunBuilder::addUnknownAttributes(std::span<const uint16_t> types) {
  uint8_t* p = reserve(attr::kUnknownAttributes, 2 * types.size());
  if (p == nullptr) return false;
  for (size_t i = 0; i < types.size(); ++i) storeBe16(p + 2 * i, types[i]);
  return true;
}

bool StunBuilder::addChannelNumber(uint16_t channel) {
  return addU32(attr::kChannelNumber, static_cast<uint32_t>(channel) << 16);
}

bool StunBuilder::addRequestedTransport(uint8_t protocol) {
  return addU32(attr::kRequestedTransport, static_cast<uint32_t>(protocol) << 24);
}

bool StunBuilder::addAddressFamily(uint16_t type, StunAddress::Family f) {
  return addU32(type, static_cast<uint32_t>(f) << 24);
}

bool StunBuilder::addEvenPort(bool reserveNext) {
  const uint8_t v = reserveNext ? 0x80 : 0x00;
  return addAttribute(attr::kEvenPort, std::span<const uint8_t>(&v, 1));
}

bool StunBuilder::addMessageIntegrity(std::span<const uint8_t> key) {
  const size_t start = size_;
  uint8_t* p = reserve(attr::kMessageIntegrity, 20);
  if (p == nullptr) return false;
  setLength(size_);  // length covers MESSAGE-INTEGRITY itself (§14.5)
  const std::span<const uint8_t> parts[] = {std::span<const uint8_t>(buf_.data(), start)};
  if (!hmacSha1(key, parts, std::span<uint8_t, 20>(p, 20))) {
    ok_ = false;
    return false;
  }
  return true;
}

bool StunBuilder::addMessageIntegritySha256(std::span<const uint8_t> key, size_t length) {
  if (length < 16 || length > 32 || (length & 3) != 0) {
    ok_ = false;
    return false;
  }
  const size_t start = size_;
  uint8_t* p = reserve(attr::kMessageIntegritySha256, length);
  if (p == nullptr) return false;
  setLength(size_);
  const std::span<const uint8_t> parts[] = {std::span<const uint8_t>(buf_.data(), start)};
  std::array<uint8_t, 32> mac;
  if (!hmacSha256(key, parts, mac)) {
    ok_ = false;
    return false;
  }
  std::memcpy(p, mac.data(), length);  // truncated to the leftmost bytes (§14.6)
  return true;
}

bool StunBuilder::addFingerprint() {
  const size_t start = size_;
  uint8_t* p = reserve(attr::kFingerprint, 4);
  if (p == nullptr) return false;
  setLength(size_);
  storeBe32(p, crc32(std::span<const uint8_t>(buf_.data(), start)) ^ kFingerprintXor);
  sealed_ = true;
  return true;
}

std::optional<std::span<const uint8_t>> StunBuilder::finish() {
  if (!ok_) return std::nullopt;
  setLength(size_);
  return std::span<const uint8_t>(buf_.data(), size_);
}

}  // namespace medrelay::net::stun
