#pragma once

// Loads the RFC 5769 test vectors (sample STUN requests and responses, RFC 5769 §2) from
// testdata/rfc5769.txt under MEDRELAY_SHARED_DIR (tests/CMakeLists.txt): a "[2.1]" line names
// the section, the lines after it are that message in hex.

#include <cctype>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace medrelay::test {

inline std::map<std::string, std::vector<uint8_t>> loadRfc5769() {
  std::map<std::string, std::vector<uint8_t>> out;
  std::istringstream in(readFile(sharedDir() + "/testdata/rfc5769.txt"));
  std::string line;
  std::string cur;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      cur = line.substr(1, line.find(']') - 1);
      continue;
    }
    std::istringstream words(line);
    std::string hex;
    while (words >> hex) out[cur].push_back(static_cast<uint8_t>(std::stoul(hex, nullptr, 16)));
  }
  return out;
}

// Hex digits to bytes; whitespace ignored.
inline std::vector<uint8_t> fromHex(const std::string& hex) {
  std::string digits;
  for (const char c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace medrelay::test
