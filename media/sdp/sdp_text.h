#pragma once

// Small text helpers shared by the SDP parser, writer and negotiator.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace medrelay::media::sdp::text {

// Splits on runs of spaces and tabs; no empty tokens.
std::vector<std::string_view> splitWhitespace(std::string_view s);
inline std::string_view trim(std::string_view s) {
  return trimBlanks(s);
}
using medrelay::iequals;
std::string toLower(std::string_view s);

// Decimal unsigned integer that must fill the whole string and be <= max.
template <typename T>
std::optional<T> parseUnsigned(std::string_view s, T max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > static_cast<uint64_t>(max)) {
    return std::nullopt;
  }
  return static_cast<T>(v);
}

}  // namespace medrelay::media::sdp::text
