#pragma once

// Sequence number / timestamp unwrapping (RFC 3550 Appendix A.1 style) and the per-consumer
// seq/ts rewriter that keeps a forwarded stream continuous across source switches.

#include <cstdint>
#include <optional>

namespace medrelay::media {

// Unwraps a wrapping counter (uint16_t RTP sequence, uint32_t RTP timestamp) into a monotonic
// 64-bit space: each value is placed nearest to the previous one (forward if exactly half away).
template <typename T>
class Unwrapper {
 public:
  int64_t unwrap(T value) {
    if (!started_) {
      started_ = true;
      last_ = static_cast<int64_t>(value);
      return last_;
    }
    constexpr int64_t kRange = int64_t{1} << (8 * sizeof(T));
    const T prev = static_cast<T>(last_);
    const T forward = static_cast<T>(value - prev);
    int64_t delta = forward;
    if (static_cast<uint64_t>(forward) > static_cast<uint64_t>(kRange / 2)) delta -= kRange;
    last_ += delta;
    return last_;
  }
  // Like unwrap() but does not move the reference point (for reordered/late packets).
  int64_t peek(T value) const {
    Unwrapper copy = *this;
    return copy.unwrap(value);
  }
  void reset() {
    started_ = false;
    last_ = 0;
  }

 private:
  // A plain flag rather than std::optional: GCC 12 at -O3 misreads the optional's engaged state
  // (-Wmaybe-uninitialized) once peek() copies the object.
  bool started_ = false;
  int64_t last_ = 0;
};

using SeqNumUnwrapper = Unwrapper<uint16_t>;
using TimestampUnwrapper = Unwrapper<uint32_t>;

// Maps one consumer's view of a forwarded stream: out = in + offset (mod 2^16 / 2^32). After
// switchSource() the next packet continues at lastSeq + 1 and lastTs + tsAdvance, so the
// consumer's decoder sees one continuous stream across simulcast switches and producer restarts.
class RtpSeqTsRewriter {
 public:
  struct Output {
    uint16_t sequence;
    uint32_t timestamp;
  };

  RtpSeqTsRewriter(uint16_t firstSequence, uint32_t firstTimestamp)
      : nextSeq_(firstSequence), nextTs_(firstTimestamp) {}

  // The next packet starts a new source; tsAdvance is the RTP-clock gap to put after the last
  // forwarded timestamp (e.g. elapsed wall time * clock rate, at least 1).
  void switchSource(uint32_t tsAdvance) {
    pending_ = true;
    tsAdvance_ = tsAdvance;
  }

  // nullopt for packets of the current source that are older than its first forwarded packet
  // (they would collide with sequence numbers already sent for the previous source).
  std::optional<Output> rewrite(uint16_t seq, uint32_t ts) {
    if (pending_ || !started_) {
      seqOffset_ = static_cast<uint16_t>(nextSeq_ - seq);
      tsOffset_ = started_ ? static_cast<uint32_t>(lastTs_ + tsAdvance_ - ts)
                           : static_cast<uint32_t>(nextTs_ - ts);
      inUnwrapper_.reset();
      firstIn_ = inUnwrapper_.unwrap(seq);
      highestIn_ = firstIn_;
      pending_ = false;
      started_ = true;
    } else {
      const int64_t u = inUnwrapper_.peek(seq);
      if (u < firstIn_) return std::nullopt;
      if (u > highestIn_) {
        inUnwrapper_.unwrap(seq);
        highestIn_ = u;
      }
    }
    const Output out{static_cast<uint16_t>(seq + seqOffset_),
                     static_cast<uint32_t>(ts + tsOffset_)};
    // Track the newest output for continuity at the next switch.
    if (static_cast<int16_t>(static_cast<uint16_t>(out.sequence - nextSeq_)) >= 0) {
      nextSeq_ = static_cast<uint16_t>(out.sequence + 1);
      lastTs_ = out.timestamp;
    }
    return out;
  }

  uint16_t nextSequence() const { return nextSeq_; }
  uint32_t lastTimestamp() const { return lastTs_; }

 private:
  uint16_t nextSeq_;
  uint32_t nextTs_;
  uint32_t lastTs_ = 0;
  uint16_t seqOffset_ = 0;
  uint32_t tsOffset_ = 0;
  uint32_t tsAdvance_ = 0;
  bool pending_ = false;
  bool started_ = false;
  SeqNumUnwrapper inUnwrapper_;
  int64_t firstIn_ = 0;
  int64_t highestIn_ = 0;
};

}  // namespace medrelay::media
