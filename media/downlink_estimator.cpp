#include "media/downlink_estimator.h"

#include <algorithm>
#include <cmath>

namespace medrelay::media {
namespace {

constexpr int64_t kLossWindowUs = 1'000'000;
constexpr uint32_t kLossMinPackets = 20;
constexpr int64_t kMinDecreaseIntervalUs = 300'000;
constexpr double kTrendGain = 4.0;
constexpr uint32_t kTrendMaxDeltas = 60;
constexpr double kSmoothing = 0.9;
constexpr double kOveruseTimeMs = 10.0;
constexpr double kThresholdUp = 0.0087;   // the threshold follows a rising trend slowly …
constexpr double kThresholdDown = 0.039;  // … and a falling one faster
constexpr double kThresholdMinMs = 6.0;
constexpr double kThresholdMaxMs = 600.0;
constexpr double kThresholdIgnoreMs = 15.0;  // spikes this far above are not learnt from
constexpr uint64_t kAckedHeadroomBps = 10'000;
constexpr double kMinQueueMs = 15.0;
constexpr int64_t kStandingQueueUs = 200'000;
constexpr int64_t kFirstStandingQueueUs = 500'000;
// A first limit that nothing confirms (another decrease) within this is released: one
// congested moment is not a bottleneck.
constexpr int64_t kConfirmWithinUs = 5'000'000;
constexpr double kBaselineCreepMs = 0.002;  // per group: about 0.1 ms a second
// A limit no overuse or loss has confirmed for this long while the sender used less than
// 1 / kReleaseRatio of it is released.
constexpr int64_t kReleaseAfterUs = 10'000'000;
constexpr double kReleaseRatio = 1.4;

}  // namespace

uint16_t DownlinkEstimator::onPacketSent(int64_t nowUs, uint32_t bytes) {
  Sent& s = sent_[static_cast<size_t>(nextSeq_) & (kHistory - 1)];
  s = Sent{nextSeq_, nowUs, bytes, false};
  return static_cast<uint16_t>(nextSeq_++);
}

void DownlinkEstimator::onFeedback(const rtcp::TransportCc& feedback, int64_t nowUs) {
  ++feedbacks_;
  if (nextSeq_ == 0) return;
  // The base sequence number in our unwrapped space: the newest number sent with those 16 bits.
  const int64_t last = nextSeq_ - 1;
  const int64_t back = static_cast<uint16_t>(static_cast<uint16_t>(last) - feedback.baseSequence());
  int64_t seq = last - back;
  // §3.1: the reference time counts 64 ms; every receive delta is relative to the previous
  // received packet's arrival (the first to the reference time).
  int64_t arrivalUs = int64_t{feedback.referenceTime()} * 64'000;
  feedback.forEachStatus([&](const rtcp::TransportCc::Status& status) {
    const int64_t s = seq++;
    if (status.received) arrivalUs += status.deltaMicros;
    if (s < 0 || s > last) return;
    Sent& sent = sent_[static_cast<size_t>(s) & (kHistory - 1)];
    if (sent.seq != s || sent.reported) return;
    if (!status.received) {
      ++lossLost_;  // may still be reported received by a later feedback: then counted twice
      return;
    }
    sent.reported = true;
    ++lossReceived_;
    onReceived(sent, arrivalUs, nowUs);
  });
  applyLoss(nowUs);
  updateRate(nowUs);
}

void DownlinkEstimator::onAbsSendTime(uint32_t absSendTime24, int64_t arrivalUs, uint32_t bytes) {
  absSendTime24 &= 0xFFFFFF;
  if (!absStarted_) {
    absStarted_ = true;
    absUs_ = 0;
  } else {
    // Signed difference modulo 2^24 (64 s): a reordered packet goes back a little.
    int32_t diff = static_cast<int32_t>((absSendTime24 - lastAbs_) & 0xFFFFFF);
    if (diff >= 0x800000) diff -= 0x1000000;
    absUs_ += static_cast<int64_t>(diff) * 1'000'000 / (1 << 18);
  }
  lastAbs_ = absSendTime24;
  const Sent packet{0, absUs_, bytes, true};
  const bool wasValid = previous_.valid;
  const int64_t group = current_.firstSendUs;
  onReceived(packet, arrivalUs, arrivalUs);
  // A group closed: the detector ran; let the rate follow its verdict.
  if (wasValid && current_.firstSendUs != group) updateRate(arrivalUs);
}

void DownlinkEstimator::onLossFraction(double fraction, int64_t nowUs) {
  lastLoss_ = fraction;
  if (fraction <= kHeavyLoss) return;
  // Heavy loss: the link carries less than is sent, whatever the delay says (a shallow queue,
  // or a policer, drops before it delays).
  const uint64_t base = bounded_ ? estimateBps_ : ackedBps_;
  if (base == 0) return;
  estimateBps_ =
      std::max(kMinBps, static_cast<uint64_t>(static_cast<double>(base) * (1 - 0.5 * fraction)));
  confirmed_ = true;  // loss is evidence enough
  bounded_ = true;
  lastDecreaseUs_ = nowUs;
  ++overuses_;
}

void DownlinkEstimator::onReceived(const Sent& sent, int64_t arrivalUs, int64_t nowUs) {
  updateAcked(arrivalUs, sent.bytes);
  if (!current_.valid) {
    current_ = Group{sent.sendUs, sent.sendUs, arrivalUs, true};
    return;
  }
  if (sent.sendUs < current_.firstSendUs) return;  // reordered into an older group
  if (sent.sendUs - current_.firstSendUs <= kGroupSpanUs) {
    current_.lastSendUs = std::max(current_.lastSendUs, sent.sendUs);
    current_.lastArrivalUs = std::max(current_.lastArrivalUs, arrivalUs);
    return;
  }
  if (previous_.valid) onGroup(previous_, current_, nowUs);
  previous_ = current_;
  current_ = Group{sent.sendUs, sent.sendUs, arrivalUs, true};
}

// One delay-variation sample between consecutive groups, the trendline over the last
// kTrendWindow of them, then the overuse detector.
void DownlinkEstimator::onGroup(const Group& previous, const Group& current, int64_t nowUs) {
  const double sendDeltaMs = static_cast<double>(current.lastSendUs - previous.lastSendUs) / 1000;
  const double arrivalDeltaMs =
      static_cast<double>(current.lastArrivalUs - previous.lastArrivalUs) / 1000;
  if (arrivalDeltaMs < 0) return;  // reordered on the path
  if (firstArrivalUs_ < 0) firstArrivalUs_ = current.lastArrivalUs;
  deltas_ = std::min<uint32_t>(deltas_ + 1, 1000);
  accumulatedMs_ += arrivalDeltaMs - sendDeltaMs;
  smoothedMs_ = kSmoothing * smoothedMs_ + (1 - kSmoothing) * accumulatedMs_;
  // The delay with an empty queue: the lowest smoothed delay, creeping up slowly so that the
  // drift between the two clocks is not taken for a queue.
  baselineMs_ = std::min(baselineMs_ + kBaselineCreepMs, smoothedMs_);
  trendX_[trendHead_] = static_cast<double>(current.lastArrivalUs - firstArrivalUs_) / 1000;
  trendY_[trendHead_] = smoothedMs_;
  trendHead_ = (trendHead_ + 1) % kTrendWindow;
  trendCount_ = std::min(trendCount_ + 1, kTrendWindow);
  double trend = previousTrend_;
  if (trendCount_ == kTrendWindow) {
    // Least squares slope of delay over arrival time (ms per ms).
    double meanX = 0;
    double meanY = 0;
    for (size_t i = 0; i < kTrendWindow; ++i) {
      meanX += trendX_[i];
      meanY += trendY_[i];
    }
    meanX /= kTrendWindow;
    meanY /= kTrendWindow;
    double num = 0;
    double den = 0;
    for (size_t i = 0; i < kTrendWindow; ++i) {
      num += (trendX_[i] - meanX) * (trendY_[i] - meanY);
      den += (trendX_[i] - meanX) * (trendX_[i] - meanX);
    }
    if (den > 0) trend = num / den;
  }
  detect(trend, sendDeltaMs, nowUs);
}

void DownlinkEstimator::detect(double trend, double sendDeltaMs, int64_t nowUs) {
  if (trendCount_ < kTrendWindow) {
    previousTrend_ = trend;
    return;
  }
  const double modified = std::min<uint32_t>(deltas_, kTrendMaxDeltas) * trend * kTrendGain;
  if (modified > thresholdMs_) {
    overusingMs_ = overusingMs_ < 0 ? sendDeltaMs / 2 : overusingMs_ + sendDeltaMs;
    ++overuseCount_;
    // Overuse needs a standing queue too: a receiver that stalled for a moment (a busy
    // browser reading its socket late) bends the trend but leaves no lasting delay.
    if (overusingMs_ > kOveruseTimeMs && overuseCount_ > 1 && trend >= previousTrend_ &&
        standingQueue(nowUs)) {
      if (signal_ != Signal::kOveruse) ++overuseEpisodes_;
      signal_ = Signal::kOveruse;
      overusingMs_ = 0;
      overuseCount_ = 0;
    }
  } else if (modified < -thresholdMs_) {
    signal_ = Signal::kUnderuse;
    overusingMs_ = -1;
    overuseCount_ = 0;
  } else {
    signal_ = Signal::kNormal;
    overusingMs_ = -1;
    overuseCount_ = 0;
  }
  previousTrend_ = trend;
  // The threshold adapts so that a path's normal jitter does not read as overuse, while a queue
  // that keeps growing does.
  const double magnitude = std::fabs(modified);
  if (lastThresholdUpdateUs_ < 0) lastThresholdUpdateUs_ = nowUs;
  if (magnitude <= thresholdMs_ + kThresholdIgnoreMs) {
    const double k = magnitude < thresholdMs_ ? kThresholdDown : kThresholdUp;
    const double dtMs =
        std::min<double>(static_cast<double>(nowUs - lastThresholdUpdateUs_) / 1000, 100.0);
    thresholdMs_ += k * (magnitude - thresholdMs_) * dtMs;
    thresholdMs_ = std::clamp(thresholdMs_, kThresholdMinMs, kThresholdMaxMs);
  }
  lastThresholdUpdateUs_ = nowUs;
}

// A queue that stays: the smoothed delay at least kMinQueueMs above its lowest for
// kStandingQueueUs (kFirstStandingQueueUs before the first limit on a path). A busy receiver
// reading its socket late makes short bumps of delay; a sender above the path's rate makes a
// queue that stays until the sender slows down.
bool DownlinkEstimator::standingQueue(int64_t nowUs) {
  if (smoothedMs_ - baselineMs_ < kMinQueueMs) {
    queueSinceUs_ = -1;
    return false;
  }
  if (queueSinceUs_ < 0) queueSinceUs_ = nowUs;
  return nowUs - queueSinceUs_ >= (bounded_ ? kStandingQueueUs : kFirstStandingQueueUs);
}

void DownlinkEstimator::updateAcked(int64_t arrivalUs, uint32_t bytes) {
  const int64_t bucket = arrivalUs / kAckedBucketUs;
  if (ackedBucket_ < 0) {
    ackedBucket_ = bucket;
    ackedSinceUs_ = arrivalUs;
  }
  if (bucket > ackedBucket_) {
    const int64_t clear = std::min<int64_t>(bucket - ackedBucket_, kAckedBuckets);
    for (int64_t i = 1; i <= clear; ++i) {
      ackedBytes_[static_cast<size_t>(ackedBucket_ + i) % kAckedBuckets] = 0;
    }
    ackedBucket_ = bucket;
  }
  if (bucket <= ackedBucket_ - static_cast<int64_t>(kAckedBuckets)) return;  // too old
  ackedBytes_[static_cast<size_t>(bucket) % kAckedBuckets] += bytes;
  const int64_t windowStart = std::max(
      ackedSinceUs_, (ackedBucket_ - static_cast<int64_t>(kAckedBuckets) + 1) * kAckedBucketUs);
  const int64_t covered = arrivalUs - windowStart;
  if (covered < 200'000) return;
  uint64_t sum = 0;
  for (uint64_t b : ackedBytes_) sum += b;
  ackedBps_ = sum * 8 * 1'000'000 / static_cast<uint64_t>(covered);
}

void DownlinkEstimator::applyLoss(int64_t nowUs) {
  if (lossSinceUs_ < 0) lossSinceUs_ = nowUs;
  const uint32_t total = lossReceived_ + lossLost_;
  if (nowUs - lossSinceUs_ < kLossWindowUs || total < kLossMinPackets) return;
  const double loss = static_cast<double>(lossLost_) / total;
  lossReceived_ = 0;
  lossLost_ = 0;
  lossSinceUs_ = nowUs;
  onLossFraction(loss, nowUs);
}

void DownlinkEstimator::updateRate(int64_t nowUs) {
  const double dtSeconds =
      lastRateUpdateUs_ < 0
          ? 0
          : std::min(1.0, static_cast<double>(nowUs - lastRateUpdateUs_) / 1'000'000);
  lastRateUpdateUs_ = nowUs;
  switch (signal_) {
    case Signal::kOveruse: {
      if (ackedBps_ == 0) break;
      if (lastDecreaseUs_ >= 0 && nowUs - lastDecreaseUs_ < kMinDecreaseIntervalUs) break;
      const auto target = static_cast<uint64_t>(static_cast<double>(ackedBps_) * kOveruseDecrease);
      // Confirmed by a later episode of overuse, not by the same one lasting past 300 ms.
      if (!bounded_) {
        firstEpisode_ = overuseEpisodes_;
        confirmed_ = false;
      } else if (overuseEpisodes_ != firstEpisode_) {
        confirmed_ = true;
      }
      estimateBps_ = bounded_ ? std::min(estimateBps_, target) : target;
      estimateBps_ = std::max(estimateBps_, kMinBps);
      bounded_ = true;
      lastDecreaseUs_ = nowUs;
      ++overuses_;
      break;
    }
    case Signal::kUnderuse:
      break;  // the queue drains: hold until it has
    case Signal::kNormal: {
      if (!bounded_ || lastLoss_ > kLightLoss) break;
      if (!confirmed_ && nowUs - lastDecreaseUs_ >= kConfirmWithinUs) {
        bounded_ = false;
        estimateBps_ = kMaxBps;
        break;
      }
      if (nowUs - lastDecreaseUs_ >= kReleaseAfterUs &&
          static_cast<double>(estimateBps_) >= kReleaseRatio * static_cast<double>(ackedBps_)) {
        // Quiet for a while and the sender does not even fill the limit: nothing binds it, and
        // a limit left from one congested moment would only keep the sender from growing.
        bounded_ = false;
        estimateBps_ = kMaxBps;
        break;
      }
      const uint64_t limit = ackedBps_ + ackedBps_ / 2 + kAckedHeadroomBps;
      if (estimateBps_ >= limit) break;
      const auto grown = static_cast<uint64_t>(static_cast<double>(estimateBps_) *
                                               (1 + kIncreasePerSecond * dtSeconds));
      estimateBps_ = std::min(limit, std::max(grown, estimateBps_ + 1'000));
      break;
    }
  }
  estimateBps_ = std::clamp(estimateBps_, kMinBps, kMaxBps);
}

}  // namespace medrelay::media
