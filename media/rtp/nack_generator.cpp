#include "media/rtp/nack_generator.h"

namespace medrelay::media {

void NackGenerator::erase(size_t i) {
  for (size_t k = i + 1; k < count_; ++k) missing_[k - 1] = missing_[k];
  --count_;
}

bool NackGenerator::onPacket(int64_t seq, uint64_t nowMs, bool repair) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    return true;
  }
  if (seq > highest_) {
    const int64_t gap = seq - highest_ - 1;
    if (gap > 0 && count_ + static_cast<size_t>(gap) > kMaxMissing) {
      count_ = 0;
      highest_ = seq;
      return false;
    }
    for (int64_t s = highest_ + 1; s < seq; ++s) missing_[count_++] = Missing{s, nowMs, 0, 0};
    highest_ = seq;
    return true;
  }
  for (size_t i = 0; i < count_; ++i) {
    if (missing_[i].seq != seq) continue;
    // A repair answering our first request measures the round trip (later ones are ambiguous).
    if (repair && missing_[i].retries == 1) {
      const uint64_t sample = nowMs - missing_[i].sentMs;
      rttMs_ = (7 * rttMs_ + sample) / 8;
    }
    erase(i);
    break;
  }
  return true;
}

size_t NackGenerator::takeDue(uint64_t nowMs, std::span<uint16_t> out) {
  size_t n = 0;
  const uint64_t interval = retryIntervalMs();
  for (size_t i = 0; i < count_;) {
    Missing& m = missing_[i];
    if (nowMs - m.firstMs > kMaxAgeMs || m.retries >= kMaxRetries) {
      ++gaveUp_;
      erase(i);
      continue;
    }
    if ((m.retries == 0 || nowMs - m.sentMs >= interval) && n < out.size()) {
      out[n++] = static_cast<uint16_t>(m.seq);
      m.sentMs = nowMs;
      ++m.retries;
    }
    ++i;
  }
  return n;
}

}  // namespace medrelay::media
