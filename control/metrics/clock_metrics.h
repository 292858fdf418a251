#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>

namespace medrelay::metrics {

// The system clock's synchronisation as the kernel reports it (control/clock_sync.h), set on the
// control thread after every check.
class ClockMetrics {
 public:
  explicit ClockMetrics(prometheus::Registry& registry);
  void update(bool synced, double estimated_error_seconds, uint64_t losses);

 private:
  // Sorted by family name.
  prometheus::Gauge* estimatedError_;  // medrelay_clock_estimated_error_seconds
  prometheus::Counter* losses_;        // medrelay_clock_sync_losses_total
  prometheus::Gauge* synced_;          // medrelay_clock_synced
};

}  // namespace medrelay::metrics
