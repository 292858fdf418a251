#include "control/metrics/store_metrics.h"

#include "control/metrics/exposition.h"

namespace medrelay::metrics {

StoreMetrics::StoreMetrics(prometheus::Registry& registry)
    : errors_(resolveAll<StoreError>(prometheus::BuildCounter()
                                         .Name("medrelay_store_errors_total")
                                         .Help("State-store operations that failed, by kind.")
                                         .Register(registry),
                                     {})) {}

}  // namespace medrelay::metrics
