#include "control/metrics/clock_metrics.h"

namespace medrelay::metrics {

ClockMetrics::ClockMetrics(prometheus::Registry& registry) {
  estimatedError_ = &prometheus::BuildGauge()
                         .Name("medrelay_clock_estimated_error_seconds")
                         .Help("The kernel's estimated error of the system clock (adjtimex).")
                         .Register(registry)
                         .Add({});
  losses_ = &prometheus::BuildCounter()
                 .Name("medrelay_clock_sync_losses_total")
                 .Help("Times the system clock lost synchronisation while medrelay ran.")
                 .Register(registry)
                 .Add({});
  synced_ = &prometheus::BuildGauge()
                 .Name("medrelay_clock_synced")
                 .Help("1 while the kernel reports the system clock synchronised, else 0.")
                 .Register(registry)
                 .Add({});
}

void ClockMetrics::update(bool synced, double estimated_error_seconds, uint64_t losses) {
  synced_->Set(synced ? 1 : 0);
  estimatedError_->Set(estimated_error_seconds);
  const auto target = static_cast<double>(losses);
  if (target > losses_->Value()) losses_->Increment(target - losses_->Value());
}

}  // namespace medrelay::metrics
