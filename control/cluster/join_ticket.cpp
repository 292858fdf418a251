#include "control/cluster/join_ticket.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

#include "common/c_ptr.h"
#include "control/invite_token.h"

namespace medrelay::control::cluster {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kAad = "medrelay join ticket v1";
constexpr size_t kMaxTicketChars = 2048;

using CipherCtx = CPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

Error invalid() {
  return makeError("invalid_ticket", "the redirect ticket is not valid or has expired");
}

int base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// base64url without padding (RFC 4648 §5); nullopt-like empty on a bad character.
bool base64UrlDecode(std::string_view in, std::vector<uint8_t>& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64UrlValue(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a lone trailing character is not base64
}

}  // namespace

TicketSealer::TicketSealer(std::string_view secret) {
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(kAad.data()), kAad.size(), key_.data(), &len);
}

std::string TicketSealer::seal(const JoinTicket& t) const {
  const std::string plain = t.room_id + "\n" + std::to_string(t.expires_at_ms) + "\n" + t.token;
  std::vector<uint8_t> out(kNonceBytes + plain.size() + kTagBytes);
  RAND_bytes(out.data(), kNonceBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), out.data());
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(kAad.data()),
                    static_cast<int>(kAad.size()));
  EVP_EncryptUpdate(ctx.get(), out.data() + kNonceBytes, &len,
                    reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonceBytes + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                      out.data() + kNonceBytes + plain.size());
  return base64Url(out.data(), out.size());
}

Result<JoinTicket> TicketSealer::open(std::string_view text, int64_t nowMs) const {
  if (text.size() > kMaxTicketChars) return invalid();
  std::vector<uint8_t> raw;
  raw.reserve(text.size());
  if (!base64UrlDecode(text, raw) || raw.size() <= kNonceBytes + kTagBytes) return invalid();
  const size_t n = raw.size() - kNonceBytes - kTagBytes;
  std::string plain(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), raw.data());
  EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(kAad.data()),
                    static_cast<int>(kAad.size()));
  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                    raw.data() + kNonceBytes, static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, raw.data() + kNonceBytes + n);
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &tail) !=
      1) {
    return invalid();
  }
  const auto a = plain.find('\n');
  const auto b = a == std::string::npos ? a : plain.find('\n', a + 1);
  if (b == std::string::npos) return invalid();
  JoinTicket t;
  t.room_id = plain.substr(0, a);
  const std::string_view exp(plain.data() + a + 1, b - a - 1);
  auto [end, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), t.expires_at_ms);
  if (ec != std::errc() || end != exp.data() + exp.size()) return invalid();
  t.token = plain.substr(b + 1);
  if (t.expires_at_ms < nowMs) return invalid();
  return t;
}

}  // namespace medrelay::control::cluster
