// Receiver-report statistics (RFC 3550 §6.4.1, Appendix A.3 and A.8).
#include "media/rtp/receive_statistics.h"

#include <gtest/gtest.h>

namespace medrelay::media {
namespace {

constexpr uint32_t kVideoClock = 90000;

TEST(ReceiveStatisticsTest, NoPacketsReportsNothingLost) {
  ReceiveStatistics st;
  const auto b = st.report(42);
  EXPECT_EQ(b.ssrc, 42u);
  EXPECT_EQ(b.fractionLost, 0);
  EXPECT_EQ(b.cumulativeLost, 0);
  EXPECT_EQ(st.highest(), -1);
}

TEST(ReceiveStatisticsTest, LossFractionPerIntervalAndCumulative) {
  ReceiveStatistics st;
  // Interval 1: 100 expected, 75 received (every 4th lost).
  for (uint16_t i = 0; i < 100; ++i) {
    if (i % 4 != 3) st.onPacket(static_cast<uint16_t>(1000 + i), i * 3000, i * 33'000, kVideoClock);
  }
  st.onPacket(1100, 100 * 3000, 100 * 33'000, kVideoClock);  // ends the interval at 1100
  auto b = st.report(1);
  // Expected 101 (1000..1100), received 76: 25 lost -> 25 * 256 / 101 = 63.
  EXPECT_EQ(b.fractionLost, 25 * 256 / 101);
  EXPECT_EQ(b.cumulativeLost, 25);
  EXPECT_EQ(b.highestSequence, 1100u);
  // Interval 2: nothing lost.
  for (uint16_t i = 101; i < 201; ++i)
    st.onPacket(static_cast<uint16_t>(1000 + i), i * 3000, i * 33'000, kVideoClock);
  b = st.report(1);
  EXPECT_EQ(b.fractionLost, 0);
  EXPECT_EQ(b.cumulativeLost, 25);
}

TEST(ReceiveStatisticsTest, LateRepairOfAnEarlierIntervalMakesFractionZeroNotNegative) {
  ReceiveStatistics st;
  st.onPacket(1, 0, 0, kVideoClock);
  st.onPacket(3, 0, 1000, kVideoClock);
  EXPECT_EQ(st.report(1).cumulativeLost, 1);
  st.onPacket(2, 0, 2000, kVideoClock);  // the lost one arrives late
  const auto b = st.report(1);
  EXPECT_EQ(b.fractionLost, 0);
  EXPECT_EQ(b.cumulativeLost, 0);
}

TEST(ReceiveStatisticsTest, ExtendedHighestSequenceCountsCycles) {
  ReceiveStatistics st;
  for (uint32_t i = 65530; i < 65536 + 10; ++i) {
    st.onPacket(static_cast<uint16_t>(i), i * 960, i * 20'000, 48000);
  }
  const auto b = st.report(1);
  EXPECT_EQ(b.highestSequence, (1u << 16) | 9u);
  EXPECT_EQ(b.cumulativeLost, 0);
}

TEST(ReceiveStatisticsTest, JitterZeroForPerfectlyPacedStream) {
  ReceiveStatistics st;
  // 20 ms Opus frames arriving exactly every 20 ms.
  for (uint16_t i = 0; i < 200; ++i) st.onPacket(i, i * 960u, int64_t{i} * 20'000, 48000);
  EXPECT_EQ(st.report(1).jitter, 0u);
}

TEST(ReceiveStatisticsTest, JitterConvergesToMeanDeviation) {
  ReceiveStatistics st;
  // Arrivals alternate 10 ms early and on time: |D| = 10 ms = 480 units at 48 kHz every packet,
  // so J converges to 480 (A.8: J += (|D| - J) / 16).
  for (uint16_t i = 0; i < 400; ++i) {
    const int64_t arrival = int64_t{i} * 20'000 - (i % 2 ? 10'000 : 0);
    st.onPacket(i, i * 960u, arrival, 48000);
  }
  EXPECT_NEAR(st.report(1).jitter, 480, 5);
}

TEST(ReceiveStatisticsTest, PacketsOfOneFrameDoNotCountAsJitter) {
  ReceiveStatistics st;
  // 30 fps video, each frame in 5 packets spread over 4 ms by the sender's pacer.
  uint16_t seq = 0;
  for (int f = 0; f < 100; ++f) {
    for (int k = 0; k < 5; ++k) st.onPacket(seq++, f * 3000u, f * 33'333 + k * 1000, kVideoClock);
  }
  EXPECT_LT(st.report(1).jitter, 10u);
}

}  // namespace
}  // namespace medrelay::media
