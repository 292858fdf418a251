#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/uv_handle.h"
#include "net/worker_pool.h"
#include "server/config.h"

namespace medrelay::server {

// The server process: the control Dispatcher (run on the thread that calls run(), normally
// main), the media WorkerPool, and the attached Components (HTTP server, TURN, access log, ...).
//
// Lifecycle: construct (workers start) → addComponent()… → run(): installs SIGTERM/SIGINT/SIGHUP
// handlers on the control loop, starts every component in order, runs the loop. SIGTERM or
// SIGINT drains every component within shutdown.grace_ms, then stops them in reverse order,
// stops the workers and makes run() return 0; a second SIGTERM/SIGINT exits at once. SIGHUP
// calls every component's reload() and logs each outcome; connections stay up.
class App {
 public:
  // A long-lived part of the server. Every method is called on the control loop thread.
  class Component {
   public:
    virtual ~Component() = default;
    // For logs ("http", "turn").
    virtual std::string name() const = 0;
    // Binds and starts accepting. An error aborts the start: run() stops the components already
    // started and returns 1.
    virtual Result<void> start() = 0;
    // Shutdown step 1: stop accepting new work and finish what is in flight, then call done()
    // once (from any thread, even synchronously). `grace` is the budget; when it runs out the App
    // goes on without waiting.
    virtual void drain(std::chrono::milliseconds grace, std::function<void()> done) = 0;
    // Shutdown step 2, after every drain finished or the grace ran out: close what is left.
    virtual void stop() {}
    // SIGHUP: reload what can change without dropping connections (TLS certificates).
    virtual Result<void> reload() { return {}; }
  };

  explicit App(Config config);
  // Stops the workers before the components go, so no worker runs against a dead component.
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  const Config& config() const { return config_; }
  net::Dispatcher& control() { return control_; }
  net::WorkerPool& workers() { return workers_; }

  // Attaches a component; components start in the order added and drain/stop in reverse.
  // Before run() only.
  void addComponent(std::unique_ptr<Component> component);

  // Runs the process until shut down (see the class comment). Returns the exit code.
  int run();

  // Programmatic SIGTERM / SIGHUP (tests, an admin endpoint). Thread-safe.
  void requestShutdown();
  void requestReload();

  // True from the shutdown request on. Thread-safe.
  bool draining() const { return draining_.load(); }
  // For /readyz: started, not draining, and every worker answered its pings within `deadline`.
  // Thread-safe.
  bool ready(std::chrono::milliseconds deadline = kDefaultPingDeadline) const;

  // What a second SIGTERM/SIGINT does; default: flush the logs and _exit(1). Tests replace it.
  void setForcedExit(std::function<void()> fn) { forced_exit_ = std::move(fn); }

  // Reload outcomes since start (number of components reloaded successfully / failed).
  struct ReloadStats {
    uint64_t ok = 0;
    uint64_t failed = 0;
  };
  ReloadStats reloadStats() const { return {reloads_ok_.load(), reloads_failed_.load()}; }

  static constexpr std::chrono::milliseconds kPingInterval{500};
  static constexpr std::chrono::milliseconds kDefaultPingDeadline{2000};

 private:
  void onSignal(int signum);
  void beginShutdown(const char* reason);
  void onDrained(size_t index);
  void finishShutdown(bool grace_expired);
  void reloadAll();
  bool installSignal(net::UvHandle<uv_signal_t>& handle, int signum);

  Config config_;
  net::Dispatcher control_;
  net::WorkerPool workers_;
  std::vector<std::unique_ptr<Component>> components_;
  std::vector<bool> drained_;
  size_t pending_drains_ = 0;
  std::unique_ptr<net::Timer> ping_timer_;
  std::unique_ptr<net::Timer> grace_timer_;
  net::UvHandle<uv_signal_t> sigterm_;
  net::UvHandle<uv_signal_t> sigint_;
  net::UvHandle<uv_signal_t> sighup_;
  std::function<void()> forced_exit_;
  std::atomic<bool> running_{false};
  std::atomic<bool> draining_{false};
  bool finished_ = false;
  bool ran_ = false;
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
};

}  // namespace medrelay::server
