#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "control/access_log.h"
#include "control/access_log_files.h"
#include "control/access_log_key.h"
#include "control/access_log_record.h"

namespace medrelay::control::testutil {

inline AccessLogKey fixedKey(uint8_t seed) {
  std::array<uint8_t, kAccessLogKeyBytes> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(seed + i);
  return AccessLogKey::fromBytes(bytes);
}

// The real POSIX calls, counted, with errors injected on demand (ENOSPC, EIO).
class FaultyFiles final : public AccessLogFileLayer {
 public:
  std::atomic<int> write_errno{0};  // when non-zero, write() fails with it
  std::atomic<int> sync_errno{0};   // when non-zero, fdatasync() fails with it
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<int> sync_delay_us{0};  // makes fdatasync slow, as on a real disk

  int open(const std::string& path, int flags, int mode) override {
    return real_->open(path, flags, mode);
  }
  ssize_t write(int fd, const char* data, size_t len) override {
    ++writes;
    if (const int e = write_errno.load(); e != 0) {
      // A partial write first, as a filling disk does, then the error.
      if (len > 1 && !partial_done_.exchange(true)) return real_->write(fd, data, len / 2);
      return -e;
    }
    partial_done_ = false;
    return real_->write(fd, data, len);
  }
  int fdatasync(int fd) override {
    if (const int e = sync_errno.load(); e != 0) return -e;
    ++syncs;
    if (const int d = sync_delay_us.load(); d > 0) usleep(static_cast<useconds_t>(d));
    return real_->fdatasync(fd);
  }
  int ftruncate(int fd, off_t length) override { return real_->ftruncate(fd, length); }
  int close(int fd) override { return real_->close(fd); }
  int rename(const std::string& from, const std::string& to) override {
    return real_->rename(from, to);
  }
  int fsyncDir(const std::string& dir) override { return real_->fsyncDir(dir); }

 private:
  std::shared_ptr<AccessLogFileLayer> real_ = posixFileLayer();
  std::atomic<bool> partial_done_{false};
};

inline AccessRecord joinRecord(const std::string& room, int n) {
  AccessRecord r;
  r.event = AccessEvent::kParticipantJoined;
  r.room = room;
  r.invite = "inv-" + std::to_string(n);
  r.role = "patient";
  r.subject = "subj-" + std::to_string(n);
  r.session = "sess-" + std::to_string(n);
  r.remote = "192.0.2.1:" + std::to_string(40000 + n);
  r.transport = "udp";
  return r;
}

inline std::vector<std::string> lines(const std::string& content) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) nl = content.size();
    out.push_back(content.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

inline std::string joinLines(const std::vector<std::string>& ls) {
  std::string out;
  for (const auto& l : ls) out += l + "\n";
  return out;
}

}  // namespace medrelay::control::testutil
