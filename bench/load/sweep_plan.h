#pragma once

// The steps medrelay-load runs: one fixed load, or a sweep. A sweep first searches for the
// saturation point — the video bitrate per participant is raised geometrically, a short step
// each, until a step saturates (loss above a bound, forwarded below what was offered, or the
// relay's CPU at its limit), then bisects between the last good and the first saturated level —
// and then measures at 25/50/75/100 % of the saturation point's offered rate. Pure logic: the
// caller runs each step and reports its outcome.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace medrelay::bench {

struct LoadStep {
  enum class Phase { kFixed, kSearch, kSweep };
  Phase phase = Phase::kFixed;
  uint32_t videoKbps = 0;
  int loadPct = 100;    // sweep: share of the saturation point
  double settleS = 0;   // sent but not measured (queues reach their steady state)
  double measureS = 0;  // the measured window
  static const char* phaseName(Phase p);
};

struct StepOutcome {
  double offeredPps = 0;     // forwarded packets/s the schedule asked for (sent × fan-out)
  double forwardedPps = 0;   // what subscribers received
  double loss = 0;           // 1 - forwarded / (actually sent × fan-out)
  double relayCpuUtil = -1;  // relay CPU-seconds per second; < 0 = unknown (attached relay)
};

class SweepPlan {
 public:
  struct Options {
    uint32_t startKbps = 2000;
    double factor = 2.0;
    uint32_t maxKbps = 400'000;
    int refineSteps = 2;         // bisections after the first saturated level
    double maxLoss = 0.01;       // a step above this loss is saturated
    double minDelivered = 0.90;  // ... as is one forwarding less than this share of the offer
    double cpuLimit = 0;         // ... or one whose relay CPU use reaches 0.97 × this (0 = off)
    double searchS = 1.5;
    double settleS = 0.5;
    double measureS = 5;
    std::vector<int> percents = {25, 50, 75, 100};
  };
  // forwardedPpsAt(kbps): the forwarded packets/s the traffic model offers at that bitrate.
  SweepPlan(Options options, std::function<double(uint32_t)> forwardedPpsAt);
  // A plan of one fixed step.
  static SweepPlan fixed(uint32_t videoKbps, double measureS);

  // The next step to run, or nullopt when the plan is complete.
  std::optional<LoadStep> next();
  // The outcome of the step next() returned last.
  void report(const StepOutcome& outcome);

  bool saturated(const StepOutcome& o) const;
  // Saturation point found by the search (valid once the sweep phase started).
  uint32_t saturationKbps() const { return goodKbps_; }
  double saturationOfferedPps() const { return goodOfferedPps_; }
  // Why the search stopped: "loss", "delivery", "relay_cpu" or "max_bitrate"; prefixed with
  // "first_step_" when the first level already saturated.
  const std::string& stopReason() const { return stopReason_; }
  // The bitrate whose offered forwarded rate is closest to (not above) pps.
  uint32_t kbpsForOfferedPps(double pps) const;

 private:
  enum class Stage { kSearch, kRefine, kSweep, kDone, kFixed };
  void enterSweep();

  Options options_;
  std::function<double(uint32_t)> forwardedPpsAt_;
  Stage stage_ = Stage::kSearch;
  std::optional<LoadStep> pending_;
  uint32_t goodKbps_ = 0;
  double goodOfferedPps_ = 0;
  uint32_t badKbps_ = 0;
  int refinesLeft_ = 0;
  size_t sweepIndex_ = 0;
  std::string stopReason_;
  bool fixedDone_ = false;
};

}  // namespace medrelay::bench
