#include <fcntl.h>

#include <set>

#include "common/assert.h"
#include "common/logging.h"
#include "control/access_log.h"
#include "control/access_log_verify.h"

// Opening the access log (docs/access-log.md): the key, the newest file's chain checked, a torn
// tail set aside, a broken chain refused or restarted, the opening records written.

namespace medrelay::control {

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
  const int fd = files_->open((options_.dir / name).string(), kNewLogFileFlags, 0600);
  if (fd < 0) return unavailable("create " + name + ": " + errnoName(-fd));
  fd_ = fd;
  file_name_ = name;
  file_day_ = utcDayOf(t);
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
    file_day_ = utcDayOf(scan.first->time_us);
  }

  if (broken) {
    if (fd_ >= 0) files_->close(fd_);
    fd_ = -1;
    const int64_t rt = now();
    const std::string name = logFileName(rt, working_.next_seq);
    const int fd = files_->open((options_.dir / name).string(), kNewLogFileFlags, 0600);
    if (fd < 0) return unavailable("create " + name + ": " + errnoName(-fd));
    fd_ = fd;
    file_name_ = name;
    file_day_ = utcDayOf(rt);
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

}  // namespace medrelay::control
