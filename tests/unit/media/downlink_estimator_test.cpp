// Send-side estimation towards a subscriber with injected time: a simulated path (a bottleneck
// with a queue, random loss) carries video-like bursts stamped by the DownlinkEstimator; the
// receiving end is the relay's own TransportCcFeedback writer, its packets are parsed back with
// the RTCP parser — the same encoding a browser's feedback uses — and fed to the estimator.
#include "media/downlink_estimator.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include "media/rtp/rtcp_packet.h"
#include "media/rtp/transport_cc_feedback.h"

namespace medrelay::media {
namespace {

class PathSim {
 public:
  // rate: bottleneck bit/s; queueUs: the longest a packet may wait before it is dropped.
  PathSim(uint64_t rateBps, int64_t queueUs, double loss = 0)
      : rateBps_(rateBps), queueUs_(queueUs), loss_(loss) {}
  void setRate(uint64_t bps) { rateBps_ = bps; }
  void setLoss(double loss) { loss_ = loss; }
  // The receiver reads nothing for `stallUs` every `everyUs`: what arrives meanwhile is stamped
  // when the stall ends (a busy browser reading its socket late).
  void setStalls(int64_t everyUs, int64_t stallUs) {
    stallEveryUs_ = everyUs;
    stallUs_ = stallUs;
  }

  // The sender (rate-limited to `sendBps`, capped by the estimate when `follow`) sends 30
  // frames a second, each a burst of 1,200-byte packets; feedback every 50 ms. Runs until `end`.
  void run(DownlinkEstimator& est, int64_t endUs, uint64_t sendBps, bool follow) {
    for (; nowUs_ < endUs; nowUs_ += 1'000) {
      if (nowUs_ >= nextFrameUs_) {
        nextFrameUs_ += 33'333;
        uint64_t rate = sendBps;
        if (follow && est.bounded()) rate = std::min(rate, est.estimateBps());
        size_t bytes = rate / 30 / 8;
        while (bytes > 0) {
          const auto size = static_cast<uint32_t>(std::min<size_t>(bytes, 1200));
          bytes -= size;
          const uint16_t seq = est.onPacketSent(nowUs_, size);
          transmit(seq, size);
        }
      }
      while (!inFlight_.empty() && inFlight_.front().second <= nowUs_) {
        receiver_.onPacket(inFlight_.front().first, inFlight_.front().second);
        inFlight_.pop_front();
      }
      if (nowUs_ >= nextFeedbackUs_) {
        nextFeedbackUs_ += 50'000;
        feedback(est);
      }
    }
  }
  int64_t now() const { return nowUs_; }

 private:
  void transmit(uint16_t seq, uint32_t size) {
    if (loss_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_) return;
    const int64_t start = std::max(nowUs_, busyUntilUs_);
    if (start - nowUs_ > queueUs_) return;  // tail drop
    busyUntilUs_ = start + static_cast<int64_t>(uint64_t{size} * 8 * 1'000'000 / rateBps_);
    int64_t arrival = busyUntilUs_ + 20'000;
    if (stallEveryUs_ > 0 && arrival % stallEveryUs_ < stallUs_) {
      arrival += stallUs_ - arrival % stallEveryUs_;
    }
    inFlight_.emplace_back(seq, std::max(arrival, lastArrivalUs_));
    lastArrivalUs_ = inFlight_.back().second;
  }
  void feedback(DownlinkEstimator& est) {
    while (receiver_.pending()) {
      std::vector<uint8_t> buf(1500);
      auto n = receiver_.write(buf, 1, 2);
      ASSERT_TRUE(n);
      buf.resize(*n);
      auto compound = rtcp::Compound::parse(buf);
      ASSERT_TRUE(compound);
      auto fb = rtcp::Feedback::parse(*compound->begin());
      ASSERT_TRUE(fb);
      auto cc = rtcp::TransportCc::parse(*fb);
      ASSERT_TRUE(cc);
      est.onFeedback(*cc, nowUs_);
    }
  }

  uint64_t rateBps_;
  int64_t queueUs_;
  double loss_;
  std::mt19937 rng_{7};
  int64_t nowUs_ = 1'000'000;
  int64_t nextFrameUs_ = 1'000'000;
  int64_t nextFeedbackUs_ = 1'050'000;
  int64_t busyUntilUs_ = 0;
  int64_t lastArrivalUs_ = 0;
  int64_t stallEveryUs_ = 0;
  int64_t stallUs_ = 0;
  std::deque<std::pair<uint16_t, int64_t>> inFlight_;
  rtcp::TransportCcFeedback receiver_;
};

constexpr int64_t kSecond = 1'000'000;

TEST(DownlinkEstimatorTest, APathWithRoomToSpareSetsNoLimit) {
  DownlinkEstimator est;
  PathSim path(10'000'000, 200'000);
  path.run(est, path.now() + 15 * kSecond, 1'500'000, false);
  EXPECT_FALSE(est.bounded());
  EXPECT_EQ(est.overuses(), 0u);
  EXPECT_GT(est.feedbackPackets(), 250u);
  // What the subscriber received, as acknowledged: the sent rate (frames are whole packets).
  EXPECT_NEAR(static_cast<double>(est.ackedBps()), 1'500'000, 150'000);
}

TEST(DownlinkEstimatorTest, AQueueBuildingBehindABottleneckIsOveruseAndTheEstimateConverges) {
  DownlinkEstimator est;
  PathSim path(500'000, 1'000'000);  // a deep buffer: the queue grows, nothing is dropped early
  path.run(est, path.now() + 3 * kSecond, 1'200'000, true);
  ASSERT_TRUE(est.bounded());
  EXPECT_GE(est.overuses(), 1u);
  EXPECT_LT(est.estimateBps(), 600'000u);
  // A sender that follows the estimate settles around what the bottleneck carries.
  path.run(est, path.now() + 30 * kSecond, 1'200'000, true);
  EXPECT_GT(est.estimateBps(), 250'000u);
  EXPECT_LT(est.estimateBps(), 650'000u);
}

TEST(DownlinkEstimatorTest, AReceiverThatStallsNowAndThenIsNoBottleneck) {
  DownlinkEstimator est;
  PathSim path(10'000'000, 200'000);
  path.setStalls(1'300'000, 120'000);  // 120 ms without reading, every 1.3 s
  path.run(est, path.now() + 20 * kSecond, 1'000'000, false);
  EXPECT_FALSE(est.bounded());
  EXPECT_EQ(est.overuses(), 0u);
}

TEST(DownlinkEstimatorTest, OneCongestedMomentIsNoBottleneck) {
  DownlinkEstimator est;
  PathSim path(10'000'000, 1'000'000);
  path.run(est, path.now() + 5 * kSecond, 1'000'000, true);
  path.setRate(400'000);  // 500 ms of a thinner path: a queue builds, then drains
  path.run(est, path.now() + 500'000, 1'000'000, true);
  path.setRate(10'000'000);
  path.run(est, path.now() + 1 * kSecond, 1'000'000, true);
  ASSERT_TRUE(est.bounded());
  const uint64_t decreases = est.overuses();
  path.run(est, path.now() + 5 * kSecond, 1'000'000, true);
  EXPECT_FALSE(est.bounded());
  EXPECT_EQ(est.overuses(), decreases);
}

TEST(DownlinkEstimatorTest, HeavyRandomLossBoundsTheEstimateBelowTheAcknowledgedRate) {
  DownlinkEstimator est;
  PathSim path(10'000'000, 200'000, 0.2);
  path.run(est, path.now() + 3 * kSecond, 1'000'000, false);
  ASSERT_TRUE(est.bounded());
  EXPECT_NEAR(est.lossFraction(), 0.2, 0.06);
  EXPECT_LT(est.estimateBps(), 800'000u);
}

TEST(DownlinkEstimatorTest, LightLossAloneSetsNoLimit) {
  DownlinkEstimator est;
  PathSim path(10'000'000, 200'000, 0.03);
  path.run(est, path.now() + 10 * kSecond, 1'000'000, false);
  EXPECT_FALSE(est.bounded());
}

TEST(DownlinkEstimatorTest, TheEstimateGrowsBackWhenTheBottleneckIsLifted) {
  DownlinkEstimator est;
  PathSim path(400'000, 1'000'000);
  path.run(est, path.now() + 15 * kSecond, 2'000'000, true);
  ASSERT_TRUE(est.bounded());
  const uint64_t constrained = est.estimateBps();
  EXPECT_LT(constrained, 550'000u);
  path.setRate(5'000'000);
  path.run(est, path.now() + 15 * kSecond, 2'000'000, true);
  // Multiplicative increase, never more than 1.5 × what was carried: about 8 % a second.
  EXPECT_GT(est.estimateBps(), constrained * 2);
}

TEST(DownlinkEstimatorTest, ALimitIsReleasedOnceTheSenderNoLongerFillsIt) {
  DownlinkEstimator est;
  // Ten seconds of a 300 kbit/s bottleneck under a sender that follows the estimate, then a
  // wide path: the sender keeps its 600 kbit/s (it needs no more), which never fills the grown
  // limit.
  PathSim path(300'000, 1'000'000);
  path.run(est, path.now() + 10 * kSecond, 600'000, true);
  ASSERT_TRUE(est.bounded());
  path.setRate(10'000'000);
  path.run(est, path.now() + 8 * kSecond, 600'000, false);
  EXPECT_TRUE(est.bounded());  // too soon
  // Growing 8 % a second from about 300 kbit/s, the limit passes 1.4 × 600 kbit/s after about
  // 14 s.
  path.run(est, path.now() + 12 * kSecond, 600'000, false);
  EXPECT_FALSE(est.bounded());
}

// Receive side (a publisher without transport-wide feedback): send times from abs-send-time,
// across its 64 s wrap.
TEST(DownlinkEstimatorTest, AbsSendTimeDrivesTheSameDetectorOnTheReceiveSide) {
  auto feed = [](DownlinkEstimator& est, uint64_t linkBps, int seconds) {
    // 1 Mbit/s of 1,000-byte packets sent every 8 ms, starting 2 s before the 24-bit wrap;
    // the path carries linkBps with a deep queue.
    int64_t busyUntil = 0;
    for (int i = 0; i < seconds * 125; ++i) {
      const int64_t sendUs = 62'000'000 + int64_t{i} * 8'000;
      const auto abs = static_cast<uint32_t>((sendUs << 18) / 1'000'000) & 0xFFFFFF;
      busyUntil = std::max(busyUntil, sendUs) + static_cast<int64_t>(8'000'000'000 / linkBps);
      est.onAbsSendTime(abs, busyUntil + 30'000, 1000);
    }
  };
  DownlinkEstimator wide;
  feed(wide, 5'000'000, 10);
  EXPECT_FALSE(wide.bounded());
  EXPECT_NEAR(static_cast<double>(wide.ackedBps()), 1'000'000, 100'000);
  DownlinkEstimator thin;
  feed(thin, 600'000, 4);
  ASSERT_TRUE(thin.bounded());
  EXPECT_LT(thin.estimateBps(), 600'000u);
  // Heavy loss in a receiver report lowers it further.
  const uint64_t before = thin.estimateBps();
  thin.onLossFraction(0.3, 70'000'000);
  EXPECT_LT(thin.estimateBps(), before);
}

TEST(DownlinkEstimatorTest, FeedbackForPacketsNeverSentIsIgnored) {
  DownlinkEstimator est;
  rtcp::TransportCcFeedback receiver;
  for (uint16_t s = 40'000; s < 40'100; ++s) receiver.onPacket(s, int64_t{s} * 1000);
  std::vector<uint8_t> buf(1500);
  auto n = receiver.write(buf, 1, 2);
  ASSERT_TRUE(n);
  buf.resize(*n);
  auto compound = rtcp::Compound::parse(buf);
  auto fb = rtcp::Feedback::parse(*compound->begin());
  auto cc = rtcp::TransportCc::parse(*fb);
  ASSERT_TRUE(cc);
  est.onFeedback(*cc, 0);  // nothing sent yet
  for (int i = 0; i < 10; ++i) est.onPacketSent(i * 1000, 1000);
  est.onFeedback(*cc, 20'000);  // numbers far from anything sent
  EXPECT_FALSE(est.bounded());
  EXPECT_EQ(est.ackedBps(), 0u);
}

}  // namespace
}  // namespace medrelay::media
