#pragma once

// Send-side bandwidth estimation towards one subscriber (docs/media.md "Congestion control",
// "Subscriber downlink"): the relay stamps a transport-wide sequence number on every RTP packet
// it sends on the subscriber's transport (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2),
// remembers when and how much it sent, and reads the subscriber's transport-wide feedback (§3.1)
// to learn the arrival times. From them:
//  - delay-based: packets sent within 5 ms form a group; the change of one-way delay between
//    groups is accumulated, smoothed and fitted with a line over the last 20 groups; a rising
//    slope above an adaptive threshold, with the smoothed delay at least 15 ms above its lowest
//    for 200 ms (500 ms before the first limit), is overuse (a queue is building on the path),
//    a falling one underuse (the queue drains);
//  - loss-based: the share of packets reported lost over about a second;
//  - rate control (AIMD): on overuse the estimate drops to 0.85 × the rate the subscriber
//    acknowledged receiving, on loss above 10 % it drops by half the loss, otherwise it grows
//    8 % a second but never above 1.5 × the acknowledged rate (plus 10 kbit/s): a link is only
//    trusted for a little more than it has carried.
// Until the first overuse or heavy loss the estimate is unbounded (`bounded()` false): nothing
// has shown a limit, and capping a sender on a guess would slow every healthy call's ramp-up.
// The first limit needs a queue standing for 500 ms (later ones 200 ms) and is released unless
// another episode of overuse or heavy loss confirms it within 5 s; any limit is released after 10 s
// without overuse or heavy loss in which the sender used less than 1/1.4 of it. A limit from
// one congested moment — or a busy receiver's hiccup — must not hold a sender down.
//
// Packet path: fixed-size rings, no allocation, time injected (microseconds, any monotonic
// clock).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "media/rtp/rtcp_packet.h"

namespace medrelay::media {

class DownlinkEstimator {
 public:
  // Sent packets remembered for feedback matching (a power of two).
  static constexpr size_t kHistory = 4096;
  static constexpr uint64_t kMinBps = 50'000;
  static constexpr uint64_t kMaxBps = 10'000'000;
  static constexpr int64_t kGroupSpanUs = 5'000;  // packets sent within this form one group
  static constexpr size_t kTrendWindow = 20;      // groups in the slope fit
  static constexpr double kOveruseDecrease = 0.85;
  static constexpr double kIncreasePerSecond = 0.08;
  static constexpr double kHeavyLoss = 0.10;
  static constexpr double kLightLoss = 0.02;

  enum class Signal : uint8_t { kNormal, kOveruse, kUnderuse };

  // A packet of `bytes` (the whole RTP packet) goes out now: returns the transport-wide
  // sequence number to stamp on it.
  uint16_t onPacketSent(int64_t nowUs, uint32_t bytes);

  // The subscriber's transport-wide feedback. Statuses for sequence numbers never sent, too old
  // for the history or already reported are ignored.
  void onFeedback(const rtcp::TransportCc& feedback, int64_t nowUs);

  // Receive side, for a publisher without transport-wide feedback (docs/media.md "Congestion
  // control"): the same delay-based detection and rate control from each packet's send time as
  // its abs-send-time header extension gives it (24-bit 6.18 fixed-point seconds, wrapping every
  // 64 s; unwrapped here) and its arrival here.
  void onAbsSendTime(uint32_t absSendTime24, int64_t arrivalUs, uint32_t bytes);
  // Receive side: the loss of the last receiver report interval (RFC 3550 §6.4.1 fraction).
  void onLossFraction(double fraction, int64_t nowUs);

  // A probe showed the path carrying `bps` without overuse: the estimate is at least that.
  void onProbe(uint64_t bps) {
    if (bounded_) estimateBps_ = std::max(estimateBps_, std::min(bps, kMaxBps));
  }

  bool bounded() const { return bounded_; }
  // The estimate in bit/s: kMaxBps while unbounded.
  uint64_t estimateBps() const { return bounded_ ? estimateBps_ : kMaxBps; }
  // What the subscriber acknowledged receiving over the last second (0 until measured).
  uint64_t ackedBps() const { return ackedBps_; }
  double lossFraction() const { return lastLoss_; }
  Signal signal() const { return signal_; }
  // Decreases so far: overuse, or heavy loss.
  uint64_t overuses() const { return overuses_; }
  uint64_t feedbackPackets() const { return feedbacks_; }

 private:
  struct Sent {
    int64_t seq = -1;  // unwrapped; -1 = empty slot
    int64_t sendUs = 0;
    uint32_t bytes = 0;
    bool reported = false;
  };
  struct Group {
    int64_t firstSendUs = 0;
    int64_t lastSendUs = 0;
    int64_t lastArrivalUs = 0;
    bool valid = false;
  };

  void onReceived(const Sent& sent, int64_t arrivalUs, int64_t nowUs);
  void onGroup(const Group& previous, const Group& current, int64_t nowUs);
  void detect(double trend, double sendDeltaMs, int64_t nowUs);
  bool standingQueue(int64_t nowUs);
  void updateRate(int64_t nowUs);
  void updateAcked(int64_t nowUs, uint32_t bytes);
  void applyLoss(int64_t nowUs);

  std::array<Sent, kHistory> sent_{};
  // Receive side: the last abs-send-time and its unwrapped value in microseconds.
  bool absStarted_ = false;
  uint32_t lastAbs_ = 0;
  int64_t absUs_ = 0;
  int64_t nextSeq_ = 0;  // unwrapped sequence number of the next packet sent

  // Delay gradient and trendline.
  Group current_;
  Group previous_;
  double accumulatedMs_ = 0;
  double smoothedMs_ = 0;
  double baselineMs_ = 0;
  int64_t queueSinceUs_ = -1;
  std::array<double, kTrendWindow> trendX_{};
  std::array<double, kTrendWindow> trendY_{};
  size_t trendCount_ = 0;
  size_t trendHead_ = 0;
  int64_t firstArrivalUs_ = -1;
  uint32_t deltas_ = 0;
  double previousTrend_ = 0;
  double thresholdMs_ = 12.5;
  int64_t lastThresholdUpdateUs_ = -1;
  double overusingMs_ = -1;
  int overuseCount_ = 0;
  Signal signal_ = Signal::kNormal;

  // Acknowledged rate: bytes received per arrival-time bucket of 100 ms over the last second.
  static constexpr size_t kAckedBuckets = 10;
  static constexpr int64_t kAckedBucketUs = 100'000;
  std::array<uint64_t, kAckedBuckets> ackedBytes_{};
  int64_t ackedBucket_ = -1;  // index (arrival time / bucket) of the newest bucket
  int64_t ackedSinceUs_ = -1;
  uint64_t ackedBps_ = 0;

  // Loss over about a second of feedback.
  uint32_t lossReceived_ = 0;
  uint32_t lossLost_ = 0;
  int64_t lossSinceUs_ = -1;
  double lastLoss_ = 0;

  bool bounded_ = false;
  bool confirmed_ = false;  // a later overuse episode (or heavy loss) followed the first limit
  uint64_t overuseEpisodes_ = 0;
  uint64_t firstEpisode_ = 0;
  uint64_t estimateBps_ = kMaxBps;
  int64_t lastRateUpdateUs_ = -1;
  int64_t lastDecreaseUs_ = -1;
  uint64_t overuses_ = 0;
  uint64_t feedbacks_ = 0;
};

}  // namespace medrelay::media
