#include "media/rtp/receive_statistics.h"

#include <algorithm>
#include <cstdlib>

namespace medrelay::media {

void ReceiveStatistics::onPacket(uint16_t seq, uint32_t rtpTimestamp, int64_t arrivalUs,
                                 uint32_t clockRate) {
  const int64_t u = unwrapper_.unwrap(seq);
  ++received_;
  if (!started_) {
    started_ = true;
    base_ = u;
    highest_ = u;
    expectedPrior_ = 0;
    firstArrivalUs_ = arrivalUs;
  } else if (u > highest_) {
    highest_ = u;
  } else {
    return;  // reordered or duplicate: counted as received (A.3), no jitter sample
  }
  // Interarrival jitter (A.8) on the RTP clock, from packets in order with a new timestamp (the
  // packets of one video frame share it and would measure the sender's pacing instead).
  const auto arrival = static_cast<uint32_t>((arrivalUs - firstArrivalUs_) *
                                             static_cast<int64_t>(clockRate) / 1'000'000);
  const uint32_t transit = arrival - rtpTimestamp;
  if (haveTransit_ && rtpTimestamp != lastTimestamp_) {
    const auto d = static_cast<uint32_t>(std::abs(static_cast<int32_t>(transit - lastTransit_)));
    jitterQ4_ += d - ((jitterQ4_ + 8) >> 4);
  }
  if (!haveTransit_ || rtpTimestamp != lastTimestamp_) {
    lastTransit_ = transit;
    lastTimestamp_ = rtpTimestamp;
    haveTransit_ = true;
  }
}

rtcp::ReportBlock ReceiveStatistics::report(uint32_t ssrc) {
  rtcp::ReportBlock b;
  b.ssrc = ssrc;
  if (!started_) return b;
  const int64_t expectedNow = expected();
  const int64_t expectedInterval = expectedNow - expectedPrior_;
  const auto receivedInterval = static_cast<int64_t>(received_ - receivedPrior_);
  const int64_t lostInterval = expectedInterval - receivedInterval;
  expectedPrior_ = expectedNow;
  receivedPrior_ = received_;
  // A.3: fraction lost is an 8-bit fixed-point fraction, 0 when duplicates outnumber losses.
  b.fractionLost =
      expectedInterval == 0 || lostInterval <= 0
          ? 0
          : static_cast<uint8_t>(std::min<int64_t>(255, (lostInterval << 8) / expectedInterval));
  b.cumulativeLost =
      static_cast<int32_t>(std::clamp<int64_t>(cumulativeLost(), -0x800000, 0x7FFFFF));
  b.highestSequence = static_cast<uint32_t>(highest_);
  b.jitter = jitter();
  return b;
}

}  // namespace medrelay::media
