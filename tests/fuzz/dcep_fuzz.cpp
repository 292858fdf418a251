// DCEP (RFC 8832) and chat-envelope fuzz target: DATA_CHANNEL_OPEN parsing (a parsed open must
// write back to the same bytes, up to the ignored reliability parameter of reliable channels),
// ACK detection, and the chat envelope check/rewrite (its output must pass the check again
// once the relay's "from" is removed... so we only require it to be a JSON object).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "media/chat_envelope.h"
#include "media/dcep.h"

using namespace medrelay::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 70000) return 0;
  (void)dcep::isAck(data, size);
  if (auto open = dcep::parseOpen(data, size)) {
    if (open->label.size() + open->protocol.size() + 12 != size) std::abort();
    static uint8_t out[70000];
    const size_t len = dcep::writeOpen(out, sizeof(out), *open);
    if (len != size) std::abort();
    // Byte-identical except the reliability parameter, which reliable channels ignore.
    if (std::memcmp(out, data, 4) != 0 || std::memcmp(out + 8, data + 8, size - 8) != 0) {
      std::abort();
    }
  }
  std::string out;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (medrelay::media::chat::rewrite(text, "patient", out)) {
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("from", "") != "patient") std::abort();
  }
  return 0;
}
