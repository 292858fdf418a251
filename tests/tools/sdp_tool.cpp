// medrelay_sdp_tool: reads an SDP offer on stdin and prints our ICE-lite answer on stdout, with
// dummy ICE/DTLS parameters. Used by the e2e tests that hand our answers to real WebRTC stacks.
//   medrelay_sdp_tool [--send] [--datachannels] [--vp9] [--summary]
//   --send: offer recvonly/sendrecv m= sections one audio and one video track (WHEP).
// Exit status 0 with the answer, 2 with "<code>: <message>" on stderr.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "media/sdp/negotiator.h"
#include "media/sdp/sdp_parser.h"

using namespace medrelay::media::sdp;

int main(int argc, char** argv) {
  bool send = false;
  bool summary = false;
  Capabilities caps;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--send")) {
      send = true;
    } else if (!std::strcmp(argv[i], "--datachannels")) {
      caps.dataChannels = true;
    } else if (!std::strcmp(argv[i], "--vp9")) {
      caps.videoCodecs.push_back(Codec::kVp9);
    } else if (!std::strcmp(argv[i], "--summary")) {
      summary = true;
    } else {
      std::fprintf(stderr, "usage: %s [--send] [--datachannels] [--vp9] [--summary]\n", argv[0]);
      return 64;
    }
  }
  std::string offerText((std::istreambuf_iterator<char>(std::cin)), {});
  auto offer = parseSdp(offerText);
  if (!offer) {
    std::fprintf(stderr, "%s: %s\n", offer.error().code.c_str(), offer.error().message.c_str());
    return 2;
  }
  LocalTransport local;
  local.iceUfrag = "mrTl";
  local.icePwd = "medrelaysdptoolpassword0";
  local.fingerprint.algorithm = "sha-256";
  for (int i = 0; i < 32; ++i) {
    local.fingerprint.bytes.push_back(static_cast<uint8_t>(i * 7 + 1));
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X", local.fingerprint.bytes.back());
    local.fingerprint.value += (i ? ":" : "") + std::string(hex);
  }
  local.candidates = {{LocalCandidate::Transport::kUdp, "127.0.0.1", 40000},
                      {LocalCandidate::Transport::kTcpPassive, "127.0.0.1", 40000}};
  local.sessionId = 4242;
  std::vector<SendTrack> tracks;
  if (send) {
    tracks.push_back({MediaKind::kAudio, 11111111, 0, "medrelay", "stream0", "audio0"});
    tracks.push_back({MediaKind::kVideo, 22222222, 33333333, "medrelay", "stream0", "video0"});
  }
  auto answer = negotiateAnswer(offer.value(), caps, local, tracks);
  if (!answer) {
    std::fprintf(stderr, "%s: %s\n", answer.error().code.c_str(), answer.error().message.c_str());
    return 2;
  }
  std::cout << answer->sdp;
  if (summary) {
    const auto& s = answer->session;
    std::cerr << "dtls-role "
              << (s.dtlsRole == medrelay::media::DtlsRole::kServer ? "server" : "client")
              << " remote-ufrag " << s.remoteIceUfrag << "\n";
    for (const auto& m : s.media) {
      std::cerr << "m" << m.index << " mid=" << m.mid << " "
                << (m.accepted ? "accepted " : "rejected (" + m.rejectReason + ") ")
                << toString(m.direction) << " " << toString(m.codec) << "/" << m.payloadType
                << " rtx=" << (m.rtxPayloadType ? *m.rtxPayloadType : -1) << " " << m.fmtp << "\n";
    }
    for (const auto& w : s.warnings) std::cerr << "warning: " << w << "\n";
  }
  return 0;
}
