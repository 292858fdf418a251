#include "control/invite_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/assert.h"
#include "control/access_log_record.h"

namespace medrelay::control {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// base64url of 32 bytes without padding is 43 characters (RFC 4648 §5).
constexpr size_t kEncodedLength = (kInviteTokenRandomBytes * 4 + 2) / 3;

}  // namespace

std::string base64Url(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t b0 = data[i];
    const uint32_t b1 = i + 1 < size ? data[i + 1] : 0;
    const uint32_t b2 = i + 2 < size ? data[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (i + 1 < size) out += kAlphabet[(v >> 6) & 63];
    if (i + 2 < size) out += kAlphabet[v & 63];
  }
  return out;
}

std::string InviteTokens::generate() const {
  std::array<uint8_t, kInviteTokenRandomBytes> bytes{};
  MEDRELAY_ASSERT(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1, "RAND_bytes");
  return std::string(kInviteTokenPrefix) + base64Url(bytes.data(), bytes.size());
}

std::string InviteTokens::hash(std::string_view token) const {
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  MEDRELAY_ASSERT(HMAC(EVP_sha256(), pepper_.data(), static_cast<int>(pepper_.size()),
                       reinterpret_cast<const uint8_t*>(token.data()), token.size(), mac.data(),
                       &len) != nullptr,
                  "HMAC-SHA256");
  return toHex(std::span<const uint8_t>(mac.data(), len));
}

bool InviteTokens::wellFormed(std::string_view token) {
  if (token.size() != kInviteTokenPrefix.size() + kEncodedLength ||
      token.substr(0, kInviteTokenPrefix.size()) != kInviteTokenPrefix) {
    return false;
  }
  for (const char c : token.substr(kInviteTokenPrefix.size())) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool InviteTokens::hashesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string newId(std::string_view prefix) {
  std::array<uint8_t, 12> bytes{};
  MEDRELAY_ASSERT(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1, "RAND_bytes");
  return std::string(prefix) + toHex(bytes);
}

}  // namespace medrelay::control
