#pragma once

// STUN message integrity and fingerprint (RFC 8489 §9, §14.5-§14.7).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/stun/stun_message.h"

namespace medrelay::net::stun {

enum class IntegrityResult { kOk, kAbsent, kMismatch };

// Long-term credential key, RFC 8489 §9.2.2: MD5(username ":" realm ":" SASLprep(password))
// (realm is used as received, already a SASLprep'd string from the server). nullopt if SASLprep
// rejects the password.
std::optional<std::array<uint8_t, 16>> longTermKeyMd5(std::string_view username,
                                                      std::string_view realm,
                                                      std::string_view password);
// PASSWORD-ALGORITHM SHA-256 variant (RFC 8489 §18.5.1.2).
std::optional<std::array<uint8_t, 32>> longTermKeySha256(std::string_view username,
                                                         std::string_view realm,
                                                         std::string_view password);

// MESSAGE-INTEGRITY (HMAC-SHA1) over the message up to the attribute, with the header length
// adjusted to end at it (§14.5). Short-term key = password (§9.1.1). Constant-time compare.
IntegrityResult checkMessageIntegrity(const StunMessage& msg, std::span<const uint8_t> key);
// MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, truncated to the attribute's 16..32 bytes, §14.6).
IntegrityResult checkMessageIntegritySha256(const StunMessage& msg, std::span<const uint8_t> key);
// FINGERPRINT: CRC-32 of the message up to the attribute XOR 0x5354554e (§14.7).
IntegrityResult checkFingerprint(const StunMessage& msg);

inline std::span<const uint8_t> keyBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// CRC-32 (ISO-HDLC, as zlib/PNG), usable incrementally: crc32(b, crc32(a)) == crc32(a || b).
uint32_t crc32(std::span<const uint8_t> data, uint32_t crc = 0);

// HMAC over the concatenation of up to three parts (no allocation by this code; OpenSSL's
// EVP_MAC context is cached per thread). out must be 20 (SHA1) or 32 (SHA256) bytes.
bool hmacSha1(std::span<const uint8_t> key, std::span<const std::span<const uint8_t>> parts,
              std::span<uint8_t, 20> out);
bool hmacSha256(std::span<const uint8_t> key, std::span<const std::span<const uint8_t>> parts,
                std::span<uint8_t, 32> out);

}  // namespace medrelay::net::stun
