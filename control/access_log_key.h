#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace medrelay::control {

inline constexpr size_t kAccessLogKeyBytes = 32;

// An HMAC key for the access log and its id: the first 8 hex digits of SHA-256(key).
struct AccessLogKey {
  std::array<uint8_t, kAccessLogKeyBytes> bytes{};
  std::string id;

  static AccessLogKey fromBytes(const std::array<uint8_t, kAccessLogKeyBytes>& bytes);
  static AccessLogKey generate();  // RAND_bytes
};

// Reads a key file: exactly 32 raw bytes, or 64 hex digits (optionally newline-terminated).
Result<AccessLogKey> loadKeyFile(const std::filesystem::path& path);
// Loads the key file, or creates it with a fresh random key (mode 0600, written then renamed).
Result<AccessLogKey> loadOrCreateKeyFile(const std::filesystem::path& path);
// Writes a key file atomically (mode 0600, fsync'ed) as 64 hex digits and a newline.
Result<void> writeKeyFile(const std::filesystem::path& path, const AccessLogKey& key);

// The keys a verifier (or the writer at open) may meet in a log, by key id.
class AccessLogKeyring {
 public:
  void add(const AccessLogKey& key);
  const AccessLogKey* find(std::string_view id) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

 private:
  std::vector<AccessLogKey> keys_;
};

}  // namespace medrelay::control
