#include <fcntl.h>

#include <cstring>

#include "common/logging.h"
#include "control/access_log.h"

// The file chain of the access log (docs/access-log.md): records staged with their sequence
// number and MAC, written and fdatasync'ed together (rolled back on failure), file rotation with
// a link record, pruning by retention, and I/O error accounting and recovery.

namespace medrelay::control {
namespace {

constexpr auto kErrorLogInterval = std::chrono::seconds(10);

}  // namespace

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
    durableSeq_ = durable_.next_seq - 1;
    {
      std::lock_guard lock(head_mutex_);
      durable_head_ = {durable_.next_seq - 1, toHex(durable_.last_mac), durable_.last_time_us};
    }
    if (options_.on_durable) options_.on_durable(durable_.next_seq - 1);
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
  return options_.rotate_daily && utcDayOf(time_us) != file_day_;
}

int AccessLog::rotate(int64_t time_us) {
  if (int rc = flush(); rc != 0) return rc;
  const std::string name = logFileName(time_us, working_.next_seq);
  const auto path = options_.dir / name;
  const int fd = files_->open(path.string(), kNewLogFileFlags, 0600);
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
  file_day_ = utcDayOf(time_us);
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

}  // namespace medrelay::control
