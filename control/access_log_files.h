#pragma once

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
