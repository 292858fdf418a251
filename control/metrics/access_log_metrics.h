#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>

#include "control/metrics/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// The access-log writer (its own thread; prometheus-cpp children are thread-safe, and records are
// rare next to packets).
class AccessLogMetrics {
 public:
  explicit AccessLogMetrics(prometheus::Registry& registry);

  // One record appended (line bytes including the newline).
  void recordWritten(size_t bytes) {
    records_->Increment();
    bytes_->Increment(static_cast<double>(bytes));
  }
  void fsynced(double seconds) { fsync_duration_->Observe(seconds); }
  void writeError(AccessLogError kind) { write_errors_[kind]->Increment(); }

  prometheus::Counter& records() { return *records_; }
  prometheus::Counter& bytes() { return *bytes_; }
  prometheus::Histogram& fsyncDuration() { return *fsync_duration_; }
  prometheus::Counter& writeErrors(AccessLogError kind) { return *write_errors_[kind]; }

 private:
  // Sorted by family name.
  prometheus::Counter* bytes_;             // medrelay_access_log_bytes_total
  prometheus::Histogram* fsync_duration_;  // medrelay_access_log_fsync_duration_seconds
  prometheus::Counter* records_;           // medrelay_access_log_records_total
  ByLabel<AccessLogError, prometheus::Counter*> write_errors_;  // ..._write_errors_total
};

}  // namespace medrelay::metrics
