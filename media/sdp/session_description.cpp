#include "media/sdp/session_description.h"

#include <set>

namespace medrelay::media::sdp {

const char* toString(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendRecv:
      return "sendrecv";
    case MediaDirection::kSendOnly:
      return "sendonly";
    case MediaDirection::kRecvOnly:
      return "recvonly";
    case MediaDirection::kInactive:
      return "inactive";
  }
  return "inactive";
}

const char* toString(Setup s) {
  switch (s) {
    case Setup::kActpass:
      return "actpass";
    case Setup::kActive:
      return "active";
    case Setup::kPassive:
      return "passive";
    case Setup::kHoldconn:
      return "holdconn";
    case Setup::kNone:
      break;
  }
  return "";
}

MediaDirection reverse(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendOnly:
      return MediaDirection::kRecvOnly;
    case MediaDirection::kRecvOnly:
      return MediaDirection::kSendOnly;
    default:
      return d;
  }
}

std::optional<std::string> Fmtp::get(const std::string& key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return std::nullopt;
}

const RtpMap* MediaSection::rtpMap(int pt) const {
  for (const auto& r : rtpMaps) {
    if (r.payloadType == pt) return &r;
  }
  return nullptr;
}

const Fmtp* MediaSection::fmtp(int pt) const {
  for (const auto& f : fmtps) {
    if (f.payloadType == pt) return &f;
  }
  return nullptr;
}

std::vector<uint32_t> MediaSection::ssrcs() const {
  std::vector<uint32_t> out;
  std::set<uint32_t> seen;
  for (const auto& a : ssrcAttrs) {
    if (seen.insert(a.ssrc).second) out.push_back(a.ssrc);
  }
  return out;
}

const Group* SessionDescription::bundleGroup() const {
  for (const auto& g : groups) {
    if (g.semantics == "BUNDLE") return &g;
  }
  return nullptr;
}

}  // namespace medrelay::media::sdp
