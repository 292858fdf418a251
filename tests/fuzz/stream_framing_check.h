#pragma once

// The check both stream framing fuzz targets run (net/stream_framing.h): deframing a whole input
// at once and deframing it as it arrives in reads of a few bytes find the same frames and stop
// at the same point, every frame lies inside the buffer, and whatever waits for more bytes is
// smaller than the largest frame (so StreamListener's receive buffer always suffices).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "net/stream_framing.h"

namespace medrelay::fuzz {

struct Deframed {
  std::vector<std::vector<uint8_t>> frames;
  net::DeframeStatus status = net::DeframeStatus::kOk;
};

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline net::DeframeResult deframeInto(const net::StreamFraming& framing, std::span<uint8_t> buf,
                                      Deframed& out) {
  const auto r = net::deframe(framing, buf, [&](uint8_t* p, size_t len) {
    require(p >= buf.data() && p + len <= buf.data() + buf.size());
    out.frames.emplace_back(p, p + len);
    return true;
  });
  require(r.consumed <= buf.size());
  if (r.status == net::DeframeStatus::kOk)
    require(buf.size() - r.consumed < framing.maxFrameSize());
  return r;
}

inline void checkFraming(const net::StreamFraming& framing, const uint8_t* data, size_t size) {
  std::vector<uint8_t> whole(data, data + size);
  Deframed once;
  once.status = deframeInto(framing, whole, once).status;

  Deframed streamed;
  std::vector<uint8_t> pending;
  const size_t chunk = 1 + size % 61;
  for (size_t off = 0; off < size && streamed.status == net::DeframeStatus::kOk; off += chunk) {
    const size_t n = std::min(chunk, size - off);
    pending.insert(pending.end(), data + off, data + off + n);
    const auto r = deframeInto(framing, pending, streamed);
    streamed.status = r.status;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed));
  }
  require(once.status == streamed.status);
  require(once.frames == streamed.frames);
}

}  // namespace medrelay::fuzz
