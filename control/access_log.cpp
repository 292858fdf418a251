#include "control/access_log.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "common/assert.h"
#include "common/logging.h"
#include "control/access_log_verify.h"
#include "net/dispatcher.h"

namespace medrelay::control {
namespace {

constexpr int64_t kUsPerDay = int64_t{86400} * 1000000;
constexpr auto kErrorLogInterval = std::chrono::seconds(10);
constexpr int kNewFileFlags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND;

int64_t dayOf(int64_t us) {
  return us >= 0 ? us / kUsPerDay : (us - kUsPerDay + 1) / kUsPerDay;
}

std::string errnoName(int err) {
  switch (err) {
    case ENOSPC:
      return "ENOSPC";
    case EIO:
      return "EIO";
    case EDQUOT:
      return "EDQUOT";
    case EROFS:
      return "EROFS";
    case EEXIST:
      return "EEXIST";
    case EACCES:
      return "EACCES";
    default:
      return "errno " + std::to_string(err);
  }
}

Error unavailable(const std::string& what) {
  return makeError("access_log_unavailable", "access log unavailable: " + what);
}

bool callerEvent(AccessEvent e) {
  return static_cast<int>(e) < static_cast<int>(AccessEvent::kKeyRotated);
}

}  // namespace

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

Result<void> AccessLog::init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return unavailable("cannot create " + options_.dir.string() + ": " + ec.message());
  if (options_.key) {
    key_ = *options_.key;
  } else {
    if (options_.key_file.empty()) {
      std::filesystem::path d = options_.dir;
      if (!d.has_filename()) d = d.parent_path();
      options_.key_file = d.parent_path() / "access-log.key";
    }
    auto k = loadOrCreateKeyFile(options_.key_file);
    if (!k) return k.error();
    key_ = *k;
    // Keys retired by rotateKey() stay beside the key file as <key_file>.<key id>.
    const std::string prefix = options_.key_file.filename().string() + ".";
    for (const auto& e : std::filesystem::directory_iterator(options_.key_file.parent_path(), ec)) {
      const std::string n = e.path().filename().string();
      if (n.size() == prefix.size() + 8 && n.compare(0, prefix.size(), prefix) == 0) {
        if (auto old = loadKeyFile(e.path())) keyring_.add(*old);
      }
    }
  }
  keyring_.add(key_);
  for (const auto& k : options_.previous_keys) keyring_.add(k);
  key_id_shared_ = key_.id;

  const auto files = listLogFiles(options_.dir);
  const int64_t t = now();
  if (files.empty()) return createFirstFile(t);
  return openExisting(files, t);
}

Result<void> AccessLog::createFirstFile(int64_t t) {
  const std::string name = logFileName(t, 1);
  const int fd = files_->open((options_.dir / name).string(), kNewFileFlags, 0600);
  if (fd < 0) return unavailable("create " + name + ": " + errnoName(-fd));
  fd_ = fd;
  file_name_ = name;
  file_day_ = dayOf(t);
  working_ = durable_ = ChainState{1, kGenesisMac, 0, 0};
  AccessRecord r;
  r.event = AccessEvent::kLogOpened;
  r.detail = {{"format", 1}};
  if (auto w = writeNow(std::move(r)); !w) return w;
  files_->fsyncDir(options_.dir.string());
  return {};
}

Result<void> AccessLog::openExisting(const std::vector<std::string>& files, int64_t t) {
  std::vector<std::string> names = files;
  std::string torn_file;
  uint64_t torn_bytes = 0;
  std::string side_file;
  std::optional<VerifyFailure> broken;
  std::optional<ChainVerifier> chain;
  FileScan scan;
  for (;;) {
    const std::string& name = names.back();
    const auto path = options_.dir / name;
    auto content = readWholeFile(path);
    if (!content) return unavailable("cannot read " + path.string());
    chain.emplace(keyring_);
    chain->setPresentFiles(std::set<std::string>(names.begin(), names.end()));
    scan = chain->scanFile(name, *content);
    if (scan.failure && scan.tail_only) {
      // Bytes after the last good line can only be a write that was never acknowledged: keep
      // them beside the log and cut them off, so nothing is silently dropped or accepted.
      const std::string torn = content->substr(scan.good_bytes);
      if (!torn.empty()) {
        side_file = name + "." + std::to_string(scan.good_bytes) + ".torn";
        const int sfd =
            files_->open((options_.dir / side_file).string(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int rc = sfd < 0 ? sfd : writeAll(*files_, sfd, torn.data(), torn.size());
        if (rc == 0) rc = files_->fdatasync(sfd);
        if (sfd >= 0) files_->close(sfd);
        if (rc != 0) return unavailable("cannot save torn tail: " + errnoName(-rc));
      }
      torn_file = name;
      torn_bytes += torn.size();
      if (scan.records == 0) {
        // A file created by a rotation whose link record never became durable.
        std::filesystem::remove(path);
        files_->fsyncDir(options_.dir.string());
        names.pop_back();
        if (names.empty()) break;
        continue;
      }
      const int fd = files_->open(path.string(), O_WRONLY | O_APPEND, 0600);
      int rc = fd < 0 ? fd : files_->ftruncate(fd, static_cast<off_t>(scan.good_bytes));
      if (rc == 0) rc = files_->fdatasync(fd);
      if (rc != 0) {
        if (fd >= 0) files_->close(fd);
        return unavailable("cannot truncate torn tail of " + name + ": " + errnoName(-rc));
      }
      fd_ = fd;
    } else if (scan.failure) {
      if (scan.failure->code == "unknown_key") {
        return makeError("access_log_key", "cannot check the log: " + scan.failure->describe());
      }
      if (!options_.restart_broken_chain) {
        return makeError("access_log_corrupt",
                         "refusing to log on a broken chain: " + scan.failure->describe() +
                             " (an operator may start a new chain)");
      }
      broken = scan.failure;
    } else {
      const int fd = files_->open(path.string(), O_WRONLY | O_APPEND, 0600);
      if (fd < 0) return unavailable("open " + name + ": " + errnoName(-fd));
      fd_ = fd;
    }
    break;
  }
  if (names.empty()) {
    // Nothing durable was ever written: start a new log, noting what was set aside.
    if (auto r = createFirstFile(t); !r) return r;
  } else if (scan.records == 0) {
    // restart_broken_chain on a file with no good record: continue from genesis.
    working_ = durable_ = ChainState{parseLogFileName(names.back())->first_seq, kGenesisMac, 0, 0};
  } else {
    auto mac = macFromHex(scan.last->mac);
    MEDRELAY_ASSERT(mac.has_value(), "verified record has a bad mac");
    working_ = durable_ = ChainState{scan.last->seq + 1, *mac, scan.last->time_us, scan.good_bytes};
    file_name_ = names.back();
    file_day_ = dayOf(scan.first->time_us);
  }

  if (broken) {
    if (fd_ >= 0) files_->close(fd_);
    fd_ = -1;
    const int64_t rt = now();
    const std::string name = logFileName(rt, working_.next_seq);
    const int fd = files_->open((options_.dir / name).string(), kNewFileFlags, 0600);
    if (fd < 0) return unavailable("create " + name + ": " + errnoName(-fd));
    fd_ = fd;
    file_name_ = name;
    file_day_ = dayOf(rt);
    working_.file_size = durable_.file_size = 0;
    AccessRecord r;
    r.event = AccessEvent::kChainRestarted;
    r.detail = {
        {"prev_file", broken->file}, {"broken_line", broken->line}, {"error", broken->code}};
    stage(r, rt);
    if (int rc = flush(); rc != 0) return unavailable("write chain_restarted: " + errnoName(-rc));
    files_->fsyncDir(options_.dir.string());
    MR_LOG_ERROR(log::get("audit"), "access log chain broken ({}); new chain started in {}",
                 broken->describe(), name);
  }

  // The newest records were written with an older key: rotate to the configured one.
  if (!broken && scan.records > 0 && chain->currentKeyId() != key_.id) {
    const AccessLogKey* old = keyring_.find(chain->currentKeyId());
    if (old == nullptr) {
      return makeError("access_log_key",
                       "log continues with key " + chain->currentKeyId() + ", which is not given");
    }
    const AccessLogKey current = key_;
    key_ = *old;
    AccessRecord r;
    r.event = AccessEvent::kKeyRotated;
    r.detail = {{"new_key_id", current.id}};
    auto w = writeNow(std::move(r));
    key_ = current;
    if (!w) return w;
  }
  if (torn_bytes > 0) {
    AccessRecord r;
    r.event = AccessEvent::kLogRecovered;
    r.detail = {{"file", torn_file}, {"torn_bytes", torn_bytes}, {"side_file", side_file}};
    if (auto w = writeNow(std::move(r)); !w) return w;
    MR_LOG_WARN(log::get("audit"), "access log: moved a torn tail of {} bytes from {} to {}",
                torn_bytes, torn_file, side_file);
  }
  AccessRecord reopened;
  reopened.event = AccessEvent::kLogReopened;
  if (auto w = writeNow(std::move(reopened)); !w) return w;
  prune(now());
  return {};
}

Result<void> AccessLog::writeNow(AccessRecord record) {
  const int64_t t = now();
  if (rotationDue(t)) {
    if (int rc = rotate(t); rc != 0) return unavailable("rotate: " + errnoName(-rc));
  }
  stage(record, t);
  if (int rc = flush(); rc != 0) return unavailable("write: " + errnoName(-rc));
  return {};
}

int64_t AccessLog::now() {
  return std::max(options_.clock_us(), working_.last_time_us);
}

void AccessLog::stage(AccessRecord& record, int64_t time_us) {
  record.seq = working_.next_seq;
  record.time_us = time_us;
  record.node = options_.node_id;
  record.key_id = key_.id;
  record.prev_mac = toHex(working_.last_mac);
  record.mac.clear();
  const Mac mac = computeMac(key_.bytes, working_.last_mac, canonicalBody(record));
  record.mac = toHex(mac);
  const size_t before = staged_.size();
  staged_ += toLine(record);
  staged_ += '\n';
  ++staged_records_;
  ++working_.next_seq;
  working_.last_mac = mac;
  working_.last_time_us = time_us;
  working_.file_size += staged_.size() - before;
}

int AccessLog::flush() {
  if (staged_.empty()) return 0;
  int rc = writeAll(*files_, fd_, staged_.data(), staged_.size());
  const char* what = "write";
  if (rc == 0) {
    what = "fdatasync";
    const auto start = std::chrono::steady_clock::now();
    rc = files_->fdatasync(fd_);
    if (rc == 0) {
      ++fdatasyncs_;
      if (options_.on_fdatasync) {
        options_.on_fdatasync(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
  }
  const size_t staged_bytes = staged_.size();
  staged_.clear();
  if (rc == 0) {
    bytes_ += staged_bytes;
    records_ += staged_records_;
    staged_records_ = 0;
    durable_ = working_;
    return 0;
  }
  staged_records_ = 0;
  onIoError(what, rc);
  // Roll the chain back to the last durable record and cut off whatever part was written, so
  // failed records never appear in the log.
  working_ = durable_;
  const int trc = files_->ftruncate(fd_, static_cast<off_t>(durable_.file_size));
  need_truncate_ = trc != 0;
  if (trc != 0) {
    ++io_errors_;
    ++write_errors_;
  }
  return rc;
}

bool AccessLog::rotationDue(int64_t time_us) const {
  if (options_.rotate_bytes > 0 && working_.file_size >= options_.rotate_bytes) return true;
  return options_.rotate_daily && dayOf(time_us) != file_day_;
}

int AccessLog::rotate(int64_t time_us) {
  if (int rc = flush(); rc != 0) return rc;
  const std::string name = logFileName(time_us, working_.next_seq);
  const auto path = options_.dir / name;
  const int fd = files_->open(path.string(), kNewFileFlags, 0600);
  if (fd < 0) {
    onIoError("open", fd);
    return fd;
  }
  const int old_fd = fd_;
  const ChainState saved = working_;
  fd_ = fd;
  working_.file_size = durable_.file_size = 0;
  AccessRecord link;
  link.event = AccessEvent::kFileLinked;
  link.detail = {{"prev_file", file_name_}};
  stage(link, time_us);
  int rc = flush();
  if (rc == 0) {
    rc = files_->fsyncDir(options_.dir.string());
    if (rc != 0) onIoError("fsync dir", rc);
  }
  if (rc != 0) {
    files_->close(fd);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    fd_ = old_fd;
    working_ = durable_ = saved;
    need_truncate_ = false;
    return rc;
  }
  files_->close(old_fd);
  file_name_ = name;
  file_day_ = dayOf(time_us);
  return 0;
}

void AccessLog::prune(int64_t time_us) {
  if (options_.retention_days <= 0) return;
  const auto names = listLogFiles(options_.dir);
  const int64_t cutoff = time_us - options_.retention_days * kUsPerDay;
  std::vector<std::string> victims;
  // A file's records end when the next file begins; only a prefix of old files is removed.
  for (size_t i = 0; i + 1 < names.size() && names[i] != file_name_; ++i) {
    auto next = parseLogFileName(names[i + 1]);
    if (!next || next->time_us >= cutoff) break;
    victims.push_back(names[i]);
  }
  if (victims.empty()) return;
  AccessRecord r;
  r.event = AccessEvent::kFilesPruned;
  r.detail = {{"files", victims}, {"retention_days", options_.retention_days}};
  stage(r, time_us);
  if (flush() != 0) return;  // not recorded: keep the files
  std::error_code ec;
  for (const auto& v : victims) std::filesystem::remove(options_.dir / v, ec);
  files_->fsyncDir(options_.dir.string());
}

void AccessLog::onIoError(const char* what, int err) {
  ++io_errors_;
  const std::string_view call = what;
  if (call == "fdatasync") {
    ++fsync_errors_;
  } else if (call == "open") {
    ++open_errors_;
  } else if (call == "fsync dir") {
    ++rotate_errors_;
  } else {
    ++write_errors_;  // write, ftruncate
  }
  last_errno_ = -err;
  unhealthy_ = true;
  const auto t = std::chrono::steady_clock::now();
  next_retry_ = t + options_.retry_interval;
  if (t - last_error_log_ >= kErrorLogInterval) {
    MR_LOG_ERROR(log::get("audit"), "access log {} failed: {} ({} similar errors not logged)", what,
                 std::strerror(-err), suppressed_error_logs_);
    last_error_log_ = t;
    suppressed_error_logs_ = 0;
  } else {
    ++suppressed_error_logs_;
  }
}

void AccessLog::tryRecover() {
  next_retry_ = std::chrono::steady_clock::now() + options_.retry_interval;
  if (need_truncate_) {
    if (int rc = files_->ftruncate(fd_, static_cast<off_t>(durable_.file_size)); rc != 0) {
      onIoError("ftruncate", rc);
      return;
    }
    need_truncate_ = false;
  }
  AccessRecord r;
  r.event = AccessEvent::kIoRecovered;
  r.detail = {{"failed_appends", failed_since_healthy_}, {"error", errnoName(last_errno_)}};
  const int64_t t = now();
  if (rotationDue(t) && rotate(t) != 0) return;
  stage(r, t);
  if (flush() != 0) return;
  unhealthy_ = false;
  MR_LOG_INFO(log::get("audit"), "access log writable again after {} failed appends",
              failed_since_healthy_);
  failed_since_healthy_ = 0;
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

std::string AccessLog::currentKeyId() const {
  std::lock_guard lock(mutex_);
  return key_id_shared_;
}

}  // namespace medrelay::control
