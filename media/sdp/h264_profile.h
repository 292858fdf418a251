#pragma once

// H.264 profile-level-id (RFC 6184 §8.1): profile_idc, profile-iop and level_idc as 6 hex digits.
// The profile is derived from profile_idc plus the constraint flags in profile-iop (H.264 A.2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medrelay::media::sdp {

enum class H264Profile {
  kConstrainedBaseline,
  kBaseline,
  kMain,
  kConstrainedHigh,
  kHigh,
  kPredictiveHigh444,
};

struct H264ProfileLevelId {
  H264Profile profile = H264Profile::kBaseline;
  uint8_t profileIdc = 0x42;
  uint8_t profileIop = 0x00;
  uint8_t levelIdc = 0x0a;
  bool level1b = false;  // level_idc 11 with constraint_set3 in Baseline/Main/Extended: level 1b

  // Ordering value for levels: 1b sorts between 1.0 and 1.1.
  int levelRank() const { return level1b ? 10 * 10 + 5 : levelIdc * 10; }
  std::string toString() const;  // 6 lower-case hex digits
};

// nullopt for malformed ids and profiles we do not classify. An absent profile-level-id means
// 42000a (Baseline, level 1), RFC 6184 §8.1.
std::optional<H264ProfileLevelId> parseH264ProfileLevelId(std::string_view hex);
const char* toString(H264Profile p);

}  // namespace medrelay::media::sdp
