#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/uv_handle.h"

namespace medrelay::net {

// One thread's event loop, passed by reference (no global loop, so tests can run several; see
// docs/architecture.md, "Threads and loops"). Everything attached to a Dispatcher runs on its
// thread; the only way in from another thread is post().
class Dispatcher {
 public:
  explicit Dispatcher(std::string name);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  const std::string& name() const { return name_; }
  uv_loop_t* loop() { return &loop_; }

  // Queues fn to run on the loop thread. Thread-safe; callable before run() and from the loop
  // itself (runs on the next iteration). Work posted after the loop has ended is dropped.
  void post(std::function<void()> fn);

  // Runs the loop on the calling thread until stop().
  void run();
  // Asks the loop to return from run(). Thread-safe.
  void stop();

  // True on the thread currently inside run() (or before any run(), on the creating thread).
  bool isLoopThread() const;

  // Milliseconds of the loop's cached clock.
  uint64_t nowMs() { return uv_now(&loop_); }

 private:
  void drainPosted();

  std::string name_;
  uv_loop_t loop_{};
  UvHandle<uv_async_t> async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> loop_thread_;
};

// A Dispatcher running on its own std::thread (a media worker, the control thread in tests).
class DispatcherThread {
 public:
  explicit DispatcherThread(std::string name);
  // Stops the loop and joins the thread.
  ~DispatcherThread();
  Dispatcher& dispatcher() { return dispatcher_; }
  // Runs fn on the loop thread and waits for it to finish.
  void runSync(const std::function<void()>& fn);
  void stopAndJoin();

 private:
  Dispatcher dispatcher_;
  std::thread thread_;
};

// A libuv timer whose callback runs on the owning Dispatcher's loop.
class Timer {
 public:
  Timer(Dispatcher& dispatcher, std::function<void()> cb);
  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat = {});
  void stop();
  bool active() const;

 private:
  UvHandle<uv_timer_t> timer_;
  std::function<void()> cb_;
};

}  // namespace medrelay::net
