#include "net/turn/turn_credentials.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include "common/be_bytes.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::net::turn {

namespace {

std::span<const uint8_t> bytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// base64url without padding of exactly 15 bytes → 20 characters.
void encode15(const uint8_t* in, char* out) {
  for (int i = 0; i < 5; ++i) {
    const uint32_t v = (uint32_t{in[3 * i]} << 16) | (uint32_t{in[3 * i + 1]} << 8) | in[3 * i + 2];
    out[4 * i] = kB64Url[(v >> 18) & 63];
    out[4 * i + 1] = kB64Url[(v >> 12) & 63];
    out[4 * i + 2] = kB64Url[(v >> 6) & 63];
    out[4 * i + 3] = kB64Url[v & 63];
  }
}

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string restPassword(std::string_view secret, std::string_view username) {
  std::array<uint8_t, 20> mac{};
  const std::span<const uint8_t> parts[] = {bytesOf(username)};
  stun::hmacSha1(bytesOf(secret), parts, mac);
  unsigned char out[32] = {};
  const int n = EVP_EncodeBlock(out, mac.data(), static_cast<int>(mac.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::optional<RestUsername> parseRestUsername(std::string_view username) {
  const auto colon = username.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= username.size()) {
    return std::nullopt;
  }
  RestUsername r;
  auto [end, ec] = std::from_chars(username.data(), username.data() + colon, r.expiry);
  if (ec != std::errc() || end != username.data() + colon || r.expiry <= 0) return std::nullopt;
  r.inviteId = username.substr(colon + 1);
  return r;
}

TurnCredentials mintTurnCredentials(std::string_view inviteId, int64_t expiresAtUnix,
                                    std::string_view secret, std::vector<std::string> uris,
                                    int64_t nowUnix) {
  TurnCredentials c;
  c.username = std::to_string(expiresAtUnix) + ":" + std::string(inviteId);
  c.password = restPassword(secret, c.username);
  c.ttlSeconds = expiresAtUnix > nowUnix ? static_cast<uint32_t>(expiresAtUnix - nowUnix) : 0;
  c.uris = std::move(uris);
  return c;
}

TurnCredentials mintTurnCredentials(std::string_view inviteId, int64_t expiresAtUnix,
                                    std::string_view secret, std::vector<std::string> uris) {
  return mintTurnCredentials(inviteId, expiresAtUnix, secret, std::move(uris), unixNow());
}

std::string formatIceServerLinks(const TurnCredentials& c) {
  // Quoted-string values (RFC 8288 §3): the username and base64 password hold no '"' or '\\'
  // unless an invite id does; escape to be safe.
  auto quoted = [](std::string_view s) {
    std::string q = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') q += '\\';
      q += ch;
    }
    return q + "\"";
  };
  std::string out;
  for (const auto& uri : c.uris) {
    if (!out.empty()) out += ", ";
    out += "<" + uri + ">; rel=\"ice-server\"; username=" + quoted(c.username) +
           "; credential=" + quoted(c.password) + "; credential-type=\"password\"";
  }
  return out;
}

NonceCodec::NonceCodec(uint32_t lifetimeSeconds) : lifetime_(lifetimeSeconds) {
  RAND_bytes(key_.data(), static_cast<int>(key_.size()));
}

NonceCodec::NonceCodec(std::span<const uint8_t> key, uint32_t lifetimeSeconds)
    : lifetime_(lifetimeSeconds) {
  std::memcpy(key_.data(), key.data(), std::min(key.size(), key_.size()));
}

void NonceCodec::make(std::span<const uint8_t> clientIp, uint64_t nowSeconds,
                      std::array<char, kNonceChars>& out) const {
  uint8_t raw[15];
  storeBe32(raw, static_cast<uint32_t>(nowSeconds));
  std::array<uint8_t, 32> mac{};
  const std::span<const uint8_t> parts[] = {std::span<const uint8_t>(raw, 4), clientIp};
  stun::hmacSha256(key_, parts, mac);
  std::memcpy(raw + 4, mac.data(), 11);
  encode15(raw, out.data());
}

NonceCodec::Check NonceCodec::check(std::string_view nonce, std::span<const uint8_t> clientIp,
                                    uint64_t nowSeconds) const {
  if (nonce.size() != kNonceChars) return Check::kInvalid;
  // Decode the issue time from the first 8 characters (6 bytes, of which 4 are the time).
  uint8_t raw[6];
  for (int g = 0; g < 2; ++g) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char* p = std::strchr(kB64Url, nonce[4 * g + k]);
      if (p == nullptr || *p == '\0') return Check::kInvalid;
      v = (v << 6) | static_cast<uint32_t>(p - kB64Url);
    }
    raw[3 * g] = static_cast<uint8_t>(v >> 16);
    raw[3 * g + 1] = static_cast<uint8_t>(v >> 8);
    raw[3 * g + 2] = static_cast<uint8_t>(v);
  }
  const uint32_t issued = loadBe32(raw);
  std::array<char, kNonceChars> expect{};
  make(clientIp, issued, expect);
  // Constant-time compare (CRYPTO_memcmp semantics without the dependency on its header).
  uint8_t diff = 0;
  for (size_t i = 0; i < kNonceChars; ++i) diff |= static_cast<uint8_t>(expect[i] ^ nonce[i]);
  if (diff != 0) return Check::kInvalid;
  const auto now32 = static_cast<uint32_t>(nowSeconds);
  if (static_cast<uint32_t>(now32 - issued) > lifetime_) return Check::kStale;
  return Check::kValid;
}

}  // namespace medrelay::net::turn
