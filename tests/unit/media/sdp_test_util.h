#pragma once

// Helpers shared by the SDP unit tests: captured offers and small text edits on them.

#include <string>
#include <string_view>
#include <vector>

#include "media/sdp/negotiator.h"
#include "tests/support/test_support.h"

namespace medrelay::media::sdp::testing {

inline std::string capturedOffer(const std::string& name) {
  return test::readFile(test::sourceDir() + "/tests/data/sdp/" + name);
}

inline const std::vector<std::string>& capturedOfferNames() {
  static const std::vector<std::string> kNames = {
      "aiortc_publish.sdp",           "aiortc_subscribe.sdp",
      "chromium_publish.sdp",         "chromium_publish_simulcast.sdp",
      "chromium_subscribe.sdp",       "chromium_subscribe_mdns.sdp",
      "gstreamer_publish.sdp",        "gstreamer_publish_gathered.sdp",
      "node_datachannel_publish.sdp", "node_datachannel_datachannel.sdp"};
  return kNames;
}

// Removes every line that starts with prefix.
inline std::string withoutLines(const std::string& sdp, std::string_view prefix) {
  std::string out;
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t end = sdp.find('\n', pos);
    end = end == std::string::npos ? sdp.size() : end + 1;
    std::string_view line(sdp.data() + pos, end - pos);
    if (!line.starts_with(prefix)) out.append(line);
    pos = end;
  }
  return out;
}

inline std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

inline LocalTransport testTransport() {
  LocalTransport t;
  t.iceUfrag = "srvU";
  t.icePwd = "serverpassword0123456789";
  t.fingerprint.algorithm = "sha-256";
  for (int i = 0; i < 32; ++i) {
    t.fingerprint.bytes.push_back(static_cast<uint8_t>(0xA0 + i % 16));
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (i) t.fingerprint.value += ':';
    t.fingerprint.value += kHex[t.fingerprint.bytes.back() >> 4];
    t.fingerprint.value += kHex[t.fingerprint.bytes.back() & 0xf];
  }
  t.candidates = {{LocalCandidate::Transport::kUdp, "127.0.0.1", 50000},
                  {LocalCandidate::Transport::kTcpPassive, "127.0.0.1", 50001}};
  t.sessionId = 77;
  return t;
}

inline std::vector<SendTrack> testTracks() {
  return {{MediaKind::kAudio, 1001, 0, "srv-cname", "srv-stream", "srv-audio"},
          {MediaKind::kVideo, 2001, 2002, "srv-cname", "srv-stream", "srv-video"}};
}

}  // namespace medrelay::media::sdp::testing
