#include "control/access_log.h"

#include "common/assert.h"
#include "net/dispatcher.h"

// The writer's public side and its thread: queueing, batches, delivery of results. Opening and
// recovery are in access_log_open.cpp, the file chain (records, flush, rotation, pruning, I/O
// errors) in access_log_chain.cpp.

namespace medrelay::control {
namespace {

bool callerEvent(AccessEvent e) {
  return static_cast<int>(e) < static_cast<int>(AccessEvent::kKeyRotated);
}

}  // namespace

Error AccessLog::unavailable(const std::string& what) {
  return makeError("access_log_unavailable", "access log unavailable: " + what);
}

AccessLog::AccessLog(Tag /*unused*/, AccessLogOptions options, net::Dispatcher* completions)
    : options_(std::move(options)),
      completions_(completions),
      files_(options_.files ? options_.files : posixFileLayer()) {
  if (!options_.clock_us) {
    options_.clock_us = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(AccessLogOptions options,
                                                   net::Dispatcher* completions) {
  auto log = std::make_unique<AccessLog>(Tag{}, std::move(options), completions);
  if (auto r = log->init(); !r) {
    if (log->fd_ >= 0) log->files_->close(log->fd_);
    log->fd_ = -1;
    return r.error();
  }
  log->thread_ = std::thread([p = log.get()] { p->run(); });
  return log;
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) files_->close(fd_);
}

void AccessLog::run() {
  for (;;) {
    std::deque<Entry> batch;
    {
      std::unique_lock lock(mutex_);
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (unhealthy_) {
        cv_.wait_until(lock, next_retry_, ready);
      } else {
        cv_.wait(lock, ready);
      }
      batch.swap(queue_);
      if (batch.empty() && stopping_) break;
    }
    if (unhealthy_ && std::chrono::steady_clock::now() >= next_retry_) tryRecover();
    if (!batch.empty()) processBatch(batch);
  }
}

void AccessLog::processBatch(std::deque<Entry>& batch) {
  std::vector<Result<uint64_t>> results(batch.size(), Result<uint64_t>(uint64_t{0}));
  std::vector<size_t> staged;  // entries whose lines wait for the next flush
  auto settle = [&](int rc) {
    for (const size_t i : staged) {
      if (rc == 0) {
        results[i] = batch[i].record.seq;
      } else {
        results[i] = unavailable(errnoName(-rc));
      }
    }
    staged.clear();
  };
  bool rotated = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    Entry& e = batch[i];
    if (unhealthy_) {
      results[i] = unavailable(errnoName(last_errno_));
      continue;
    }
    const int64_t t = now();
    if (rotationDue(t) || e.new_key) {
      const int rc = flush();
      settle(rc);
      if (rc == 0 && rotationDue(t)) {
        if (rotate(t) == 0) rotated = true;
      }
      if (unhealthy_) {
        results[i] = unavailable(errnoName(last_errno_));
        continue;
      }
    }
    if (e.new_key) {
      if (auto p = persistNewKey(*e.new_key); !p) {
        results[i] = p.error();
        continue;
      }
      AccessRecord r;
      r.event = AccessEvent::kKeyRotated;
      r.detail = {{"new_key_id", e.new_key->id}};
      stage(r, t);
      if (int rc = flush(); rc != 0) {
        results[i] = unavailable(errnoName(-rc));
        continue;
      }
      results[i] = r.seq;
      key_ = *e.new_key;
      keyring_.add(key_);
      std::lock_guard lock(mutex_);
      key_id_shared_ = key_.id;
      continue;
    }
    stage(e.record, t);
    staged.push_back(i);
  }
  settle(flush());
  if (rotated && !unhealthy_) prune(now());
  deliver(batch, results);
}

void AccessLog::deliver(std::deque<Entry>& batch, std::vector<Result<uint64_t>>& results) {
  std::vector<std::pair<DurableCallback, Result<uint64_t>>> posts;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!results[i].ok()) {
      ++failed_appends_;
      ++failed_since_healthy_;
    }
    if (batch[i].sync != nullptr) {
      batch[i].sync->set_value(std::move(results[i]));
    } else if (batch[i].on_durable) {
      posts.emplace_back(std::move(batch[i].on_durable), std::move(results[i]));
    }
  }
  if (!posts.empty() && completions_ != nullptr) {
    // One post per batch; callbacks run in sequence order on the caller's loop.
    completions_->post([posts = std::move(posts)]() mutable {
      for (auto& [cb, result] : posts) cb(std::move(result));
    });
  }
}

Result<void> AccessLog::persistNewKey(const AccessLogKey& new_key) {
  if (options_.key) return {};  // given directly: the caller keeps its keys
  const auto retired = options_.key_file.string() + "." + key_.id;
  if (auto r = writeKeyFile(retired, key_); !r) return r;
  return writeKeyFile(options_.key_file, new_key);
}

void AccessLog::append(AccessRecord record, DurableCallback on_durable) {
  MEDRELAY_ASSERT(completions_ != nullptr, "AccessLog::append needs a completions dispatcher");
  auto valid = validateForAppend(record);
  if (valid && !callerEvent(record.event)) {
    valid = makeError("invalid_record", "event is written by the log itself");
  }
  if (!valid) {
    completions_->post([cb = std::move(on_durable), err = valid.error()] { cb(err); });
    return;
  }
  if (options_.on_append) options_.on_append(record);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Entry{std::move(record), std::move(on_durable), nullptr, std::nullopt});
  }
  cv_.notify_one();
}

Result<uint64_t> AccessLog::appendSync(AccessRecord record) {
  if (auto v = validateForAppend(record); !v) return v.error();
  if (!callerEvent(record.event)) {
    return makeError("invalid_record", "event is written by the log itself");
  }
  if (options_.on_append) options_.on_append(record);
  std::promise<Result<uint64_t>> done;
  auto result = done.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Entry{std::move(record), {}, &done, std::nullopt});
  }
  cv_.notify_one();
  return result.get();
}

Result<uint64_t> AccessLog::rotateKey(const AccessLogKey& new_key) {
  std::promise<Result<uint64_t>> done;
  auto result = done.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Entry{AccessRecord{}, {}, &done, new_key});
  }
  cv_.notify_one();
  return result.get();
}

AccessLogStats AccessLog::stats() const {
  AccessLogStats s;
  s.records = records_.load();
  s.fdatasyncs = fdatasyncs_.load();
  s.io_errors = io_errors_.load();
  s.failed_appends = failed_appends_.load();
  s.bytes = bytes_.load();
  s.write_errors = write_errors_.load();
  s.fsync_errors = fsync_errors_.load();
  s.open_errors = open_errors_.load();
  s.rotate_errors = rotate_errors_.load();
  return s;
}

ChainHead AccessLog::durableHead() const {
  std::lock_guard lock(head_mutex_);
  return durable_head_;
}

std::string AccessLog::currentKeyId() const {
  std::lock_guard lock(mutex_);
  return key_id_shared_;
}

}  // namespace medrelay::control
