#include "bench/load/sweep_plan.h"

#include <algorithm>
#include <cmath>

namespace medrelay::bench {

namespace {
constexpr uint32_t kMinKbps = 50;
}

const char* LoadStep::phaseName(Phase p) {
  switch (p) {
    case Phase::kFixed:
      return "fixed";
    case Phase::kSearch:
      return "search";
    case Phase::kSweep:
      return "sweep";
  }
  return "?";
}

SweepPlan::SweepPlan(Options options, std::function<double(uint32_t)> forwardedPpsAt)
    : options_(std::move(options)), forwardedPpsAt_(std::move(forwardedPpsAt)) {
  options_.startKbps = std::max(kMinKbps, options_.startKbps);
  options_.factor = std::max(1.1, options_.factor);
}

SweepPlan SweepPlan::fixed(uint32_t videoKbps, double measureS) {
  Options o;
  o.measureS = measureS;
  SweepPlan plan(o, [](uint32_t) { return 0.0; });
  plan.stage_ = Stage::kFixed;
  plan.goodKbps_ = videoKbps;
  return plan;
}

std::optional<LoadStep> SweepPlan::next() {
  LoadStep step;
  step.settleS = options_.settleS;
  switch (stage_) {
    case Stage::kFixed:
      if (fixedDone_) return std::nullopt;
      fixedDone_ = true;
      step.phase = LoadStep::Phase::kFixed;
      step.videoKbps = goodKbps_;
      step.settleS = 0;
      step.measureS = options_.measureS;
      break;
    case Stage::kSearch:
      step.phase = LoadStep::Phase::kSearch;
      step.videoKbps =
          goodKbps_ == 0 ? options_.startKbps : static_cast<uint32_t>(goodKbps_ * options_.factor);
      step.measureS = options_.searchS;
      break;
    case Stage::kRefine:
      step.phase = LoadStep::Phase::kSearch;
      step.videoKbps = static_cast<uint32_t>(std::sqrt(double(goodKbps_) * double(badKbps_)));
      step.measureS = options_.searchS;
      break;
    case Stage::kSweep: {
      if (sweepIndex_ >= options_.percents.size()) return std::nullopt;
      const int pct = options_.percents[sweepIndex_++];
      step.phase = LoadStep::Phase::kSweep;
      step.loadPct = pct;
      step.videoKbps = pct >= 100 ? goodKbps_ : kbpsForOfferedPps(goodOfferedPps_ * pct / 100.0);
      step.measureS = options_.measureS;
      break;
    }
    case Stage::kDone:
      return std::nullopt;
  }
  pending_ = step;
  return step;
}

bool SweepPlan::saturated(const StepOutcome& o) const {
  if (o.loss > options_.maxLoss) return true;
  if (o.forwardedPps < options_.minDelivered * o.offeredPps) return true;
  return options_.cpuLimit > 0 && o.relayCpuUtil >= 0.97 * options_.cpuLimit;
}

void SweepPlan::report(const StepOutcome& o) {
  if (!pending_) return;
  const LoadStep step = *pending_;
  pending_.reset();
  if (stage_ == Stage::kFixed || stage_ == Stage::kSweep) {
    if (stage_ == Stage::kFixed) stage_ = Stage::kDone;
    return;
  }
  const bool sat = saturated(o);
  if (sat && stopReason_.empty()) {
    stopReason_ = o.loss > options_.maxLoss                               ? "loss"
                  : o.forwardedPps < options_.minDelivered * o.offeredPps ? "delivery"
                                                                          : "relay_cpu";
  }
  if (stage_ == Stage::kSearch) {
    if (sat) {
      badKbps_ = step.videoKbps;
      if (goodKbps_ == 0) {
        // Saturated at the first level: that level is the saturation point.
        goodKbps_ = step.videoKbps;
        stopReason_ = "first_step_" + stopReason_;
        enterSweep();
        return;
      }
      refinesLeft_ = options_.refineSteps;
      stage_ = Stage::kRefine;
      if (refinesLeft_ <= 0) enterSweep();
      return;
    }
    goodKbps_ = step.videoKbps;
    if (static_cast<double>(goodKbps_) * options_.factor > options_.maxKbps) {
      stopReason_ = "max_bitrate";
      enterSweep();
    }
    return;
  }
  // Refine: bisect (geometrically) between the last good and the first saturated level.
  (sat ? badKbps_ : goodKbps_) = step.videoKbps;
  if (--refinesLeft_ <= 0 || badKbps_ <= goodKbps_ + 1) enterSweep();
}

void SweepPlan::enterSweep() {
  stage_ = Stage::kSweep;
  goodOfferedPps_ = forwardedPpsAt_(goodKbps_);
  sweepIndex_ = 0;
}

uint32_t SweepPlan::kbpsForOfferedPps(double pps) const {
  uint32_t lo = kMinKbps;
  uint32_t hi = std::max(goodKbps_, options_.startKbps);
  if (forwardedPpsAt_(lo) >= pps) return lo;
  // Largest bitrate whose offer does not exceed pps (the model is non-decreasing in bitrate).
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    if (forwardedPpsAt_(mid) <= pps) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace medrelay::bench
