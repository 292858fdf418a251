#include "net/worker_pool.h"

#include <algorithm>
#include <string>
#include <thread>

#include "common/assert.h"

namespace medrelay::net {
namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WorkerPool::WorkerPool(uint32_t count) {
  if (count == 0) count = std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, 64);
  workers_.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    auto w = std::make_unique<Worker>();
    w->thread = std::make_unique<net::DispatcherThread>("worker-" + std::to_string(i));
    workers_.push_back(std::move(w));
  }
  ping();
}

WorkerPool::~WorkerPool() {
  stop();
}

net::Dispatcher& WorkerPool::worker(size_t i) {
  MEDRELAY_ASSERT(i < workers_.size(), "worker index out of range");
  return workers_[i]->thread->dispatcher();
}

void WorkerPool::postTo(size_t i, std::function<void()> fn) {
  worker(i).post(std::move(fn));
}

void WorkerPool::runSync(size_t i, const std::function<void()>& fn) {
  MEDRELAY_ASSERT(i < workers_.size(), "worker index out of range");
  workers_[i]->thread->runSync(fn);
}

void WorkerPool::ping() {
  for (auto& wp : workers_) {
    Worker& w = *wp;
    uint64_t sent = w.sent.load();
    // One ping in flight per worker: a blocked loop is not flooded, and the outstanding ping's
    // age measures how long it has been blocked.
    if (w.answered.load() != sent) continue;
    w.sentAtNs.store(nowNs());  // before `sent` moves, so health() never sees a stale time
    if (!w.sent.compare_exchange_strong(sent, sent + 1)) continue;  // another thread pinged
    w.thread->dispatcher().post([&w, seq = sent + 1] { w.answered.store(seq); });
  }
}

WorkerPool::Health WorkerPool::health(std::chrono::milliseconds deadline) const {
  Health h;
  int64_t now = nowNs();
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = *workers_[i];
    uint64_t answered = w.answered.load();
    if (answered == w.sent.load()) continue;
    auto age = std::chrono::nanoseconds(now - w.sentAtNs.load());
    if (age > deadline) {
      h.ok = false;
      h.stuck.push_back(i);
    }
  }
  return h;
}

void WorkerPool::stop() {
  for (auto& w : workers_) w->thread->stopAndJoin();
}

}  // namespace medrelay::net
