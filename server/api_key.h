#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace medrelay::server {

// The accepted API keys, held only as SHA-256 hashes (api.keys_sha256). A presented key is
// hashed and compared against every hash in constant time, so neither timing nor the position of
// the matching entry leaks.
class ApiKeySet {
 public:
  // Hex SHA-256 strings (either case). Error code "bad_hash" names the offending entry by index.
  static Result<ApiKeySet> fromHexHashes(const std::vector<std::string>& hex_hashes);

  bool verify(std::string_view presented_key) const;
  size_t size() const { return hashes_.size(); }

 private:
  std::vector<std::array<unsigned char, 32>> hashes_;
};

// Lowercase hex SHA-256 of data.
std::string sha256Hex(std::string_view data);

// 256 random bits from OpenSSL's CSPRNG, base64url without padding (43 characters).
std::string generateSecret();

// A new API key: "mrk_" + generateSecret(). The prefix lets secret scanners recognise it.
std::string generateApiKey();

}  // namespace medrelay::server
