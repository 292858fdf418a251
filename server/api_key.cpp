#include "server/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/assert.h"

namespace medrelay::server {
namespace {

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  MEDRELAY_ASSERT(
      EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
          len == out.size(),
      "EVP_Digest(SHA-256)");
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<ApiKeySet> ApiKeySet::fromHexHashes(const std::vector<std::string>& hex_hashes) {
  ApiKeySet set;
  for (size_t i = 0; i < hex_hashes.size(); ++i) {
    const auto& h = hex_hashes[i];
    std::array<unsigned char, 32> bytes{};
    bool ok = h.size() == 64;
    for (size_t j = 0; ok && j < 32; ++j) {
      int hi = hexValue(h[2 * j]);
      int lo = hexValue(h[2 * j + 1]);
      ok = hi >= 0 && lo >= 0;
      bytes[j] = static_cast<unsigned char>((hi << 4) | lo);
    }
    if (!ok) {
      return makeError("bad_hash",
                       "API key hash " + std::to_string(i + 1) + " is not 64 hex digits");
    }
    set.hashes_.push_back(bytes);
  }
  return set;
}

bool ApiKeySet::verify(std::string_view presented_key) const {
  auto h = sha256(presented_key);
  int matched = 0;
  // Every entry is compared, with no early exit.
  for (const auto& stored : hashes_) {
    matched |= static_cast<int>(CRYPTO_memcmp(h.data(), stored.data(), h.size()) == 0);
  }
  return matched != 0;
}

std::string sha256Hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto h = sha256(data);
  std::string out;
  out.reserve(64);
  for (unsigned char b : h) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::string generateSecret() {
  std::array<unsigned char, 32> raw{};
  MEDRELAY_ASSERT(RAND_bytes(raw.data(), static_cast<int>(raw.size())) == 1, "RAND_bytes");
  // Base64 (RFC 4648 section 4) of 32 bytes is 44 chars with one '='; url-safe alphabet per
  // section 5, padding dropped.
  std::array<unsigned char, 48> b64{};
  int n = EVP_EncodeBlock(b64.data(), raw.data(), static_cast<int>(raw.size()));
  std::string out(reinterpret_cast<const char*>(b64.data()), static_cast<size_t>(n));
  OPENSSL_cleanse(raw.data(), raw.size());
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string generateApiKey() {
  return "mrk_" + generateSecret();
}

}  // namespace medrelay::server
