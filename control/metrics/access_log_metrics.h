#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// The access-log writer. It keeps its own atomic totals (AccessLog::stats()); the server copies
// them in at scrape time with sync(). fsynced() is called on the writer thread after each
// fdatasync (prometheus-cpp children are thread-safe, and group commits are rare next to
// packets).
class AccessLogMetrics {
 public:
  struct Totals {
    uint64_t records = 0;  // durable records
    uint64_t bytes = 0;    // their bytes, newlines included
    ByLabel<AccessLogError, uint64_t> errors{};
    bool unhealthy = false;  // writes failing now (joins are refused meanwhile)
  };

  explicit AccessLogMetrics(prometheus::Registry& registry);

  void fsynced(double seconds) { fsync_duration_->Observe(seconds); }
  // Raises the counters to the writer's totals (they never go down) and sets the gauge.
  void sync(const Totals& totals);

  prometheus::Counter& records() { return *records_; }
  prometheus::Counter& bytes() { return *bytes_; }
  prometheus::Histogram& fsyncDuration() { return *fsync_duration_; }
  prometheus::Counter& writeErrors(AccessLogError kind) { return *write_errors_[kind]; }
  prometheus::Gauge& unhealthy() { return *unhealthy_; }

 private:
  // Sorted by family name.
  prometheus::Counter* bytes_;             // medrelay_access_log_bytes_total
  prometheus::Histogram* fsync_duration_;  // medrelay_access_log_fsync_duration_seconds
  prometheus::Counter* records_;           // medrelay_access_log_records_total
  prometheus::Gauge* unhealthy_;           // medrelay_access_log_unhealthy
  ByLabel<AccessLogError, prometheus::Counter*> write_errors_;  // ..._write_errors_total
};

}  // namespace medrelay::metrics
