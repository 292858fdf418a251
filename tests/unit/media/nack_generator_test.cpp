// NACK generation towards publishers with injected time: at once for a gap, retries spaced by
// the learnt round trip, give-up by age and count, overflow → keyframe.
#include "media/rtp/nack_generator.h"

#include <gtest/gtest.h>

#include <vector>

namespace medrelay::media {
namespace {

std::vector<uint16_t> due(NackGenerator& g, uint64_t now) {
  std::array<uint16_t, 64> out{};
  const size_t n = g.takeDue(now, out);
  return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)};
}

TEST(NackGeneratorTest, GapIsAskedForAtOnceAndNotAgainBeforeTheRetryInterval) {
  NackGenerator g;
  g.onPacket(100, 1000, false);
  g.onPacket(104, 1000, false);
  EXPECT_EQ(due(g, 1000), (std::vector<uint16_t>{101, 102, 103}));
  EXPECT_TRUE(due(g, 1000 + g.retryIntervalMs() - 1).empty());
  EXPECT_EQ(due(g, 1000 + g.retryIntervalMs()).size(), 3u);
}

TEST(NackGeneratorTest, ArrivalOrRepairRemovesTheEntry) {
  NackGenerator g;
  g.onPacket(10, 0, false);
  g.onPacket(13, 0, false);
  EXPECT_EQ(g.missingCount(), 2u);
  g.onPacket(11, 2, false);  // reordered
  g.onPacket(12, 3, true);   // repaired
  EXPECT_EQ(g.missingCount(), 0u);
  EXPECT_TRUE(due(g, 500).empty());
}

TEST(NackGeneratorTest, RepairTimeOfTheFirstRequestTeachesTheRetryInterval) {
  NackGenerator g;
  uint16_t seq = 0;
  uint64_t now = 10'000;
  // Repairs arrive 40 ms after each first request: the estimate moves from 100 ms towards 40.
  for (int i = 0; i < 40; ++i) {
    g.onPacket(seq, now, false);
    seq = static_cast<uint16_t>(seq + 2);
    g.onPacket(seq, now, false);
    ASSERT_EQ(due(g, now).size(), 1u);
    g.onPacket(seq - 1, now + 40, true);
    now += 100;
  }
  EXPECT_NEAR(static_cast<double>(g.rttMs()), 40.0, 3.0);
  EXPECT_EQ(g.retryIntervalMs(), g.rttMs() + g.rttMs() / 4);
}

TEST(NackGeneratorTest, GivesUpAfterMaxRetries) {
  NackGenerator g;
  // Learn a short round trip first (10 ms repairs), so the retries fit the age limit.
  for (int i = 0; i < 40; ++i) {
    g.onPacket(2 * i, 100 * i, false);
    g.onPacket(2 * i + 2, 100 * i, false);
    ASSERT_EQ(due(g, 100 * i).size(), 1u);
    g.onPacket(2 * i + 1, 100 * i + 10, true);
  }
  ASSERT_EQ(g.retryIntervalMs(), NackGenerator::kMinRetryMs);
  g.onPacket(1000, 5000, false);
  g.onPacket(1002, 5000, false);
  uint64_t now = 5000;
  int asked = 0;
  for (int i = 0; i < 20; ++i, now += g.retryIntervalMs())
    asked += static_cast<int>(due(g, now).size());
  EXPECT_EQ(asked, NackGenerator::kMaxRetries);
  EXPECT_EQ(g.missingCount(), 0u);
  EXPECT_EQ(g.gaveUp(), 1u);
}

TEST(NackGeneratorTest, GivesUpOnPacketsOlderThanMaxAge) {
  NackGenerator g;
  g.onPacket(1, 0, false);
  g.onPacket(3, 0, false);
  EXPECT_EQ(due(g, 0).size(), 1u);
  EXPECT_TRUE(due(g, NackGenerator::kMaxAgeMs + 1).empty());
  EXPECT_EQ(g.missingCount(), 0u);
}

TEST(NackGeneratorTest, OverflowClearsTheListAndAsksForAKeyframe) {
  NackGenerator g;
  EXPECT_TRUE(g.onPacket(0, 0, false));
  EXPECT_FALSE(g.onPacket(NackGenerator::kMaxMissing + 2, 0, false));
  EXPECT_EQ(g.missingCount(), 0u);
  // Continues from the new highest.
  EXPECT_TRUE(g.onPacket(NackGenerator::kMaxMissing + 4, 0, false));
  EXPECT_EQ(g.missingCount(), 1u);
}

TEST(NackGeneratorTest, OneCallWritesAtMostTheOutputSize) {
  NackGenerator g;
  g.onPacket(0, 0, false);
  g.onPacket(101, 0, false);
  std::array<uint16_t, 64> out{};
  EXPECT_EQ(g.takeDue(0, out), 64u);
  EXPECT_EQ(g.takeDue(0, out), 36u);  // the rest, not yet asked for
}

}  // namespace
}  // namespace medrelay::media
