#include "control/access_log_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/assert.h"
#include "control/access_log_record.h"

namespace medrelay::control {

AccessLogKey AccessLogKey::fromBytes(const std::array<uint8_t, kAccessLogKeyBytes>& bytes) {
  AccessLogKey key;
  key.bytes = bytes;
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(bytes.data(), bytes.size(), digest.data());
  key.id = toHex(std::span<const uint8_t>(digest.data(), 4));
  return key;
}

AccessLogKey AccessLogKey::generate() {
  std::array<uint8_t, kAccessLogKeyBytes> bytes{};
  MEDRELAY_ASSERT(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1, "RAND_bytes");
  return fromBytes(bytes);
}

Result<AccessLogKey> loadKeyFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("access_log_key", "cannot read key file " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  std::array<uint8_t, kAccessLogKeyBytes> bytes{};
  if (data.size() == kAccessLogKeyBytes) {
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return AccessLogKey::fromBytes(bytes);
  }
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
  for (char& c : data) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto hex = macFromHex(data);  // same shape: 32 bytes as 64 hex digits
  if (!hex) {
    return makeError("access_log_key",
                     "key file " + path.string() + " is neither 32 raw bytes nor 64 hex digits");
  }
  std::memcpy(bytes.data(), hex->data(), bytes.size());
  return AccessLogKey::fromBytes(bytes);
}

Result<void> writeKeyFile(const std::filesystem::path& path, const AccessLogKey& key) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return makeError("access_log_key", "create " + tmp + ": " + std::strerror(errno));
  const std::string text = toHex(key.bytes) + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return makeError("access_log_key", "write " + path.string() + ": " + std::strerror(err));
  }
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<AccessLogKey> loadOrCreateKeyFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return loadKeyFile(path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  AccessLogKey key = AccessLogKey::generate();
  if (auto r = writeKeyFile(path, key); !r) return r.error();
  return key;
}

void AccessLogKeyring::add(const AccessLogKey& key) {
  if (find(key.id) == nullptr) keys_.push_back(key);
}

const AccessLogKey* AccessLogKeyring::find(std::string_view id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

}  // namespace medrelay::control
