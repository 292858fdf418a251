#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace medrelay::control {

// The few file operations the access-log writer performs. An interface only so that tests can
// inject ENOSPC/EIO and count fdatasync calls; production uses posixFileLayer().
// Every call returns >= 0 on success or -errno.
class AccessLogFileLayer {
 public:
  virtual ~AccessLogFileLayer() = default;
  virtual int open(const std::string& path, int flags, int mode) = 0;
  virtual ssize_t write(int fd, const char* data, size_t len) = 0;
  virtual int fdatasync(int fd) = 0;
  virtual int ftruncate(int fd, off_t length) = 0;
  virtual int close(int fd) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int fsyncDir(const std::string& dir) = 0;
};

std::shared_ptr<AccessLogFileLayer> posixFileLayer();

// A new log file: never one that exists, appended to only.
inline constexpr int kNewLogFileFlags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND;
inline constexpr int64_t kUsPerDay = int64_t{86400} * 1000000;

// The UTC day number of a time in µs since the epoch (rounding down before 1970 too).
inline int64_t utcDayOf(int64_t us) {
  return us >= 0 ? us / kUsPerDay : (us - kUsPerDay + 1) / kUsPerDay;
}

// "ENOSPC", "EIO", ... for the errors a log disk produces; "errno N" for others.
std::string errnoName(int err);

// Writes all of data (retrying short writes); 0 or -errno.
int writeAll(AccessLogFileLayer& files, int fd, const char* data, size_t len);

// access-YYYYMMDD-HHMMSS-<first seq, 20 digits>.jsonl: names sort in chain order.
std::string logFileName(int64_t first_time_us, uint64_t first_seq);
struct LogFileName {
  int64_t time_us = 0;
  uint64_t first_seq = 0;
};
std::optional<LogFileName> parseLogFileName(const std::string& name);
// Log file names (not paths) in dir, sorted; other files (.torn, keys) are ignored.
std::vector<std::string> listLogFiles(const std::filesystem::path& dir);
std::optional<std::string> readWholeFile(const std::filesystem::path& path);

}  // namespace medrelay::control
