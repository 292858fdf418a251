#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medrelay::control {

inline constexpr std::string_view kInviteTokenPrefix = "mri_";
inline constexpr size_t kInviteTokenRandomBytes = 32;  // 256 bits from RAND_bytes
inline constexpr size_t kTokenPepperBytes = 32;
using TokenPepper = std::array<uint8_t, kTokenPepperBytes>;

// Invite tokens: "mri_" + base64url (no padding) of 32 random bytes. Only the hash is stored:
// hex HMAC-SHA256(pepper, token), so a copy of the database alone does not let anyone join.
class InviteTokens {
 public:
  explicit InviteTokens(const TokenPepper& pepper) : pepper_(pepper) {}

  std::string generate() const;
  std::string hash(std::string_view token) const;
  // Cheap shape check before any lookup: prefix, length, base64url alphabet.
  static bool wellFormed(std::string_view token);
  // Constant-time equality of two hex hashes (CRYPTO_memcmp).
  static bool hashesEqual(std::string_view a, std::string_view b);

 private:
  TokenPepper pepper_;
};

// Random ids for rooms, invites and sessions: prefix + 24 hex digits (96 bits).
std::string newId(std::string_view prefix);
std::string base64Url(const uint8_t* data, size_t size);

}  // namespace medrelay::control
