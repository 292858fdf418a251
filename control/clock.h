#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace medrelay::control {

// Wall-clock time for the control plane (UTC µs since the Unix epoch), injectable so tests can
// move through consultation windows.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowUs() = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowUs() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to (tests, simulations).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_us) : now_(start_us) {}
  int64_t nowUs() override { return now_.load(); }
  void set(int64_t us) { now_ = us; }
  void advance(std::chrono::microseconds d) { now_ += d.count(); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace medrelay::control
