// RFC 4571 framing (ICE-TCP) of StreamListener: see stream_framing_check.h. The receiver limit of
// 1500 bytes makes oversize frames reachable.
#include <cstddef>
#include <cstdint>

#include "net/stream_framing.h"
#include "tests/fuzz/stream_framing_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const medrelay::net::Rfc4571Framing framing(1500);
  medrelay::fuzz::checkFraming(framing, data, size);
  return 0;
}
