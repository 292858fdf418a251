#pragma once

// Builds an ICE-lite answer (RFC 8839 §5.3, RFC 8829 §5.3) to a WHIP/WHEP offer and returns the
// negotiated parameters the media plane needs. The server is always ICE-lite, bundles every
// accepted m= section on one transport (RFC 8843) and requires rtcp-mux (RFC 8858).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "media/dtls_role.h"
#include "media/sdp/h264_profile.h"
#include "media/sdp/session_description.h"

namespace medrelay::media::sdp {

enum class MediaKind { kAudio, kVideo, kApplication, kOther };
enum class Codec { kNone, kOpus, kVp8, kVp9, kH264 };

const char* toString(Codec c);

// What this server accepts. Order in the vectors is preference order.
struct Capabilities {
  bool opus = true;
  std::vector<Codec> videoCodecs = {Codec::kVp8, Codec::kH264};  // add kVp9 to enable VP9
  std::vector<H264Profile> h264Profiles = {H264Profile::kConstrainedBaseline,
                                           H264Profile::kBaseline, H264Profile::kMain,
                                           H264Profile::kConstrainedHigh};
  uint8_t h264MaxLevelIdc = 0x34;  // level 5.2
  bool rtx = true;
  bool transportCc = true;
  bool remb = true;
  bool ridExtensions = false;  // rtp-stream-id / repaired-rtp-stream-id
  bool dataChannels = false;
  uint16_t sctpPort = 5000;
  uint64_t maxMessageSize = 262144;
};

struct LocalCandidate {
  enum class Transport { kUdp, kTcpPassive };  // RFC 6544 §4.5 passive TCP host candidate
  Transport transport = Transport::kUdp;
  std::string address;
  uint16_t port = 0;
};

// Our ICE and DTLS parameters for this session.
struct LocalTransport {
  std::string iceUfrag;
  std::string icePwd;
  Fingerprint fingerprint;  // of our DTLS certificate, sha-256
  std::vector<LocalCandidate> candidates;
  uint64_t sessionId = 1;  // o= sess-id
};

// A stream we send in an m= section the offer wants to receive (WHEP).
struct SendTrack {
  MediaKind kind = MediaKind::kAudio;
  uint32_t ssrc = 0;
  uint32_t rtxSsrc = 0;  // 0: none
  std::string cname;
  std::string streamId;
  std::string trackId;
};

// RFC 8285 ids of the header extensions we negotiated; 0 when not negotiated.
struct HeaderExtensionIds {
  uint8_t mid = 0;
  uint8_t absSendTime = 0;
  uint8_t transportWideCc = 0;
  uint8_t audioLevel = 0;
  uint8_t rtpStreamId = 0;
  uint8_t repairedRtpStreamId = 0;
};

struct RtcpFeedback {
  bool nack = false;
  bool nackPli = false;
  bool ccmFir = false;
  bool googRemb = false;
  bool transportCc = false;
};

struct NegotiatedMedia {
  size_t index = 0;  // m= line index in offer and answer
  std::string mid;
  MediaKind kind = MediaKind::kOther;
  bool accepted = false;
  std::string rejectReason;
  MediaDirection direction = MediaDirection::kInactive;  // ours, as in the answer
  Codec codec = Codec::kNone;
  int payloadType = -1;
  std::optional<int> rtxPayloadType;
  uint32_t clockRate = 0;
  uint32_t channels = 0;
  std::string fmtp;  // the answer's fmtp for the codec
  RtcpFeedback feedback;
  HeaderExtensionIds extensions;
  bool rtcpRsize = false;
  std::vector<uint32_t> remoteSsrcs;                          // primary SSRCs the offerer announced
  std::vector<std::pair<uint32_t, uint32_t>> remoteRtxSsrcs;  // (primary, rtx) from FID
  std::vector<std::string> remoteRids;                        // parsed only
  std::optional<SendTrack> sendTrack;
  uint16_t remoteSctpPort = 0;
  uint64_t remoteMaxMessageSize = 0;
  bool legacySctp = false;  // offered as DTLS/SCTP + a=sctpmap (draft-ietf-mmusic-sctp-sdp-05)
};

struct NegotiatedSession {
  std::string remoteIceUfrag;
  std::string remoteIcePwd;
  Fingerprint remoteFingerprint;  // sha-256
  DtlsRole dtlsRole = DtlsRole::kServer;
  std::vector<std::string> bundleMids;
  std::vector<NegotiatedMedia> media;  // one per offered m= line
  std::vector<std::string> warnings;   // things dropped deterministically, for the log
};

struct Answer {
  SessionDescription description;
  std::string sdp;
  NegotiatedSession session;
};

Result<Answer> negotiateAnswer(const SessionDescription& offer, const Capabilities& caps,
                               const LocalTransport& local,
                               const std::vector<SendTrack>& sendTracks = {});

}  // namespace medrelay::media::sdp
