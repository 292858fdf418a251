#pragma once

// Zero-copy RTP packet view over a mutable buffer (RFC 3550 §5.1) with RFC 8285 header
// extensions (one-byte 0xBEDE and two-byte 0x100X forms) and in-place rewriting for forwarding.
// No allocation, no exceptions: parse() returns nullopt for anything malformed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace medrelay::media {

inline constexpr size_t kRtpHeaderSize = 12;
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;  // RFC 8285 §4.2
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // RFC 8285 §4.3, low 4 bits app

enum class ExtensionForm : uint8_t { kNone, kOneByte, kTwoByte, kOther };

class RtpPacket {
 public:
  // Validates version 2, CSRC list, extension block and padding (RFC 3550 §5.1: the last byte
  // counts the padding including itself, so 1..payload area) against the buffer size.
  static std::optional<RtpPacket> parse(std::span<uint8_t> bytes);

  bool marker() const { return (buf_[1] & 0x80) != 0; }
  uint8_t payloadType() const { return buf_[1] & 0x7F; }
  uint16_t sequenceNumber() const;
  uint32_t timestamp() const;
  uint32_t ssrc() const;
  uint8_t csrcCount() const { return buf_[0] & 0x0F; }
  uint32_t csrc(size_t i) const;  // i < csrcCount()
  bool hasPadding() const { return (buf_[0] & 0x20) != 0; }

  void setMarker(bool m);
  void setPayloadType(uint8_t pt);  // 0..127
  void setSequenceNumber(uint16_t seq);
  void setTimestamp(uint32_t ts);
  void setSsrc(uint32_t ssrc);

  size_t size() const { return buf_.size(); }
  size_t headerSize() const { return headerSize_; }  // fixed + CSRCs + extension block
  size_t paddingSize() const { return paddingSize_; }
  std::span<uint8_t> bytes() const { return buf_; }
  std::span<uint8_t> payload() const { return buf_.subspan(headerSize_, payloadSize_); }

  ExtensionForm extensionForm() const { return extForm_; }
  uint16_t extensionProfile() const { return extProfile_; }
  std::span<uint8_t> extensionBlock() const { return buf_.subspan(extOffset_, extSize_); }

  // RFC 8285 element data for `id` (one-byte: 1..14, two-byte: 1..255); nullopt if absent or
  // the block is malformed before it. The span is writable in place.
  std::optional<std::span<uint8_t>> findExtension(uint8_t id) const;

  // Rewrites element ids in place: map[old] = new (0 erases the element into padding bytes,
  // RFC 8285 §4.2/§4.3). Ids beyond the form's range are rejected. false if the block is
  // malformed or a mapping is invalid for the form; the packet may then be partly rewritten.
  bool remapExtensionIds(const std::array<uint8_t, 256>& map);
  bool rewriteExtensionId(uint8_t from, uint8_t to);

  // abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time): 24-bit 6.18
  // fixed-point seconds; writes into an existing 3-byte element.
  bool setAbsSendTime(uint8_t id, uint32_t value24);
  std::optional<uint32_t> absSendTime(uint8_t id) const;
  static uint32_t absSendTimeFromMicros(uint64_t micros);
  // transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): 16-bit sequence.
  bool setTransportWideSeq(uint8_t id, uint16_t seq);
  std::optional<uint16_t> transportWideSeq(uint8_t id) const;

 private:
  explicit RtpPacket(std::span<uint8_t> b) : buf_(b) {}
  // Walks the elements; fn(id, headerOffsetInBlock, dataOffsetInBlock, len) returns true to stop.
  template <typename Fn>
  bool walkExtensions(Fn&& fn) const;

  std::span<uint8_t> buf_;
  size_t headerSize_ = 0;
  size_t payloadSize_ = 0;
  size_t paddingSize_ = 0;
  size_t extOffset_ = 0;  // start of the extension elements (after the 4-byte ext header)
  size_t extSize_ = 0;
  uint16_t extProfile_ = 0;
  ExtensionForm extForm_ = ExtensionForm::kNone;
};

// Adds header extension element `id` with `data` to the packet of `size` bytes at the start of
// `buffer`, moving the payload (and padding) back as needed: into the free padding bytes of an
// existing block, else by growing the block by whole words (RFC 8285 §4.1), else by adding a
// one-byte block (0xBEDE). One-byte form: id 1..14, 1..16 bytes; two-byte form: id 1..255, up to
// 255 bytes. Returns the new size; nullopt if the packet does not parse, already carries `id`,
// has a non-RFC 8285 extension block, or the buffer is too small.
std::optional<size_t> addHeaderExtension(std::span<uint8_t> buffer, size_t size, uint8_t id,
                                         std::span<const uint8_t> data);

// RTX, RFC 4588 §4: the RTX payload is the 2-byte original sequence number (OSN) followed by the
// original payload; header (CSRCs, extensions) is copied; padding is dropped. Writes into out and
// returns the size; nullopt if out is too small.
std::optional<size_t> buildRtx(const RtpPacket& original, uint8_t rtxPayloadType, uint32_t rtxSsrc,
                               uint16_t rtxSequence, std::span<uint8_t> out);
// Inverse: restores sequence = OSN, payload type and SSRC of the original stream.
std::optional<size_t> recoverFromRtx(const RtpPacket& rtx, uint8_t originalPayloadType,
                                     uint32_t originalSsrc, std::span<uint8_t> out);

}  // namespace medrelay::media
