#include "net/stun/stun_integrity.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/be_bytes.h"
#include "common/c_ptr.h"
#include "net/stun/sasl_prep.h"

namespace medrelay::net::stun {

namespace {

using MacPtr = CPtr<EVP_MAC, EVP_MAC_free>;
using MacCtxPtr = CPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using MdCtxPtr = CPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

MacCtxPtr makeHmacCtx(const char* digest) {
  static const MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return nullptr;
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) return nullptr;
  return ctx;
}

bool hmac(EVP_MAC_CTX* ctx, std::span<const uint8_t> key,
          std::span<const std::span<const uint8_t>> parts, std::span<uint8_t> out) {
  if (ctx == nullptr) return false;
  // HMAC pads the key with zeros to the block size, so an empty key equals a single zero byte;
  // passing a null key would silently reuse the previous key held by the cached context.
  static constexpr uint8_t kZero = 0;
  const uint8_t* k = key.empty() ? &kZero : key.data();
  const size_t klen = key.empty() ? 1 : key.size();
  if (EVP_MAC_init(ctx, k, klen, nullptr) != 1) return false;
  for (const auto& p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx, p.data(), p.size()) != 1) return false;
  }
  size_t len = 0;
  return EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
}

constexpr std::array<uint32_t, 256> makeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = makeCrcTable();

template <size_t N>
std::optional<std::array<uint8_t, N>> longTermKey(const EVP_MD* md, std::string_view username,
                                                  std::string_view realm,
                                                  std::string_view password) {
  char prepared[1024];
  const auto plen = saslPrep(password, prepared);
  if (!plen) return std::nullopt;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<uint8_t, N> out{};
  unsigned int outLen = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), username.data(), username.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), ":", 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), realm.data(), realm.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), ":", 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), prepared, *plen) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &outLen) != 1 || outLen != N) {
    return std::nullopt;
  }
  return out;
}

// The three HMAC input parts for an integrity attribute at `offset` whose value is `len` bytes:
// header bytes 0..1, the length adjusted to end after the attribute, bytes 4..offset (§14.5).
struct IntegrityInput {
  uint8_t adjustedLength[2];
  std::span<const uint8_t> parts[3];
};

void integrityInput(const StunMessage& msg, size_t offset, size_t len, IntegrityInput& in) {
  const auto b = msg.bytes();
  storeBe16(in.adjustedLength, static_cast<uint16_t>(offset + 4 + len - kHeaderSize));
  in.parts[0] = b.first(2);
  in.parts[1] = std::span<const uint8_t>(in.adjustedLength, 2);
  in.parts[2] = b.subspan(4, offset - 4);
}

}  // namespace

uint32_t crc32(std::span<const uint8_t> data, uint32_t crc) {
  crc = ~crc;
  for (const uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool hmacSha1(std::span<const uint8_t> key, std::span<const std::span<const uint8_t>> parts,
              std::span<uint8_t, 20> out) {
  thread_local const MacCtxPtr ctx = makeHmacCtx("SHA1");
  return hmac(ctx.get(), key, parts, out);
}

bool hmacSha256(std::span<const uint8_t> key, std::span<const std::span<const uint8_t>> parts,
                std::span<uint8_t, 32> out) {
  thread_local const MacCtxPtr ctx = makeHmacCtx("SHA256");
  return hmac(ctx.get(), key, parts, out);
}

std::optional<std::array<uint8_t, 16>> longTermKeyMd5(std::string_view username,
                                                      std::string_view realm,
                                                      std::string_view password) {
  return longTermKey<16>(EVP_md5(), username, realm, password);
}

std::optional<std::array<uint8_t, 32>> longTermKeySha256(std::string_view username,
                                                         std::string_view realm,
                                                         std::string_view password) {
  return longTermKey<32>(EVP_sha256(), username, realm, password);
}

IntegrityResult checkMessageIntegrity(const StunMessage& msg, std::span<const uint8_t> key) {
  const size_t off = msg.messageIntegrityOffset();
  if (off == 0) return IntegrityResult::kAbsent;
  IntegrityInput in;
  integrityInput(msg, off, 20, in);
  std::array<uint8_t, 20> mac;
  if (!hmacSha1(key, in.parts, mac)) return IntegrityResult::kMismatch;
  const auto got = msg.bytes().subspan(off + 4, 20);
  return CRYPTO_memcmp(mac.data(), got.data(), 20) == 0 ? IntegrityResult::kOk
                                                        : IntegrityResult::kMismatch;
}

IntegrityResult checkMessageIntegritySha256(const StunMessage& msg, std::span<const uint8_t> key) {
  const size_t off = msg.messageIntegritySha256Offset();
  if (off == 0) return IntegrityResult::kAbsent;
  const size_t len = loadBe16(&msg.bytes()[off + 2]);  // 16..32, checked by parse()
  IntegrityInput in;
  integrityInput(msg, off, len, in);
  std::array<uint8_t, 32> mac;
  if (!hmacSha256(key, in.parts, mac)) return IntegrityResult::kMismatch;
  const auto got = msg.bytes().subspan(off + 4, len);
  return CRYPTO_memcmp(mac.data(), got.data(), len) == 0 ? IntegrityResult::kOk
                                                         : IntegrityResult::kMismatch;
}

IntegrityResult checkFingerprint(const StunMessage& msg) {
  const size_t off = msg.fingerprintOffset();
  if (off == 0) return IntegrityResult::kAbsent;
  // FINGERPRINT is last (parse() enforces it), so the header length already ends after it.
  const uint32_t want = crc32(msg.bytes().first(off)) ^ kFingerprintXor;
  return want == loadBe32(&msg.bytes()[off + 4]) ? IntegrityResult::kOk
                                                 : IntegrityResult::kMismatch;
}

}  // namespace medrelay::net::stun
