#pragma once

#include <prometheus/histogram.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "net/dispatcher.h"

namespace medrelay::metrics {

class Metrics;

// Watches one Dispatcher's libuv loop for the `worker` label `name` ("0".."N-1", "control"):
// - utilisation: the loop is configured with UV_METRICS_IDLE_TIME (libuv >= 1.39) so libuv
//   accumulates the time spent blocked in epoll_wait; each scrape reports
//   medrelay_event_loop_idle_seconds_total and busy = 1 - idle/elapsed since the previous scrape
//   (medrelay_event_loop_utilization_ratio);
// - lag: a periodic timer measures how late it fires against its due time
//   (medrelay_event_loop_lag_seconds).
//
// Create and destroy it on the loop's thread (e.g. inside DispatcherThread::runSync), or before
// the loop runs: uv_loop_configure and uv_timer_init are not thread-safe against a running loop.
// It asserts this. uv_metrics_idle_time is documented thread-safe, so scrapes read it from the
// control thread without posting to the worker: a blocked loop still shows up (as busy).
// Idle time only accrues after configuration, so the first ratio covers monitor start to scrape.
class LoopMonitor {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{100};

  LoopMonitor(net::Dispatcher& dispatcher, Metrics& metrics, std::string name,
              std::chrono::milliseconds interval = kDefaultInterval);
  ~LoopMonitor();
  LoopMonitor(const LoopMonitor&) = delete;
  LoopMonitor& operator=(const LoopMonitor&) = delete;

  const std::string& name() const { return name_; }

  struct Utilisation {
    double idle_seconds_total = 0;
    double busy_ratio = 0;  // in [0, 1]
  };
  // Called by Metrics at scrape time under its mutex (advances the between-scrapes baseline).
  Utilisation sampleUtilisation();
  // The lag histogram's current sample (thread-safe).
  prometheus::ClientMetric lagSample() const { return lag_.Collect(); }

 private:
  void arm();
  void onTimer();

  net::Dispatcher& dispatcher_;
  Metrics& metrics_;
  const std::string name_;
  const std::chrono::milliseconds interval_;
  prometheus::Histogram lag_;
  net::Timer timer_;
  uint64_t due_ns_ = 0;
  // Scrape-side baseline, touched only under Metrics' mutex.
  uint64_t last_idle_ns_ = 0;
  uint64_t last_sample_ns_ = 0;
  double last_ratio_ = 0;
};

}  // namespace medrelay::metrics
