// TURN over TCP/TLS framing (RFC 8656 §12.5: STUN messages and padded ChannelData) of
// StreamListener: see stream_framing_check.h.
#include <cstddef>
#include <cstdint>

#include "net/turn/turn_stream_framing.h"
#include "tests/fuzz/stream_framing_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const medrelay::net::turn::TurnStreamFraming framing;
  medrelay::fuzz::checkFraming(framing, data, size);
  return 0;
}
