// Fuzzes the RFC 8840 trickle-ice-sdpfrag parser used for WHIP/WHEP PATCH bodies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/sdp/trickle_fragment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto frag = medrelay::media::sdp::parseTrickleFragment(text);
  if (frag) (void)frag->isIceRestart("abcd", "abcdefghijklmnopqrstuv");
  return 0;
}
