// The load generator's own logic: the traffic model's packet rate (the sweep inverts it to pick
// its levels) and the sweep plan's search, bisection and 25/50/75/100 % steps.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench/load/rtp_traffic.h"
#include "bench/load/sweep_plan.h"

namespace medrelay::bench {
namespace {

// Packets the schedule emits for one participant over `seconds`, polled every millisecond.
uint64_t emitted(TrafficSchedule& s, uint64_t fromNs, double seconds) {
  std::vector<ScheduledPacket> out(512);
  uint64_t n = 0;
  const auto end = fromNs + static_cast<uint64_t>(seconds * 1e9);
  for (uint64_t t = fromNs; t < end; t += 1'000'000) n += s.due(t, out.data(), out.size());
  return n;
}

TEST(TrafficModel, PacketRateIsWhatTheScheduleEmits) {
  for (uint32_t bps : {300'000u, 1'000'000u, 8'000'000u, 40'000'000u}) {
    TrafficModel m;
    m.videoBitrate = bps;
    TrafficSchedule s(m, 0);
    const double seconds = 30;  // ten keyframe intervals
    const double rate = static_cast<double>(emitted(s, 0, seconds)) / seconds;
    EXPECT_NEAR(rate, m.packetsPerSecondPerParticipant(), 0.01 * rate) << bps;
  }
}

TEST(TrafficModel, SetVideoBitrateChangesTheRateFromTheNextFrame) {
  TrafficModel m;
  m.videoBitrate = 500'000;
  TrafficSchedule s(m, 0);
  const double low = static_cast<double>(emitted(s, 0, 6)) / 6;
  s.setVideoBitrate(20'000'000);
  const double high = static_cast<double>(emitted(s, 6'000'000'000ULL, 6)) / 6;
  TrafficModel hm = m;
  hm.videoBitrate = 20'000'000;
  EXPECT_NEAR(low, m.packetsPerSecondPerParticipant(), 0.02 * low);
  EXPECT_NEAR(high, hm.packetsPerSecondPerParticipant(), 0.02 * high);
  EXPECT_GT(high, 10 * low);
}

TEST(TrafficModel, KeyframesOfParticipantsAreSpreadOverTheInterval) {
  TrafficModel m;
  m.participants = 24;
  m.audio = false;
  m.videoBitrate = 10'000'000;
  TrafficSchedule s(m, 0);
  // Per frame interval (33 ms), the most packets any one interval carries over 6 s: with every
  // keyframe in the same interval it would be ~24 × 4 × a delta frame; spread, about one
  // keyframe (4 deltas) plus 23 deltas.
  std::vector<ScheduledPacket> out(4096);
  size_t worst = 0;
  const uint64_t frameNs = 1'000'000'000ULL / m.fps;
  for (uint64_t t = frameNs; t <= 6'000'000'000ULL; t += frameNs) {
    worst = std::max(worst, s.due(t, out.data(), out.size()));
  }
  const double deltaPackets = std::ceil(10e6 / 8 / 30 / 1188.0);
  EXPECT_LT(static_cast<double>(worst), (24 + 3 * 2) * deltaPackets * 1.3);
  EXPECT_GT(static_cast<double>(worst), 24 * deltaPackets * 0.8);
}

// A relay that forwards everything up to `capacity` packets/s and loses the rest.
struct FakeRelay {
  double capacity;
  StepOutcome run(double offered) const {
    StepOutcome o;
    o.offeredPps = offered;
    o.forwardedPps = std::min(offered, capacity);
    o.loss = offered > 0 ? 1.0 - o.forwardedPps / offered : 0;
    return o;
  }
};

// Offered forwarded packets/s at a bitrate: 12 publishers, fan-out 2, the real traffic model.
double offeredAt(uint32_t kbps) {
  TrafficModel m;
  m.videoBitrate = kbps * 1000;
  return m.packetsPerSecondPerParticipant() * 12 * 2;
}

TEST(SweepPlan, FindsTheSaturationPointThenMeasuresItsShares) {
  const FakeRelay relay{60'000};
  SweepPlan::Options o;
  o.startKbps = 1000;
  o.refineSteps = 3;
  SweepPlan plan(o, offeredAt);
  std::vector<LoadStep> search;
  std::vector<LoadStep> sweep;
  for (int guard = 0; guard < 100; ++guard) {
    auto step = plan.next();
    if (!step) break;
    (step->phase == LoadStep::Phase::kSearch ? search : sweep).push_back(*step);
    plan.report(relay.run(offeredAt(step->videoKbps)));
  }
  ASSERT_FALSE(search.empty());
  EXPECT_EQ(search[0].videoKbps, 1000u);
  EXPECT_EQ(search[1].videoKbps, 2000u);
  EXPECT_EQ(plan.stopReason(), "loss");
  // The saturation level is good, a level twice as high is not, and it is within the bisection's
  // resolution (2^(1/8) after three bisections of a factor of 2) of the true capacity.
  const double sat = plan.saturationOfferedPps();
  EXPECT_LE(sat, relay.capacity);
  EXPECT_GT(sat, relay.capacity / std::pow(2.0, 1.0 / 8) * 0.97);
  ASSERT_EQ(sweep.size(), 4u);
  const int pct[] = {25, 50, 75, 100};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sweep[i].loadPct, pct[i]);
    const double offered = offeredAt(sweep[i].videoKbps);
    EXPECT_LE(offered, sat * pct[i] / 100.0 + 1) << pct[i];
    EXPECT_GT(offered, sat * pct[i] / 100.0 * 0.9) << pct[i];
    EXPECT_DOUBLE_EQ(sweep[i].measureS, o.measureS);
  }
  EXPECT_EQ(sweep[3].videoKbps, plan.saturationKbps());
}

TEST(SweepPlan, SaturatedAtTheFirstLevelStillSweepsBelowIt) {
  SweepPlan plan({}, offeredAt);
  auto first = plan.next();
  ASSERT_TRUE(first);
  plan.report(FakeRelay{10}.run(offeredAt(first->videoKbps)));
  EXPECT_EQ(plan.stopReason(), "first_step_loss");
  EXPECT_EQ(plan.saturationKbps(), first->videoKbps);
  int steps = 0;
  while (auto s = plan.next()) {
    EXPECT_EQ(s->phase, LoadStep::Phase::kSweep);
    EXPECT_LE(s->videoKbps, first->videoKbps);
    plan.report({});
    ++steps;
  }
  EXPECT_EQ(steps, 4);
}

TEST(SweepPlan, RelayCpuAtItsLimitIsSaturationWithoutLoss) {
  SweepPlan::Options o;
  o.cpuLimit = 1.0;
  SweepPlan plan(o, offeredAt);
  StepOutcome busy{1000, 1000, 0, 0.99};
  StepOutcome idle{1000, 1000, 0, 0.50};
  EXPECT_TRUE(plan.saturated(busy));
  EXPECT_FALSE(plan.saturated(idle));
  StepOutcome behind{1000, 800, 0, 0.5};  // forwarded 80 % of the offer: generator or relay behind
  EXPECT_TRUE(plan.saturated(behind));
  auto s = plan.next();
  plan.report(idle);
  s = plan.next();
  plan.report(busy);
  EXPECT_EQ(plan.stopReason(), "relay_cpu");
}

TEST(SweepPlan, StopsAtTheMaximumBitrate) {
  SweepPlan::Options o;
  o.startKbps = 1000;
  o.maxKbps = 8000;
  SweepPlan plan(o, offeredAt);
  int search = 0;
  while (auto s = plan.next()) {
    if (s->phase == LoadStep::Phase::kSearch) ++search;
    plan.report(FakeRelay{1e12}.run(offeredAt(s->videoKbps)));
  }
  EXPECT_EQ(search, 4);  // 1000, 2000, 4000, 8000
  EXPECT_EQ(plan.stopReason(), "max_bitrate");
  EXPECT_EQ(plan.saturationKbps(), 8000u);
}

TEST(SweepPlan, FixedPlanIsOneStep) {
  SweepPlan plan = SweepPlan::fixed(600, 3);
  auto s = plan.next();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->phase, LoadStep::Phase::kFixed);
  EXPECT_EQ(s->videoKbps, 600u);
  EXPECT_DOUBLE_EQ(s->measureS, 3);
  EXPECT_DOUBLE_EQ(s->settleS, 0);
  plan.report({});
  EXPECT_FALSE(plan.next());
}

}  // namespace
}  // namespace medrelay::bench
