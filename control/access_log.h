#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "control/access_log_files.h"
#include "control/access_log_key.h"
#include "control/access_log_record.h"
#include "control/chain_head.h"

namespace medrelay::net {
class Dispatcher;
}

namespace medrelay::control {

struct AccessLogOptions {
  std::filesystem::path dir;
  std::string node_id;
  // The HMAC key: given directly, or read from key_file (default <dir>/../access-log.key),
  // created with a random key on first use.
  std::optional<AccessLogKey> key;
  std::filesystem::path key_file;
  // Older keys, needed at open when the newest records were written with one of them.
  std::vector<AccessLogKey> previous_keys;
  uint64_t rotate_bytes = 64ull << 20;  // a file is closed once it reaches this size
  bool rotate_daily = true;             // a new file at each UTC day
  int retention_days = 0;               // 0 keeps every file
  // At open, a broken chain is an error unless this is set: then a new file begins with a
  // chain_restarted record linking the last good MAC.
  bool restart_broken_chain = false;
  std::chrono::milliseconds retry_interval{1000};  // writer retries after an I/O error
  std::function<int64_t()> clock_us;               // UTC µs; default system_clock
  std::shared_ptr<AccessLogFileLayer> files;       // default posixFileLayer()
  // Metrics hooks, both optional. on_append runs on the appending thread for every record a
  // caller queues (valid ones only); on_fdatasync on the writer thread after every successful
  // fdatasync of a log file, with its duration. Both must be cheap and thread-safe.
  std::function<void(const AccessRecord&)> on_append;
  std::function<void(double seconds)> on_fdatasync;
  // Optional: runs on the writer thread after records up to `seq` became durable (webhooks pick
  // them up from the files). Must be cheap and thread-safe.
  std::function<void(uint64_t seq)> on_durable;
};

struct AccessLogStats {
  uint64_t records = 0;     // records made durable (including the log's own)
  uint64_t fdatasyncs = 0;  // successful fdatasync calls on log files
  uint64_t io_errors = 0;   // failed write/fdatasync/open/truncate calls
  uint64_t failed_appends = 0;
  uint64_t bytes = 0;  // bytes of durable records (lines with their newline)
  // io_errors by the call that failed.
  uint64_t write_errors = 0;   // write, ftruncate
  uint64_t fsync_errors = 0;   // fdatasync
  uint64_t open_errors = 0;    // open of a new file
  uint64_t rotate_errors = 0;  // fsync of the directory after a rotation
};

// The tamper-evident access log writer (docs/access-log.md). One writer thread does every write,
// assigns sequence numbers and MACs in order and group-commits: all records queued since the
// last fdatasync share the next one. Callers are told a record is durable only after that.
class AccessLog {
 private:
  struct Tag {};

 public:
  using DurableCallback = std::function<void(Result<uint64_t>)>;

  // Use open(); the tag keeps construction inside the class.
  AccessLog(Tag tag, AccessLogOptions options, net::Dispatcher* completions);

  // Opens (or creates) the log: checks the newest file, recovers a torn tail, writes
  // log_reopened, prunes. `completions` is where append() callbacks run (may be null if only
  // appendSync is used). Errors: access_log_corrupt, access_log_key, access_log_unavailable.
  static Result<std::unique_ptr<AccessLog>> open(AccessLogOptions options,
                                                 net::Dispatcher* completions);
  ~AccessLog();  // writes what is queued, then stops the writer thread
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Never blocks on I/O: queues the record; onDurable runs on the completions dispatcher with the
  // record's sequence number once it is on stable storage, or an Error (access_log_unavailable,
  // invalid_record). Callers' seq/time/node/key/mac fields are ignored.
  void append(AccessRecord record, DurableCallback on_durable);
  // Blocks until durable (tools, tests, shutdown paths).
  Result<uint64_t> appendSync(AccessRecord record);
  // Writes key_rotated (MAC'd with the current key, naming new_key's id); later records use
  // new_key. When the key came from key_file, the new key is written there first and the old
  // one kept as <key_file>.<old id>.
  Result<uint64_t> rotateKey(const AccessLogKey& new_key);

  // True while writes fail; the server refuses new joins meanwhile (503).
  bool unhealthy() const { return unhealthy_.load(); }
  // The sequence number of the last record on stable storage: a record appended after this call
  // gets a larger one (the store keeps it with a pending record, docs/access-log.md).
  uint64_t durableSeq() const { return durableSeq_.load(); }
  // The last record on stable storage (seq, MAC, time): the anchor exported with every batch.
  ChainHead durableHead() const;
  AccessLogStats stats() const;
  const std::filesystem::path& dir() const { return options_.dir; }
  std::string currentKeyId() const;

 private:
  struct Entry {
    AccessRecord record;
    DurableCallback on_durable;
    std::promise<Result<uint64_t>>* sync = nullptr;
    std::optional<AccessLogKey> new_key;
  };
  struct ChainState {
    uint64_t next_seq = 1;
    Mac last_mac{};
    int64_t last_time_us = 0;
    uint64_t file_size = 0;
  };

  // An access_log_unavailable Error.
  static Error unavailable(const std::string& what);

  // Opening (access_log_open.cpp).
  Result<void> init();
  Result<void> createFirstFile(int64_t now);
  Result<void> openExisting(const std::vector<std::string>& files, int64_t now);

  // The writer thread (access_log.cpp).
  void run();
  void processBatch(std::deque<Entry>& batch);
  void deliver(std::deque<Entry>& batch, std::vector<Result<uint64_t>>& results);
  Result<void> persistNewKey(const AccessLogKey& new_key);

  // The file chain (access_log_chain.cpp).
  Result<void> writeNow(AccessRecord record);  // build + flush one record (open time, writer)
  int64_t now();
  // Builds a record's line on the working chain state and queues it for the next flush.
  void stage(AccessRecord& record, int64_t time_us);
  int flush();  // writes and fdatasyncs staged lines; 0 or -errno (state rolled back)
  bool rotationDue(int64_t time_us) const;
  int rotate(int64_t time_us);
  void prune(int64_t time_us);
  void tryRecover();
  void onIoError(const char* what, int err);

  AccessLogOptions options_;
  net::Dispatcher* completions_;
  std::shared_ptr<AccessLogFileLayer> files_;
  AccessLogKeyring keyring_;

  // Writer-thread state (the opening thread's until the writer starts).
  AccessLogKey key_;
  int fd_ = -1;
  std::string file_name_;
  int64_t file_day_ = 0;
  ChainState durable_;
  ChainState working_;
  std::string staged_;
  size_t staged_records_ = 0;
  bool need_truncate_ = false;
  int last_errno_ = 0;
  uint64_t failed_since_healthy_ = 0;
  std::chrono::steady_clock::time_point next_retry_{};
  std::chrono::steady_clock::time_point last_error_log_{};
  uint64_t suppressed_error_logs_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  bool stopping_ = false;
  std::string key_id_shared_;  // guarded by mutex_
  std::thread thread_;

  mutable std::mutex head_mutex_;
  ChainHead durable_head_;  // guarded by head_mutex_

  std::atomic<bool> unhealthy_{false};
  std::atomic<uint64_t> durableSeq_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> fdatasyncs_{0};
  std::atomic<uint64_t> io_errors_{0};
  std::atomic<uint64_t> failed_appends_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> fsync_errors_{0};
  std::atomic<uint64_t> open_errors_{0};
  std::atomic<uint64_t> rotate_errors_{0};
};

}  // namespace medrelay::control
