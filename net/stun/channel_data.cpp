#include "net/stun/channel_data.h"

#include <cstring>

#include "common/be_bytes.h"
#include "net/stun/stun_constants.h"

namespace medrelay::net::stun {

namespace {
constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}
}  // namespace

PacketKind classifyPacket(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return PacketKind::kUnknown;
  const uint8_t b = bytes[0];
  if (b <= 3) return PacketKind::kStun;
  if (b >= 16 && b <= 19) return PacketKind::kZrtp;
  if (b >= 20 && b <= 63) return PacketKind::kDtls;
  if (b >= 64 && b <= 79) return PacketKind::kTurnChannel;
  if (b >= 128 && b <= 191) return PacketKind::kRtpRtcp;
  return PacketKind::kUnknown;
}

bool isStun(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize || bytes[0] > 3) return false;
  return loadBe32(bytes.data() + 4) == kMagicCookie;
}

std::optional<ChannelData> parseChannelData(std::span<const uint8_t> bytes, Framing framing) {
  if (bytes.size() < kChannelDataHeaderSize) return std::nullopt;
  const uint16_t channel = loadBe16(bytes.data());
  if (channel < kMinChannel || channel > kMaxChannel) return std::nullopt;
  const size_t len = loadBe16(bytes.data() + 2);
  const size_t avail = bytes.size() - kChannelDataHeaderSize;
  if (len > avail) return std::nullopt;
  if (framing == Framing::kStream) {
    if (avail != padded(len)) return std::nullopt;
  } else if (avail - len > 3) {
    return std::nullopt;
  }
  return ChannelData{channel, bytes.subspan(kChannelDataHeaderSize, len)};
}

std::optional<size_t> channelDataFrameSize(std::span<const uint8_t> header) {
  if (header.size() < kChannelDataHeaderSize) return std::nullopt;
  const uint16_t channel = loadBe16(header.data());
  if (channel < kMinChannel || channel > kMaxChannel) return std::nullopt;
  return kChannelDataHeaderSize + padded(loadBe16(header.data() + 2));
}

std::optional<size_t> writeChannelDataHeader(std::span<uint8_t> out, uint16_t channel,
                                             size_t dataLen, Framing framing) {
  if (channel < kMinChannel || channel > kMaxChannel || dataLen > 0xFFFF) return std::nullopt;
  const size_t total =
      kChannelDataHeaderSize + (framing == Framing::kStream ? padded(dataLen) : dataLen);
  if (out.size() < total) return std::nullopt;
  storeBe16(out.data(), channel);
  storeBe16(out.data() + 2, static_cast<uint16_t>(dataLen));
  std::memset(out.data() + kChannelDataHeaderSize + dataLen, 0,
              total - kChannelDataHeaderSize - dataLen);
  return total;
}

}  // namespace medrelay::net::stun
