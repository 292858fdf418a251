// Fuzzes the SDP parser, the ICE-lite answer negotiation and the answer writer: any input must
// give a Result (never a crash), and an accepted answer must parse back with our parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/sdp/negotiator.h"
#include "media/sdp/sdp_parser.h"

using namespace medrelay::media::sdp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = parseSdp(text);
  if (!offer) return 0;
  LocalTransport local;
  local.iceUfrag = "fuzz";
  local.icePwd = "fuzzpasswordfuzzpassword";
  local.fingerprint.algorithm = "sha-256";
  for (int i = 0; i < 32; ++i) {
    local.fingerprint.bytes.push_back(0xab);
    local.fingerprint.value += i ? ":AB" : "AB";
  }
  local.candidates = {{LocalCandidate::Transport::kUdp, "127.0.0.1", 9000},
                      {LocalCandidate::Transport::kTcpPassive, "127.0.0.1", 9001}};
  Capabilities caps;
  // Vary capabilities from the input so every branch is reachable.
  uint8_t flags = size ? data[size - 1] : 0;
  caps.dataChannels = flags & 1;
  caps.ridExtensions = flags & 2;
  if (flags & 4) caps.videoCodecs = {Codec::kH264, Codec::kVp9, Codec::kVp8};
  std::vector<SendTrack> tracks;
  if (flags & 8) {
    tracks = {{MediaKind::kAudio, 1, 0, "c", "s", "a"}, {MediaKind::kVideo, 2, 3, "c", "s", "v"}};
  }
  auto answer = negotiateAnswer(offer.value(), caps, local, tracks);
  if (!answer) return 0;
  auto back = parseSdp(answer->sdp);
  if (!back || !back->iceLite || back->media.size() != offer->media.size()) std::abort();
  return 0;
}
