#include "control/metrics/loop_monitor.h"

#include <uv.h>

#include <algorithm>

#include "common/assert.h"
#include "control/metrics/buckets.h"
#include "control/metrics/metrics.h"

namespace medrelay::metrics {

LoopMonitor::LoopMonitor(net::Dispatcher& dispatcher, Metrics& metrics, std::string name,
                         std::chrono::milliseconds interval)
    : dispatcher_(dispatcher),
      metrics_(metrics),
      name_(std::move(name)),
      interval_(std::max(interval, std::chrono::milliseconds(1))),
      lag_(buckets::kLoopLagSeconds),
      timer_(dispatcher, [this] { onTimer(); }) {
  MEDRELAY_ASSERT(dispatcher.isLoopThread(), "LoopMonitor must be created on its loop's thread");
  // Idempotent: only sets a flag that the next epoll_wait honours.
  MEDRELAY_ASSERT(uv_loop_configure(dispatcher.loop(), UV_METRICS_IDLE_TIME) == 0,
                  "uv_loop_configure(UV_METRICS_IDLE_TIME)");
  last_idle_ns_ = uv_metrics_idle_time(dispatcher.loop());
  last_sample_ns_ = uv_hrtime();
  arm();
  metrics_.attachLoop(this);
}

LoopMonitor::~LoopMonitor() {
  MEDRELAY_ASSERT(dispatcher_.isLoopThread(), "LoopMonitor must be destroyed on its loop's thread");
  metrics_.detachLoop(this);
  timer_.stop();
}

void LoopMonitor::arm() {
  // libuv's due time is the loop's cached clock (ms, uv_now) + timeout; measure against it so a
  // quiet loop reports ~0 rather than the time the current iteration had already run.
  due_ns_ = (uv_now(dispatcher_.loop()) + static_cast<uint64_t>(interval_.count())) * 1'000'000;
  timer_.start(interval_);
}

void LoopMonitor::onTimer() {
  const uint64_t now = uv_hrtime();
  const uint64_t late_ns = now > due_ns_ ? now - due_ns_ : 0;
  lag_.Observe(static_cast<double>(late_ns) / 1e9);
  arm();
}

LoopMonitor::Utilisation LoopMonitor::sampleUtilisation() {
  const uint64_t idle = uv_metrics_idle_time(dispatcher_.loop());
  const uint64_t now = uv_hrtime();
  const uint64_t elapsed = now - last_sample_ns_;
  if (elapsed > 0 && idle >= last_idle_ns_) {
    const double idle_fraction =
        static_cast<double>(idle - last_idle_ns_) / static_cast<double>(elapsed);
    last_ratio_ = std::clamp(1.0 - idle_fraction, 0.0, 1.0);
    last_idle_ns_ = idle;
    last_sample_ns_ = now;
  }
  return {static_cast<double>(idle) / 1e9, last_ratio_};
}

}  // namespace medrelay::metrics
