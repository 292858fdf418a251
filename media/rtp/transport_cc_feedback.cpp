#include "media/rtp/transport_cc_feedback.h"

#include <algorithm>

#include "common/be_bytes.h"
#include "media/rtp/rtcp_packet.h"

namespace medrelay::media::rtcp {
namespace {

constexpr int64_t kDeltaTickUs = 250;         // §3.1.5: receive deltas in 250 us units
constexpr int64_t kReferenceTickUs = 64'000;  // §3.1: reference time in multiples of 64 ms
constexpr size_t kFixedSize = 20;             // header, two SSRCs, base/count/reference/fb count

constexpr uint8_t kNotReceivedSymbol = 0;
constexpr uint8_t kSmallDelta = 1;  // one byte, 0..63.75 ms
constexpr uint8_t kLargeDelta = 2;  // two bytes, signed

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Greedy chunk encoding (§3.1.3, §3.1.4): a run-length chunk for 14 or more equal symbols, a
// one-bit status vector when the next 14 symbols are all "not received"/"small delta", else a run
// of 7 or more, else a two-bit vector of 7. Symbols past n in the last vector are padding the
// receiver ignores (it stops at the packet status count). Returns the bytes written.
size_t writeChunks(const uint8_t* sym, size_t n, uint8_t* out) {
  size_t pos = 0;
  size_t i = 0;
  while (i < n) {
    size_t run = 1;
    while (i + run < n && sym[i + run] == sym[i] && run < 0x1FFF) ++run;
    const size_t vec1 = std::min<size_t>(14, n - i);
    const bool oneBit = std::all_of(sym + i, sym + i + vec1, [](uint8_t s) { return s <= 1; });
    uint16_t chunk = 0;
    if (run >= 14 || (!oneBit && run >= 7)) {
      chunk = static_cast<uint16_t>((sym[i] << 13) | run);
      i += run;
    } else if (oneBit) {
      chunk = 0x8000;
      for (size_t k = 0; k < vec1; ++k) chunk |= static_cast<uint16_t>(sym[i + k] << (13 - k));
      i += vec1;
    } else {
      chunk = 0xC000;
      const size_t vec2 = std::min<size_t>(7, n - i);
      for (size_t k = 0; k < vec2; ++k) chunk |= static_cast<uint16_t>(sym[i + k] << (12 - 2 * k));
      i += vec2;
    }
    storeBe16(out + pos, chunk);
    pos += 2;
  }
  return pos;
}

}  // namespace

void TransportCcFeedback::onPacket(uint16_t seq, int64_t arrivalUs) {
  const int64_t u = unwrapper_.unwrap(seq);
  if (!started_) {
    started_ = true;
    next_ = u;
    highest_ = u;
    slot(u) = arrivalUs;
    return;
  }
  constexpr auto kW = static_cast<int64_t>(kWindow);
  if (u > highest_) {
    for (int64_t s = std::max(highest_ + 1, u - kW + 1); s < u; ++s) slot(s) = kNotReceived;
    slot(u) = arrivalUs;
    highest_ = u;
    if (highest_ - next_ >= kW) next_ = highest_ - kW + 1;  // never reported: the ring moved on
    return;
  }
  if (u <= highest_ - kW || slot(u) != kNotReceived) return;  // too old, or a duplicate
  slot(u) = arrivalUs;
  next_ = std::min(next_, u);
}

std::optional<size_t> TransportCcFeedback::write(std::span<uint8_t> out, uint32_t senderSsrc,
                                                 uint32_t mediaSsrc) {
  if (!pending() || out.size() < kMaxBytes) return std::nullopt;
  int64_t first = next_;
  while (first <= highest_ && slot(first) == kNotReceived) ++first;
  if (first > highest_) {  // only losses left behind the window: nothing to anchor a report on
    next_ = highest_ + 1;
    return std::nullopt;
  }
  const int64_t reference = floorDiv(slot(first), kReferenceTickUs);
  int64_t clock = reference * kReferenceTickUs;  // advances by the quantised deltas

  std::array<uint8_t, kMaxStatuses> sym{};
  std::array<int16_t, kMaxStatuses> delta{};
  size_t n = 0;
  size_t deltaBytes = 0;
  for (int64_t s = next_; s <= highest_ && n < kMaxStatuses; ++s) {
    // Worst case for the chunks written so far: one two-bit vector per 7 symbols.
    const size_t chunkBytes = 2 * ((n + 1 + 6) / 7);
    if (kFixedSize + chunkBytes + deltaBytes + 2 + 3 > kMaxBytes) break;
    const int64_t at = slot(s);
    if (at == kNotReceived) {
      sym[n++] = kNotReceivedSymbol;
      continue;
    }
    const int64_t ticks = floorDiv(at - clock, kDeltaTickUs);
    if (ticks < INT16_MIN || ticks > INT16_MAX) break;  // §3.1.5: start a new feedback packet
    const uint8_t symbol = ticks >= 0 && ticks <= 255 ? kSmallDelta : kLargeDelta;
    sym[n] = symbol;
    delta[n] = static_cast<int16_t>(ticks);
    ++n;
    deltaBytes += symbol;
    clock += ticks * kDeltaTickUs;
  }

  uint8_t* p = out.data();
  storeBe32(p + 4, senderSsrc);
  storeBe32(p + 8, mediaSsrc);
  storeBe16(p + 12, static_cast<uint16_t>(next_));
  storeBe16(p + 14, static_cast<uint16_t>(n));
  storeBe24(p + 16, static_cast<uint32_t>(reference) & 0xFFFFFF);
  p[19] = fbCount_++;
  size_t size = kFixedSize + writeChunks(sym.data(), n, p + kFixedSize);
  for (size_t i = 0; i < n; ++i) {
    if (sym[i] == kSmallDelta) {
      p[size++] = static_cast<uint8_t>(delta[i]);
    } else if (sym[i] == kLargeDelta) {
      storeBe16(p + size, static_cast<uint16_t>(delta[i]));
      size += 2;
    }
  }
  // RFC 3550 §6.4.1 padding: zeros, the last byte counts them, P bit set.
  const size_t padding = (4 - size % 4) % 4;
  for (size_t i = 0; i < padding; ++i) p[size++] = 0;
  if (padding > 0) p[size - 1] = static_cast<uint8_t>(padding);
  p[0] = static_cast<uint8_t>(0x80 | (padding > 0 ? 0x20 : 0) | fmt::kTransportCc);
  p[1] = type::kRtpfb;
  storeBe16(p + 2, static_cast<uint16_t>(size / 4 - 1));
  next_ += static_cast<int64_t>(n);
  return size;
}

}  // namespace medrelay::media::rtcp
