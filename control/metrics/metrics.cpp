#include "control/metrics/metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

#include "build_info.h"
#include "common/assert.h"
#include "control/metrics/exposition.h"
#include "control/metrics/loop_monitor.h"
#include "control/metrics/media_metrics.h"
#include "control/metrics/process_metrics.h"
#include "control/metrics/turn_metrics.h"

namespace medrelay::metrics {
namespace {

void registerBuildInfo(prometheus::Registry& registry) {
  const std::string build_type = *kBuildType != '\0' ? kBuildType : "none";
  prometheus::BuildGauge()
      .Name("medrelay_build_info")
      .Help("Always 1; labels carry the version and build type of the running binary.")
      .Register(registry)
      .Add({{"version", kVersion}, {"build_type", build_type}})
      .Set(1);
}

}  // namespace

Metrics::Metrics()
    : registry_(
          std::make_unique<prometheus::Registry>(prometheus::Registry::InsertBehavior::Throw)),
      http_(*registry_),
      policy_(*registry_),
      access_log_(*registry_),
      store_(*registry_),
      server_(*registry_),
      cluster_(*registry_),
      webhooks_(*registry_),
      clock_(*registry_) {
  registerBuildInfo(*registry_);
}

Metrics::~Metrics() {
  std::lock_guard lock(mutex_);
  MEDRELAY_ASSERT(loops_.empty(), "LoopMonitor outlives its Metrics");
}

WorkerMetrics& Metrics::addWorker(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& w : workers_) {
    if (w->name == name) return *w;
  }
  workers_.push_back(std::make_unique<WorkerMetrics>(std::string(name)));
  return *workers_.back();
}

void Metrics::attachLoop(LoopMonitor* monitor) {
  std::lock_guard lock(mutex_);
  for (const LoopMonitor* m : loops_) {
    MEDRELAY_ASSERT(m->name() != monitor->name(), "two LoopMonitors with the same name");
  }
  loops_.push_back(monitor);
}

void Metrics::detachLoop(LoopMonitor* monitor) {
  std::lock_guard lock(mutex_);
  loops_.erase(std::remove(loops_.begin(), loops_.end(), monitor), loops_.end());
}

void Metrics::collectLoops(std::vector<prometheus::MetricFamily>& out) {
  auto idle = makeFamily("medrelay_event_loop_idle_seconds_total",
                         "Time each event loop spent waiting for events (libuv idle time).",
                         prometheus::MetricType::Counter);
  auto busy = makeFamily("medrelay_event_loop_utilization_ratio",
                         "Fraction of wall time each event loop was busy since the previous "
                         "scrape (1 - idle/elapsed).",
                         prometheus::MetricType::Gauge);
  auto lag = makeFamily("medrelay_event_loop_lag_seconds",
                        "How late a periodic timer on each event loop fires after its due time.",
                        prometheus::MetricType::Histogram);
  for (LoopMonitor* m : loops_) {
    const auto u = m->sampleUtilisation();
    addSample(idle, {{"worker", m->name()}}, u.idle_seconds_total);
    addSample(busy, {{"worker", m->name()}}, u.busy_ratio);
    prometheus::ClientMetric sample = m->lagSample();
    sample.label = {{"worker", m->name()}};
    lag.metric.push_back(std::move(sample));
  }
  out.push_back(std::move(idle));
  out.push_back(std::move(lag));
  out.push_back(std::move(busy));
}

void Metrics::addScrapeHook(std::function<void()> hook) {
  std::lock_guard lock(hooks_mutex_);
  hooks_.push_back(std::move(hook));
}

std::string Metrics::render() {
  {
    std::lock_guard lock(hooks_mutex_);
    for (const auto& hook : hooks_) hook();
  }
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  ProcessMetrics::collect(families);
  {
    std::lock_guard lock(mutex_);
    std::vector<const WorkerMetrics*> workers;
    workers.reserve(workers_.size());
    for (const auto& w : workers_) workers.push_back(w.get());
    collectMediaMetrics(workers, families);
    collectTurnMetrics(workers, families);
    collectLoops(families);
  }
  std::sort(families.begin(), families.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace medrelay::metrics
