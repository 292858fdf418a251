#include "control/clock_sync.h"

#include <sys/timex.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "control/access_log.h"
#include "net/dispatcher.h"

namespace medrelay::control {

Result<ClockSyncState> readClockSync() {
  struct timex tx {};
  tx.modes = 0;  // read only
  const int state = ::adjtimex(&tx);
  if (state < 0) {
    return makeError("clock_unreadable", std::string("adjtimex: ") + std::strerror(errno));
  }
  ClockSyncState s;
  s.clock_state = state;
  s.synced = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  s.est_error_us = tx.esterror;
  s.max_error_us = tx.maxerror;
  return s;
}

ClockSyncMonitor::ClockSyncMonitor(net::Dispatcher& dispatcher, AccessLog& log,
                                   ClockSyncOptions options)
    : log_(log), options_(std::move(options)) {
  if (!options_.read) options_.read = readClockSync;
  timer_ = std::make_unique<net::Timer>(dispatcher, [this] { check("periodic"); });
}

ClockSyncMonitor::~ClockSyncMonitor() {
  if (timer_) timer_->stop();
}

void ClockSyncMonitor::start() {
  check("start");
  timer_->start(options_.check_interval, options_.check_interval);
}

void ClockSyncMonitor::check(std::string_view trigger) {
  auto state = options_.read();
  if (!state) {
    MR_LOG_WARN(log::get("audit"), "clock state: {}", state.error().message);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const bool changed = last_ && last_->synced != state->synced;
  const bool due = !last_ || now - lastRecord_ >= options_.record_interval;
  if (changed) trigger = state->synced ? "regained" : "lost";
  if (changed && !state->synced) {
    ++losses_;
    MR_LOG_WARN(log::get("audit"),
                "the system clock lost synchronisation (estimated error {} us): access-log "
                "times may drift",
                state->est_error_us);
  }
  last_ = *state;
  if (options_.on_state) options_.on_state(*state, losses_);
  if (!changed && !due) return;
  lastRecord_ = now;
  AccessRecord r;
  r.event = AccessEvent::kClockSync;
  r.reason = std::string(trigger);
  r.detail = {{"synced", state->synced},
              {"est_error_us", state->est_error_us},
              {"max_error_us", state->max_error_us},
              {"clock_state", state->clock_state}};
  log_.append(std::move(r), [](Result<uint64_t> done) {
    if (!done) {
      MR_LOG_WARN(log::get("audit"), "clock_sync record not written: {}", done.error().message);
    }
  });
}

}  // namespace medrelay::control
