#pragma once

// Demultiplexing of the first byte (RFC 7983 §7) and TURN ChannelData (RFC 8656 §12.4, §12.5).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace medrelay::net::stun {

// RFC 7983 §7 first-byte ranges.
enum class PacketKind : uint8_t { kStun, kZrtp, kDtls, kTurnChannel, kRtpRtcp, kUnknown };
PacketKind classifyPacket(std::span<const uint8_t> bytes);

// STUN by RFC 7983 (first byte 0..3) plus the magic cookie when 8 bytes are present.
bool isStun(std::span<const uint8_t> bytes);

inline constexpr uint16_t kMinChannel = 0x4000;  // RFC 8656 §12
inline constexpr uint16_t kMaxChannel = 0x4FFF;
inline constexpr size_t kChannelDataHeaderSize = 4;

struct ChannelData {
  uint16_t channel = 0;
  std::span<const uint8_t> data;  // application data, padding excluded
};

enum class Framing { kDatagram, kStream };

// Parses one ChannelData message. kDatagram (UDP): 4 + length <= size, up to 3 trailing padding
// bytes accepted (RFC 8656 §12.5: padding MAY be present over UDP). kStream (TCP/TLS): bytes must
// be exactly the padded frame (see channelDataFrameSize()).
std::optional<ChannelData> parseChannelData(std::span<const uint8_t> bytes, Framing framing);

// Size of the ChannelData frame starting at header on a stream: 4 + length rounded up to 4
// (RFC 8656 §12.5). nullopt if fewer than 4 bytes or the channel number is out of range.
std::optional<size_t> channelDataFrameSize(std::span<const uint8_t> header);

// Writes the 4-byte ChannelData header (and, for kStream, zero padding after data) into out,
// whose data part must already hold `dataLen` bytes at out[4..]. Returns the bytes to send.
std::optional<size_t> writeChannelDataHeader(std::span<uint8_t> out, uint16_t channel,
                                             size_t dataLen, Framing framing);

}  // namespace medrelay::net::stun
