#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace medrelay::net {
class Dispatcher;
class Timer;
}  // namespace medrelay::net

namespace medrelay::control {

class AccessLog;

// The kernel's view of the system clock's synchronisation (adjtimex(2), read only).
struct ClockSyncState {
  bool synced = false;       // the kernel's clock is disciplined (no STA_UNSYNC, not TIME_ERROR)
  int64_t est_error_us = 0;  // estimated error
  int64_t max_error_us = 0;  // maximum error
  int clock_state = 0;       // adjtimex's return: TIME_OK, TIME_INS, ..., TIME_ERROR
};

// adjtimex with modes 0: reads, needs no privilege. Error code: clock_unreadable.
Result<ClockSyncState> readClockSync();

struct ClockSyncOptions {
  std::chrono::milliseconds check_interval{60'000};      // how often the state is read
  std::chrono::milliseconds record_interval{3'600'000};  // a clock_sync record at least this often
  std::function<Result<ClockSyncState>()> read;          // default readClockSync
  // Runs on the dispatcher after every read, with the losses counted so far (metrics).
  std::function<void(const ClockSyncState&, uint64_t losses)> on_state;
};

// Writes the clock's synchronisation state into the access log (docs/access-log.md "Time"): a
// clock_sync record at start, then every record_interval, and at once when the clock loses or
// regains synchronisation (a lost one is logged as a warning too). Runs on the control loop.
class ClockSyncMonitor {
 public:
  ClockSyncMonitor(net::Dispatcher& dispatcher, AccessLog& log, ClockSyncOptions options);
  ~ClockSyncMonitor();
  ClockSyncMonitor(const ClockSyncMonitor&) = delete;
  ClockSyncMonitor& operator=(const ClockSyncMonitor&) = delete;

  void start();
  std::optional<ClockSyncState> last() const { return last_; }
  uint64_t losses() const { return losses_; }

 private:
  void check(std::string_view trigger);

  AccessLog& log_;
  ClockSyncOptions options_;
  std::unique_ptr<net::Timer> timer_;
  std::optional<ClockSyncState> last_;
  std::chrono::steady_clock::time_point lastRecord_{};
  uint64_t losses_ = 0;
};

}  // namespace medrelay::control
