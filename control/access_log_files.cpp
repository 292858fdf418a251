#include "control/access_log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "control/access_log_record.h"

namespace medrelay::control {
namespace {

class PosixFileLayer final : public AccessLogFileLayer {
 public:
  int open(const std::string& path, int flags, int mode) override {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
  }
  ssize_t write(int fd, const char* data, size_t len) override {
    const ssize_t n = ::write(fd, data, len);
    return n >= 0 ? n : -errno;
  }
  int fdatasync(int fd) override { return ::fdatasync(fd) == 0 ? 0 : -errno; }
  int ftruncate(int fd, off_t length) override { return ::ftruncate(fd, length) == 0 ? 0 : -errno; }
  int close(int fd) override { return ::close(fd) == 0 ? 0 : -errno; }
  int rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
  }
  int fsyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    const int rc = ::fsync(fd) == 0 ? 0 : -errno;
    ::close(fd);
    return rc;
  }
};

}  // namespace

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

std::shared_ptr<AccessLogFileLayer> posixFileLayer() {
  static auto layer = std::make_shared<PosixFileLayer>();
  return layer;
}

int writeAll(AccessLogFileLayer& files, int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t n = files.write(fd, data, len);
    if (n == -EINTR) continue;
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return -EIO;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

std::string logFileName(int64_t first_time_us, uint64_t first_seq) {
  const std::string t = formatTime(first_time_us);  // 2026-11-21T10:00:00.123456Z
  char buf[96];
  std::snprintf(buf, sizeof buf, "access-%.4s%.2s%.2s-%.2s%.2s%.2s-%020llu.jsonl", t.c_str(),
                t.c_str() + 5, t.c_str() + 8, t.c_str() + 11, t.c_str() + 14, t.c_str() + 17,
                static_cast<unsigned long long>(first_seq));
  return buf;
}

std::optional<LogFileName> parseLogFileName(const std::string& name) {
  // access-YYYYMMDD-HHMMSS-NNNNNNNNNNNNNNNNNNNN.jsonl
  constexpr size_t kLen = 7 + 8 + 1 + 6 + 1 + 20 + 6;
  if (name.size() != kLen || name.compare(0, 7, "access-") != 0 || name[15] != '-' ||
      name[22] != '-' || name.compare(43, 6, ".jsonl") != 0) {
    return std::nullopt;
  }
  const std::string iso = name.substr(7, 4) + "-" + name.substr(11, 2) + "-" + name.substr(13, 2) +
                          "T" + name.substr(16, 2) + ":" + name.substr(18, 2) + ":" +
                          name.substr(20, 2) + "Z";
  auto t = parseTimeLoose(iso);
  if (!t) return std::nullopt;
  LogFileName out;
  out.time_us = *t;
  for (size_t i = 23; i < 43; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    out.first_seq = out.first_seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return out;
}

std::vector<std::string> listLogFiles(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file(ec) && parseLogFileName(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> readWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace medrelay::control
