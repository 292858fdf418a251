#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace medrelay::control {

// One endpoint's signing secret: the bytes behind `whsec_<base64>` (Standard Webhooks).
using WebhookSecret = std::vector<uint8_t>;

// Parses a secret file: one `whsec_<base64>` secret per line (24..64 bytes once decoded), blank
// lines and `#` comments ignored, at most two secrets (the new and the old one while a backend
// rotates). Error code: invalid_secret, with the line named.
Result<std::vector<WebhookSecret>> parseWebhookSecrets(std::string_view text);
// Reads and parses the file (error codes: invalid_secret, secret_unreadable).
Result<std::vector<WebhookSecret>> loadWebhookSecrets(const std::string& path);

// The webhook-signature header value: `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>` for
// each secret, separated by a space.
std::string webhookSignature(const std::vector<WebhookSecret>& secrets, std::string_view id,
                             int64_t timestamp_s, std::string_view body);

std::string base64Encode(const uint8_t* data, size_t size);
// Standard alphabet with padding; nullopt-like error on anything else.
bool base64Decode(std::string_view text, std::vector<uint8_t>& out);

}  // namespace medrelay::control
