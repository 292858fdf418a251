#pragma once
// The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK,
// carried on an SCTP stream with PPID 50 (RFC 8831 §8). Parsing never allocates: the label and
// protocol are views into the message. Packet path: no exceptions, nullopt on anything malformed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace medrelay::media::dcep {

// SCTP payload protocol identifiers of WebRTC data channels (RFC 8831 §8).
enum class Ppid : uint32_t {
  kDcep = 50,
  kString = 51,
  kBinaryPartial = 52,  // deprecated (RFC 8831 §8): refused
  kBinary = 53,
  kStringPartial = 54,  // deprecated: refused
  kStringEmpty = 56,
  kBinaryEmpty = 57,
};

inline constexpr uint8_t kMessageOpen = 0x03;  // RFC 8832 §8.2.1
inline constexpr uint8_t kMessageAck = 0x02;

// RFC 8832 §5.1 channel types: the high bit is "unordered", the low bits the reliability.
enum class Reliability : uint8_t { kReliable, kMaxRetransmits, kMaxLifetime };

struct ChannelType {
  Reliability reliability = Reliability::kReliable;
  bool unordered = false;
  // Retransmissions (kMaxRetransmits) or milliseconds (kMaxLifetime); 0 for reliable.
  uint32_t parameter = 0;
};

struct Open {
  ChannelType type;
  uint16_t priority = 0;
  std::string_view label;     // UTF-8, views the parsed message
  std::string_view protocol;  // UTF-8, views the parsed message
};

// A DATA_CHANNEL_OPEN (RFC 8832 §5.1): 12-byte header, then label and protocol. Nullopt for a
// wrong message type, an unknown channel type, or lengths that do not add up to the message.
std::optional<Open> parseOpen(const uint8_t* data, size_t len);
// RFC 8832 §5.2: one byte, 0x02.
bool isAck(const uint8_t* data, size_t len);

// Writes a DATA_CHANNEL_OPEN into out (capacity cap); returns its length, 0 if it does not fit.
size_t writeOpen(uint8_t* out, size_t cap, const Open& open);

}  // namespace medrelay::media::dcep
