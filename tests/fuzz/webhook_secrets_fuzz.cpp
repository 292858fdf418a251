// Fuzzes the webhook secret-file parser (docs/access-log.md "Webhooks") and signs with whatever
// it accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "control/webhook_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto secrets = medrelay::control::parseWebhookSecrets(text);
  if (secrets) (void)medrelay::control::webhookSignature(*secrets, "msg_1", 1, text);
  std::vector<uint8_t> out;
  (void)medrelay::control::base64Decode(text.substr(0, 256), out);
  return 0;
}
