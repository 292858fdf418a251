#pragma once

// Payload inspection needed by the router: VP8 payload descriptor (RFC 7741 §4.2, §4.3) and
// H.264 keyframe detection (RFC 6184 §5.6-§5.8). Opus needs nothing. Views only.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace medrelay::media {

struct Vp8Descriptor {
  bool startOfPartition = false;      // S bit
  uint8_t partitionId = 0;            // PID
  bool nonReference = false;          // N bit
  std::optional<uint16_t> pictureId;  // 7 or 15 bits
  bool pictureId15Bit = false;
  std::optional<uint8_t> tl0PicIdx;
  std::optional<uint8_t> temporalId;  // TID
  bool layerSync = false;             // Y bit
  std::optional<uint8_t> keyIdx;
  size_t descriptorSize = 0;  // bytes before the VP8 payload
  // Start of a frame (S=1, PID=0) whose VP8 payload header has P=0 (RFC 7741 §4.3).
  bool keyframe = false;
};

// nullopt if the descriptor is truncated or there is no payload after it.
std::optional<Vp8Descriptor> parseVp8Descriptor(std::span<const uint8_t> payload);

// Keeps one consumer's VP8 PictureID and TL0PICIDX (RFC 7741 §4.2) continuous when its source
// changes (a producer restart, a rejoin's takeover, a simulcast layer switch): after
// switchSource() the next picture continues at the last forwarded PictureID + 1 and TL0PICIDX + 1
// whatever the new source's values are, so a receiver that follows frame dependencies by
// PictureID (libwebrtc's does) sees one stream, not a jump it may take for loss. The widths are
// kept (7- or 15-bit PictureID); fields a packet does not carry are left alone.
class Vp8PictureIdRewriter {
 public:
  void switchSource() { pending_ = true; }
  // Rewrites the descriptor at the start of `payload` in place; false (nothing written) if it
  // does not parse.
  bool rewrite(std::span<uint8_t> payload);

 private:
  bool started_ = false;
  bool pending_ = false;
  uint16_t pictureIdOffset_ = 0;
  uint8_t tl0Offset_ = 0;
  uint16_t lastPictureId_ = 0;  // the newest written, 15-bit space
  uint8_t lastTl0_ = 0;
};

// NAL unit types (RFC 6184 §5.2 / H.264 Table 7-1).
inline constexpr uint8_t kH264Idr = 5;
inline constexpr uint8_t kH264Sps = 7;
inline constexpr uint8_t kH264Pps = 8;
inline constexpr uint8_t kH264StapA = 24;
inline constexpr uint8_t kH264FuA = 28;

// True when the payload carries an SPS or the start of an IDR slice: a single NAL unit, any NAL
// inside a STAP-A, or an FU-A with the S bit set. Malformed aggregates return false.
bool h264IsKeyframe(std::span<const uint8_t> payload);

}  // namespace medrelay::media
