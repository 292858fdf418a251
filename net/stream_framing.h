#pragma once

// Packets on a TCP (or TLS) byte stream, as StreamListener (net/stream_listener.h) receives and
// sends them. A framing looks at the bytes at the start of a buffer and says where its first
// packet is; it is a pure function of those bytes (no I/O, no allocation), so every framing has
// a fuzz target in tests/fuzz/. Two framings exist: RFC 4571 below (ICE-TCP) and TURN's STUN /
// ChannelData framing (net/turn/turn_stream_framing.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/be_bytes.h"

namespace medrelay::net {

enum class FrameStatus : uint8_t {
  kComplete,    // a whole frame is in the buffer
  kIncomplete,  // more bytes are needed
  kOversize,    // the frame is longer than the framing allows: the stream cannot continue
  kInvalid,     // the bytes are no frame at all: the stream lost its framing
};

struct FrameInfo {
  FrameStatus status = FrameStatus::kIncomplete;
  size_t headerSize = 0;  // bytes before the packet (not handed on)
  size_t packetSize = 0;  // bytes handed on; 0 is an empty frame, which is skipped
  size_t size() const { return headerSize + packetSize; }  // bytes of the stream it takes
};

class StreamFraming {
 public:
  static constexpr size_t kMaxHeaderSize = 4;

  virtual ~StreamFraming() = default;
  // The first frame at the start of buf. A kComplete frame has size() in 1..buf.size() and at
  // most maxFrameSize().
  virtual FrameInfo next(std::span<const uint8_t> buf) const = 0;
  // The largest frame, header included: a receive buffer of this size holds any frame.
  virtual size_t maxFrameSize() const = 0;
  // Writes the header of an outgoing packet of len bytes to out (kMaxHeaderSize bytes of room)
  // and returns its size; nullopt when a packet of that size cannot be framed.
  virtual std::optional<size_t> writeHeader(size_t len, uint8_t* out) const = 0;
};

enum class DeframeStatus : uint8_t { kOk, kOversize, kInvalid, kStopped };

struct DeframeResult {
  DeframeStatus status = DeframeStatus::kOk;
  size_t consumed = 0;  // bytes of complete frames; the caller keeps the rest for the next read
};

// Delivers every complete frame in buf to fn(uint8_t* packet, size_t len) -> bool (false stops
// the scan with kStopped). kOversize or kInvalid end the scan: the connection must be closed.
// The packets are writable (SRTP decrypts in place) and point into buf.
template <typename Fn>
DeframeResult deframe(const StreamFraming& framing, std::span<uint8_t> buf, Fn&& fn) {
  DeframeResult r;
  for (;;) {
    const size_t left = buf.size() - r.consumed;
    const FrameInfo f = framing.next(buf.subspan(r.consumed));
    if (f.status == FrameStatus::kIncomplete) return r;
    if (f.status == FrameStatus::kOversize) {
      r.status = DeframeStatus::kOversize;
      return r;
    }
    if (f.status == FrameStatus::kInvalid || f.size() == 0 || f.size() > left) {
      r.status = DeframeStatus::kInvalid;
      return r;
    }
    uint8_t* packet = buf.data() + r.consumed + f.headerSize;
    r.consumed += f.size();
    if (f.packetSize > 0 && !fn(packet, f.packetSize)) {
      r.status = DeframeStatus::kStopped;
      return r;
    }
  }
}

// RFC 4571 §2 framing of RTP/RTCP, DTLS and STUN over a TCP stream (ICE-TCP, RFC 6544 §3): each
// packet is preceded by its length as a 16-bit big-endian integer. Zero-length frames are legal
// and skipped; a receiver may refuse frames longer than maxPacket.
class Rfc4571Framing final : public StreamFraming {
 public:
  static constexpr size_t kHeaderSize = 2;
  static constexpr size_t kMaxPacket = 65535;

  explicit Rfc4571Framing(size_t maxPacket = kMaxPacket)
      : maxPacket_(maxPacket < kMaxPacket ? maxPacket : kMaxPacket) {}

  FrameInfo next(std::span<const uint8_t> buf) const override {
    if (buf.size() < kHeaderSize) return {};
    const size_t len = loadBe16(buf.data());
    if (len > maxPacket_) return {FrameStatus::kOversize, kHeaderSize, len};
    if (buf.size() - kHeaderSize < len) return {FrameStatus::kIncomplete, kHeaderSize, len};
    return {FrameStatus::kComplete, kHeaderSize, len};
  }
  size_t maxFrameSize() const override { return kHeaderSize + maxPacket_; }
  // Outgoing packets may be up to 65535 bytes whatever this side accepts.
  std::optional<size_t> writeHeader(size_t len, uint8_t* out) const override {
    if (len == 0 || len > kMaxPacket) return std::nullopt;
    storeBe16(out, static_cast<uint16_t>(len));
    return kHeaderSize;
  }
  size_t maxPacket() const { return maxPacket_; }

 private:
  size_t maxPacket_;
};

}  // namespace medrelay::net
