#pragma once

#include <string>

#include "common/counters/media_counters.h"
#include "common/counters/turn_counters.h"

namespace medrelay::metrics {

// Everything one worker thread counts on its packet path. Allocated by Metrics::addWorker() on
// its own cache lines, so workers never write to a line another worker writes.
struct alignas(64) WorkerMetrics {
  explicit WorkerMetrics(std::string worker_name) : name(std::move(worker_name)) {}

  const std::string name;  // the `worker` label: "0".."N-1" (bounded by the pool size)
  MediaWorkerMetrics media;
  TurnWorkerMetrics turn;
};

}  // namespace medrelay::metrics
