#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "common/counters/worker_counters.h"

namespace medrelay::metrics {

// Appends the TURN families to out, from every worker's TurnWorkerMetrics
// (common/counters/turn_counters.h).
void collectTurnMetrics(const std::vector<const WorkerMetrics*>& workers,
                        std::vector<prometheus::MetricFamily>& out);

}  // namespace medrelay::metrics
