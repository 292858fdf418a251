#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <vector>

namespace medrelay::metrics {

// The process collector, computed at scrape time from getrusage(2), getrlimit(2) and /proc.
// Family names follow the Prometheus client-library convention for process metrics
// (process_cpu_seconds_total, ...) without the medrelay_ prefix, so stock dashboards and alerts
// work unchanged; `job`/`instance` tell processes apart.
class ProcessMetrics {
 public:
  struct Sample {
    double cpu_seconds = 0;  // user + system
    double resident_bytes = 0;
    double virtual_bytes = 0;
    double open_fds = 0;
    double max_fds = 0;             // RLIMIT_NOFILE soft limit
    double start_time_seconds = 0;  // since the Unix epoch
  };

  // Reads the current values; a field that cannot be read stays 0.
  static Sample sample();

  static void collect(std::vector<prometheus::MetricFamily>& out);
};

}  // namespace medrelay::metrics
