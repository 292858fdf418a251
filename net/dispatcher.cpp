#include "net/dispatcher.h"

#include <future>

#include "common/assert.h"

namespace medrelay::net {

Dispatcher::Dispatcher(std::string name) : name_(std::move(name)) {
  MEDRELAY_ASSERT(uv_loop_init(&loop_) == 0, "uv_loop_init");
  loop_thread_ = std::this_thread::get_id();
  uv_async_init(&loop_, async_.get(), [](uv_async_t* a) {
    if (a->data != nullptr) static_cast<Dispatcher*>(a->data)->drainPosted();
  });
  async_.get()->data = this;
  // The async handle must not keep the loop alive on its own once stop() was called; run() uses
  // uv_stop, so it stays referenced while running.
}

Dispatcher::~Dispatcher() {
  {
    // Work posted after the loop ended is dropped: its captures may refer to objects already gone.
    std::lock_guard lock(mutex_);
    posted_.clear();
  }
  async_.reset();
  // Close whatever an owner left open so the loop can be closed; then finish every close.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  while (uv_loop_close(&loop_) == UV_EBUSY) uv_run(&loop_, UV_RUN_NOWAIT);
}

void Dispatcher::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(async_.get());
}

void Dispatcher::drainPosted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void Dispatcher::run() {
  loop_thread_ = std::this_thread::get_id();
  stopping_ = false;
  // Work posted before run() is picked up by the pending async.
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Dispatcher::stop() {
  stopping_ = true;
  post([this] { uv_stop(&loop_); });
}

bool Dispatcher::isLoopThread() const {
  return loop_thread_.load() == std::this_thread::get_id();
}

DispatcherThread::DispatcherThread(std::string name) : dispatcher_(std::move(name)) {
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started] {
    dispatcher_.post([&started] { started.set_value(); });
    dispatcher_.run();
  });
  ready.wait();
}

DispatcherThread::~DispatcherThread() {
  stopAndJoin();
}

void DispatcherThread::stopAndJoin() {
  if (!thread_.joinable()) return;
  dispatcher_.stop();
  thread_.join();
}

void DispatcherThread::runSync(const std::function<void()>& fn) {
  if (dispatcher_.isLoopThread()) {
    fn();
    return;
  }
  std::promise<void> done;
  dispatcher_.post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

Timer::Timer(Dispatcher& dispatcher, std::function<void()> cb) : cb_(std::move(cb)) {
  uv_timer_init(dispatcher.loop(), timer_.get());
  timer_.get()->data = this;
}

void Timer::start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat) {
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        if (t->data != nullptr) static_cast<Timer*>(t->data)->cb_();
      },
      static_cast<uint64_t>(timeout.count()), static_cast<uint64_t>(repeat.count()));
}

void Timer::stop() {
  uv_timer_stop(timer_.get());
}

bool Timer::active() const {
  return uv_is_active(timer_.handle()) != 0;
}

}  // namespace medrelay::net
