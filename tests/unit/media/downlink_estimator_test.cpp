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
    inFlight_.emplace_back(seq, busyUntilUs_ + 20'000);
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

TEST(DownlinkEstimatorTest, ALimitFromOneCongestedMomentIsReleasedOnceTheSenderDoesNotFillIt) {
  DownlinkEstimator est;
  // Two seconds of a 300 kbit/s bottleneck under a 600 kbit/s sender, then a wide path: the
  // sender keeps its 600 kbit/s (it needs no more), which never fills the grown limit.
  PathSim path(300'000, 1'000'000);
  path.run(est, path.now() + 2 * kSecond, 600'000, false);
  ASSERT_TRUE(est.bounded());
  path.setRate(10'000'000);
  path.run(est, path.now() + 8 * kSecond, 600'000, false);
  EXPECT_TRUE(est.bounded());  // too soon
  // Growing 8 % a second from 0.85 × 300 kbit/s, the limit passes 1.4 × 600 kbit/s after about
  // 16 s.
  path.run(est, path.now() + 12 * kSecond, 600'000, false);
  EXPECT_FALSE(est.bounded());
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
