#include "media/sdp/h264_profile.h"

#include <array>

namespace medrelay::media::sdp {
namespace {

// profile_idc, then the profile-iop bits that must be 1 and must be 0 (the rest are free).
struct ProfilePattern {
  uint8_t profileIdc;
  uint8_t mustSet;
  uint8_t mustClear;
  H264Profile profile;
};

// H.264 Annex A.2 constraint flags: constraint_set0..5 are bits 7..2 of profile-iop.
constexpr std::array<ProfilePattern, 8> kPatterns{{
    {0x42, 0x40, 0x0f, H264Profile::kConstrainedBaseline},  // x1xx0000
    {0x4d, 0x80, 0x0f, H264Profile::kConstrainedBaseline},  // 1xxx0000
    {0x58, 0xc0, 0x0f, H264Profile::kConstrainedBaseline},  // 11xx0000
    {0x42, 0x00, 0x4f, H264Profile::kBaseline},             // x0xx0000
    {0x58, 0x80, 0x4f, H264Profile::kBaseline},             // 10xx0000
    {0x4d, 0x00, 0xaf, H264Profile::kMain},                 // 0x0x0000
    {0x64, 0x00, 0xff, H264Profile::kHigh},                 // 00000000
    {0x64, 0x0c, 0xf3, H264Profile::kConstrainedHigh},      // 00001100
}};

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<H264ProfileLevelId> parseH264ProfileLevelId(std::string_view hex) {
  if (hex.size() != 6) return std::nullopt;
  uint8_t bytes[3];
  for (int i = 0; i < 3; ++i) {
    int hi = hexDigit(hex[2 * i]);
    int lo = hexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  H264ProfileLevelId id;
  id.profileIdc = bytes[0];
  id.profileIop = bytes[1];
  id.levelIdc = bytes[2];
  if (id.levelIdc == 0) return std::nullopt;
  bool matched = false;
  if (id.profileIdc == 0xf4 && id.profileIop == 0) {
    id.profile = H264Profile::kPredictiveHigh444;
    matched = true;
  }
  for (const auto& p : kPatterns) {
    if (matched) break;
    if (p.profileIdc == id.profileIdc && (id.profileIop & p.mustSet) == p.mustSet &&
        (id.profileIop & p.mustClear) == 0) {
      id.profile = p.profile;
      matched = true;
    }
  }
  if (!matched) return std::nullopt;
  // H.264 A.3.1: level_idc 11 with constraint_set3 in Baseline/Main/Extended is level 1b.
  bool lowProfile = id.profileIdc == 0x42 || id.profileIdc == 0x4d || id.profileIdc == 0x58;
  id.level1b = lowProfile && id.levelIdc == 11 && (id.profileIop & 0x10);
  return id;
}

std::string H264ProfileLevelId::toString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : {profileIdc, profileIop, levelIdc}) {
    s += kHex[b >> 4];
    s += kHex[b & 0xf];
  }
  return s;
}

const char* toString(H264Profile p) {
  switch (p) {
    case H264Profile::kConstrainedBaseline:
      return "constrained-baseline";
    case H264Profile::kBaseline:
      return "baseline";
    case H264Profile::kMain:
      return "main";
    case H264Profile::kConstrainedHigh:
      return "constrained-high";
    case H264Profile::kHigh:
      return "high";
    case H264Profile::kPredictiveHigh444:
      return "predictive-high-444";
  }
  return "unknown";
}

}  // namespace medrelay::media::sdp
