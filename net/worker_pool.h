#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "net/dispatcher.h"

namespace medrelay::net {

// The media workers: one DispatcherThread (libuv loop) per worker, each owning whole rooms
// (so forwarding within a room takes no locks; docs/architecture.md). Liveness is checked by pings:
// ping() posts a tiny task to every worker that has answered its previous one; a worker whose
// outstanding ping is older than a deadline is stuck (its loop is blocked or dead), which /readyz
// reports.
class WorkerPool {
 public:
  // count 0: one worker per core (std::thread::hardware_concurrency()). Starts the threads and
  // sends a first ping.
  explicit WorkerPool(uint32_t count);
  // Stops and joins every worker; work still queued is dropped.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return workers_.size(); }
  net::Dispatcher& worker(size_t i);
  // Runs fn on worker i's loop. Thread-safe.
  void postTo(size_t i, std::function<void()> fn);
  // Runs fn on worker i's loop and waits for it (tests, start-up wiring; never on a worker).
  void runSync(size_t i, const std::function<void()>& fn);

  // Posts a ping to each worker whose previous ping was answered. Thread-safe; the App calls it
  // periodically from the control loop.
  void ping();

  struct Health {
    bool ok = true;
    std::vector<size_t> stuck;  // workers with a ping outstanding for longer than the deadline
  };
  // Non-blocking: reads the ping state. Thread-safe.
  Health health(std::chrono::milliseconds deadline) const;

  // Stops every worker loop and joins the threads (idempotent).
  void stop();

 private:
  struct Worker {
    std::unique_ptr<net::DispatcherThread> thread;
    std::atomic<uint64_t> sent{0};      // sequence of the last ping posted
    std::atomic<uint64_t> answered{0};  // sequence of the last ping answered
    std::atomic<int64_t> sentAtNs{0};   // steady-clock time the outstanding ping was posted
  };

  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace medrelay::net
