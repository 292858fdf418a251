#pragma once

// RFC 4571 §2 framing of RTP/RTCP, DTLS and STUN over a TCP stream (ICE-TCP, RFC 6544 §3): each
// packet is preceded by its length as a 16-bit big-endian integer.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/be_bytes.h"

namespace medrelay::net {

inline constexpr size_t kFrameHeaderSize = 2;
inline constexpr size_t kMaxFrameSize = 65535;

enum class DeframeStatus : uint8_t { kOk, kOversize, kStopped };

struct DeframeResult {
  DeframeStatus status = DeframeStatus::kOk;
  size_t consumed = 0;  // bytes of complete frames; the caller keeps the rest for the next read
};

// Delivers every complete frame in buf to fn(uint8_t* frame, size_t len) -> bool (false stops).
// A frame longer than maxFrame ends the scan with kOversize (the connection must be closed).
// Zero-length frames are skipped.
template <typename Fn>
DeframeResult deframe(std::span<uint8_t> buf, size_t maxFrame, Fn&& fn) {
  DeframeResult r;
  while (buf.size() - r.consumed >= kFrameHeaderSize) {
    uint8_t* p = buf.data() + r.consumed;
    const size_t len = loadBe16(p);
    if (len > maxFrame) {
      r.status = DeframeStatus::kOversize;
      return r;
    }
    if (buf.size() - r.consumed - kFrameHeaderSize < len) break;
    r.consumed += kFrameHeaderSize + len;
    if (len > 0 && !fn(p + kFrameHeaderSize, len)) {
      r.status = DeframeStatus::kStopped;
      return r;
    }
  }
  return r;
}

// Writes the 2-byte header for a frame of len bytes (len <= kMaxFrameSize).
inline void writeFrameHeader(uint8_t* out, size_t len) {
  storeBe16(out, static_cast<uint16_t>(len));
}

}  // namespace medrelay::net
