#pragma once

// Channel numbers as TURN servers accept them: RFC 8656 §12 narrowed the range to
// 0x4000-0x4FFF, but RFC 5766 clients (coturn's turnutils_uclient among them) still pick from
// 0x4000-0x7FFF, so the server accepts the old range (net/stun's codec keeps the strict one).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/be_bytes.h"
#include "net/stun/stun_constants.h"
#include "net/stun/stun_message.h"

namespace medrelay::net::turn {

inline constexpr uint16_t kMinChannel = 0x4000;
inline constexpr uint16_t kMaxChannel = 0x7FFF;  // RFC 5766 §11

inline bool validChannel(uint16_t ch) {
  return ch >= kMinChannel && ch <= kMaxChannel;
}

// CHANNEL-NUMBER (RFC 8656 §18.1): 4 bytes, number then RFFU.
inline std::optional<uint16_t> channelNumberOf(const stun::StunMessage& m) {
  const auto a = m.find(stun::attr::kChannelNumber);
  if (!a || a->value.size() != 4) return std::nullopt;
  const uint16_t ch = loadBe16(a->value.data());
  return validChannel(ch) ? std::optional<uint16_t>(ch) : std::nullopt;
}

struct ChannelFrame {
  uint16_t channel = 0;
  std::span<const uint8_t> data;
};

// One ChannelData message (RFC 8656 §12.4): datagrams may carry up to 3 padding bytes; stream
// frames must be exactly 4 + length padded to 4 (§12.5).
inline std::optional<ChannelFrame> parseChannelFrame(std::span<const uint8_t> b, bool stream) {
  if (b.size() < 4) return std::nullopt;
  const uint16_t ch = loadBe16(b.data());
  const size_t len = loadBe16(b.data() + 2);
  if (!validChannel(ch) || 4 + len > b.size()) return std::nullopt;
  const size_t padded = 4 + ((len + 3) & ~size_t{3});
  if (stream ? b.size() != padded : b.size() > padded) return std::nullopt;
  return ChannelFrame{ch, b.subspan(4, len)};
}

// Stream frame size from the 4-byte header; nullopt when the channel is out of range.
inline std::optional<size_t> channelFrameSize(std::span<const uint8_t> header) {
  if (header.size() < 4 || !validChannel(loadBe16(header.data()))) return std::nullopt;
  return 4 + ((size_t{loadBe16(header.data() + 2)} + 3) & ~size_t{3});
}

}  // namespace medrelay::net::turn
