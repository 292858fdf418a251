#pragma once

#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/counters/worker_counters.h"
#include "control/metrics/access_log_metrics.h"
#include "control/metrics/clock_metrics.h"
#include "control/metrics/cluster_metrics.h"
#include "control/metrics/http_metrics.h"
#include "control/metrics/policy_metrics.h"
#include "control/metrics/server_metrics.h"
#include "control/metrics/store_metrics.h"
#include "control/metrics/webhook_metrics.h"

namespace medrelay::metrics {

class LoopMonitor;

// The process's metrics surface: one per process, created by the server and passed by reference
// to every component (no global: tests create their own). Holds a prometheus-cpp Registry for the
// control-path families, the per-worker single-writer blocks of the packet path, the attached
// LoopMonitors, and computes process and build-info families at scrape time.
//
// Threads: construction and addWorker() from any thread; the component objects' methods from
// the thread that owns that component; render() from any thread (the control thread's /metrics
// route), concurrently with all of the above.
class Metrics {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4";

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  HttpMetrics& http() { return http_; }
  PolicyMetrics& policy() { return policy_; }
  AccessLogMetrics& accessLog() { return access_log_; }
  StoreMetrics& store() { return store_; }
  ServerMetrics& server() { return server_; }
  ClusterMetrics& cluster() { return cluster_; }
  WebhookMetrics& webhooks() { return webhooks_; }
  ClockMetrics& clock() { return clock_; }

  // Runs at the start of every render(), on the rendering thread (the control thread in the
  // server): for gauges computed at scrape time (rooms by state, disk space, readiness) and
  // totals copied from their owner. Hooks run in the order added.
  void addScrapeHook(std::function<void()> hook);

  // The block for one media worker, created when the worker starts (called again with the same
  // name, returns the same block). It lives as long as this Metrics; only that worker's thread
  // writes it. `name` becomes the `worker` label: use the pool index ("0".."N-1").
  WorkerMetrics& addWorker(std::string_view name);

  // Escape hatch for a component that needs a family not declared here yet: register it on this
  // registry (and add it to docs/operations.md; a test checks the doc).
  prometheus::Registry& registry() { return *registry_; }

  // Every family, sorted by name, in the Prometheus text exposition format 0.0.4 (kContentType).
  std::string render();

 private:
  friend class LoopMonitor;
  void attachLoop(LoopMonitor* monitor);
  void detachLoop(LoopMonitor* monitor);
  void collectLoops(std::vector<prometheus::MetricFamily>& out);

  std::unique_ptr<prometheus::Registry> registry_;
  HttpMetrics http_;
  PolicyMetrics policy_;
  AccessLogMetrics access_log_;
  StoreMetrics store_;
  ServerMetrics server_;
  ClusterMetrics cluster_;
  WebhookMetrics webhooks_;
  ClockMetrics clock_;

  std::mutex hooks_mutex_;  // guards hooks_ and serialises their runs
  std::vector<std::function<void()>> hooks_;
  std::mutex mutex_;  // guards workers_ and loops_ (and the monitors' scrape state)
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::vector<LoopMonitor*> loops_;
};

}  // namespace medrelay::metrics
