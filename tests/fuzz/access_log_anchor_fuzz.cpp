// Fuzzes the anchor-file parser of `medrelay audit verify --anchor` (docs/access-log.md
// "Anchors"): lines of JSON chain heads from outside the relay.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/access_log_anchor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)medrelay::control::parseAnchors(text);
  return 0;
}
