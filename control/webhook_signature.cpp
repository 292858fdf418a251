#include "control/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include "common/assert.h"

// Standard Webhooks signing (docs/access-log.md "Webhooks"): the signed content is
// `<webhook-id>.<webhook-timestamp>.<body>`, the MAC HMAC-SHA256 (RFC 2104) keyed with the
// secret's bytes, sent base64-encoded after the version tag `v1,`.

namespace medrelay::control {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMinSecretBytes = 24;
constexpr size_t kMaxSecretBytes = 64;
constexpr size_t kMaxSecrets = 2;

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string_view trimLine(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string base64Encode(const uint8_t* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool base64Decode(std::string_view text, std::vector<uint8_t>& out) {
  out.clear();
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    const int v = base64Value(text[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero (canonical encoding).
  return (acc & ((1u << bits) - 1)) == 0;
}

Result<std::vector<WebhookSecret>> parseWebhookSecrets(std::string_view text) {
  std::vector<WebhookSecret> out;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = trimLine(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no);
    if (line.substr(0, kSecretPrefix.size()) != kSecretPrefix) {
      return makeError("invalid_secret", where + ": a secret is written whsec_<base64>");
    }
    WebhookSecret bytes;
    if (!base64Decode(line.substr(kSecretPrefix.size()), bytes)) {
      return makeError("invalid_secret", where + ": the part after whsec_ is not base64");
    }
    if (bytes.size() < kMinSecretBytes || bytes.size() > kMaxSecretBytes) {
      return makeError("invalid_secret", where + ": a secret has 24 to 64 bytes");
    }
    if (out.size() == kMaxSecrets) {
      return makeError("invalid_secret",
                       where + ": at most two secrets (the new and the old while rotating)");
    }
    out.push_back(std::move(bytes));
  }
  if (out.empty()) return makeError("invalid_secret", "no secret in the file");
  return out;
}

Result<std::vector<WebhookSecret>> loadWebhookSecrets(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("secret_unreadable", "cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parseWebhookSecrets(ss.str());
  if (!parsed) return makeError(parsed.error().code, path + ": " + parsed.error().message);
  return parsed;
}

std::string webhookSignature(const std::vector<WebhookSecret>& secrets, std::string_view id,
                             int64_t timestamp_s, std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content.append(id).append(".").append(std::to_string(timestamp_s)).append(".");
  signed_content.append(body);
  std::string header;
  for (const auto& secret : secrets) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const unsigned char* ok = HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                                   reinterpret_cast<const unsigned char*>(signed_content.data()),
                                   signed_content.size(), mac, &len);
    MEDRELAY_ASSERT(ok != nullptr && len == 32, "HMAC-SHA256 failed");
    if (!header.empty()) header += ' ';
    header += "v1,";
    header += base64Encode(mac, len);
  }
  return header;
}

}  // namespace medrelay::control
