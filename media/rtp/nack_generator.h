#pragma once

// NACK generation towards a publisher (RFC 4585 §6.2.1, RFC 4588): the sequence numbers missing
// from one received video stream, each asked for at once and again every retry interval (about
// one round trip, learnt from how long a repair takes to arrive) until it arrives, is too old or
// has been asked for kMaxRetries times. When more are missing than the list holds, the caller
// should stop repairing and ask for a keyframe instead. See docs/media.md "Loss repair".
//
// Packet path: a fixed-size list, no allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace medrelay::media {

class NackGenerator {
 public:
  static constexpr size_t kMaxMissing = 256;
  static constexpr int kMaxRetries = 10;
  static constexpr uint64_t kMaxAgeMs = 1000;
  static constexpr uint64_t kMinRetryMs = 20;
  static constexpr uint64_t kInitialRttMs = 100;

  // A packet with unwrapped sequence number `seq` arrived (repair: recovered from RTX). Returns
  // false when the gap it opens overflows the list: the list is cleared and the caller should
  // request a keyframe.
  bool onPacket(int64_t seq, uint64_t nowMs, bool repair);
  // Writes the sequence numbers due for a NACK now (ascending) and marks them sent; drops the
  // ones given up on. Returns how many were written (at most out.size()).
  size_t takeDue(uint64_t nowMs, std::span<uint16_t> out);

  size_t missingCount() const { return count_; }
  uint64_t rttMs() const { return rttMs_; }
  // A quarter of a round trip more than the round trip, at least kMinRetryMs.
  uint64_t retryIntervalMs() const {
    return rttMs_ + rttMs_ / 4 > kMinRetryMs ? rttMs_ + rttMs_ / 4 : kMinRetryMs;
  }
  uint64_t gaveUp() const { return gaveUp_; }
  void reset() { *this = NackGenerator(); }

 private:
  struct Missing {
    int64_t seq = 0;
    uint64_t firstMs = 0;
    uint64_t sentMs = 0;  // when last asked for (retries > 0)
    int retries = 0;
  };
  void erase(size_t i);

  std::array<Missing, kMaxMissing> missing_{};
  size_t count_ = 0;
  bool started_ = false;
  int64_t highest_ = 0;
  uint64_t rttMs_ = kInitialRttMs;
  uint64_t gaveUp_ = 0;
};

}  // namespace medrelay::media
