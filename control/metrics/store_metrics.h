#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// The state store (SQLite now, Redis later), control thread.
class StoreMetrics {
 public:
  explicit StoreMetrics(prometheus::Registry& registry);

  void error(StoreError kind) { errors_[kind]->Increment(); }
  prometheus::Counter& errors(StoreError kind) { return *errors_[kind]; }

 private:
  ByLabel<StoreError, prometheus::Counter*> errors_;  // medrelay_store_errors_total
};

}  // namespace medrelay::metrics
