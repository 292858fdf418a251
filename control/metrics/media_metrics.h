#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "common/counters/worker_counters.h"

namespace medrelay::metrics {

// Appends the media families (all of them, even with no workers) to out, from every worker's
// MediaWorkerMetrics (common/counters/media_counters.h).
void collectMediaMetrics(const std::vector<const WorkerMetrics*>& workers,
                         std::vector<prometheus::MetricFamily>& out);

}  // namespace medrelay::metrics
