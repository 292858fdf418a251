#pragma once

// TURN over TCP and TLS (RFC 8656 §12.5): STUN messages and ChannelData messages back to back on
// one stream, ChannelData padded to a multiple of 4 bytes. The first two bits tell them apart
// (00: STUN, 01: ChannelData, RFC 7983 §7); anything else means the stream lost its framing.
// Packets are handed on whole, with their padding: the TURN server parses them as received.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/stream_framing.h"

namespace medrelay::net::turn {

// Size of the STUN message or ChannelData frame at the start of buf, 0 when more bytes are
// needed, nullopt when the bytes are neither.
std::optional<size_t> turnFrameSize(std::span<const uint8_t> buf);

class TurnStreamFraming final : public StreamFraming {
 public:
  static constexpr size_t kMaxFrame = 4 + 65535 + 3;  // the largest padded ChannelData frame

  FrameInfo next(std::span<const uint8_t> buf) const override;
  size_t maxFrameSize() const override { return kMaxFrame; }
  // No header: the server sends whole STUN and (padded) ChannelData messages.
  std::optional<size_t> writeHeader(size_t len, uint8_t* out) const override;
};

}  // namespace medrelay::net::turn
