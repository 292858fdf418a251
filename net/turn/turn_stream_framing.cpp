#include "net/turn/turn_stream_framing.h"

#include "net/stun/stun_message.h"
#include "net/turn/channel_numbers.h"

namespace medrelay::net::turn {

std::optional<size_t> turnFrameSize(std::span<const uint8_t> buf) {
  if (buf.size() < 4) return 0;
  if ((buf[0] & 0xC0) == 0x40) return channelFrameSize(buf);
  if ((buf[0] & 0xC0) != 0) return std::nullopt;
  if (buf.size() < stun::kHeaderSize) return 0;
  return stun::stunMessageSize(buf);
}

FrameInfo TurnStreamFraming::next(std::span<const uint8_t> buf) const {
  const auto size = turnFrameSize(buf);
  // A STUN length beyond the largest frame cannot be skipped either: no resynchronising.
  if (!size || *size > kMaxFrame) return {FrameStatus::kInvalid, 0, 0};
  if (*size == 0 || buf.size() < *size) return {FrameStatus::kIncomplete, 0, *size};
  return {FrameStatus::kComplete, 0, *size};
}

std::optional<size_t> TurnStreamFraming::writeHeader(size_t len, uint8_t* /*out*/) const {
  if (len == 0 || len > kMaxFrame) return std::nullopt;
  return 0;
}

}  // namespace medrelay::net::turn
