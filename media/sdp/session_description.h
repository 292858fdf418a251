#pragma once

// Parsed form of an SDP session description (RFC 8866) with the WebRTC attributes WHIP/WHEP
// signalling needs (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 8839 ICE, RFC 8122 fingerprints).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medrelay::media::sdp {

// The media direction attribute, a=sendrecv / sendonly / recvonly / inactive (RFC 8866 §6.7).
enum class MediaDirection { kSendRecv, kSendOnly, kRecvOnly, kInactive };
// RFC 4145 §4 a=setup values; kNone when the attribute is absent.
enum class Setup { kNone, kActpass, kActive, kPassive, kHoldconn };

const char* toString(MediaDirection d);
const char* toString(Setup s);
// The direction an answerer uses for an offered one (RFC 3264 §6.1), before track availability.
MediaDirection reverse(MediaDirection d);

// RFC 8122 §5: a=fingerprint:<hash-func> <hex pairs separated by ':'>. algorithm is lower-case.
struct Fingerprint {
  std::string algorithm;
  std::string value;  // upper-case hex pairs with colons, as it is written on the wire
  std::vector<uint8_t> bytes;
};

struct Origin {
  std::string username = "-";
  std::string sessionId = "0";
  std::string sessionVersion = "0";
  std::string netType = "IN";
  std::string addrType = "IP4";
  std::string address = "127.0.0.1";
};

struct Group {
  std::string semantics;  // "BUNDLE", "LS", ...
  std::vector<std::string> mids;
};

struct RtpMap {
  int payloadType = 0;
  std::string encoding;  // as written ("opus", "OPUS", "rtx"); compare case-insensitively
  uint32_t clockRate = 0;
  uint32_t channels = 0;  // 0 when not given
};

struct Fmtp {
  int payloadType = 0;
  std::string raw;
  std::vector<std::pair<std::string, std::string>> params;  // key=value; bare tokens have ""
  std::optional<std::string> get(const std::string& key) const;
};

struct RtcpFb {
  int payloadType = -1;  // -1 for '*'
  std::string type;      // "nack", "ccm", "goog-remb", "transport-cc"
  std::string subtype;   // "pli", "fir" or ""
};

struct ExtMap {
  int id = 0;
  std::optional<MediaDirection> direction;
  std::string uri;
  std::string attributes;
};

struct SsrcAttr {
  uint32_t ssrc = 0;
  std::string attribute;  // "cname", "msid", ...
  std::string value;
};

struct SsrcGroup {
  std::string semantics;  // "FID", "SIM", "FEC-FR"
  std::vector<uint32_t> ssrcs;
};

struct Msid {
  std::string streamId;
  std::string trackId;
};

// RFC 8851 a=rid:<id> <send|recv> [params]. Parsed only.
struct Rid {
  std::string id;
  std::string direction;
  std::string params;
};

// RFC 8839 §5.1 candidate-attribute.
struct Candidate {
  std::string foundation;
  uint32_t component = 1;
  std::string transport;  // lower-case "udp" / "tcp"
  uint32_t priority = 0;
  std::string address;
  uint16_t port = 0;
  std::string type;     // "host", "srflx", "prflx", "relay"
  std::string tcpType;  // RFC 6544 "active" | "passive" | "so", or ""
  bool mdns = false;    // address is an mDNS ".local" name (ignored by an ICE-lite agent)
};

struct MediaSection {
  std::string kind;  // "audio", "video", "application", or anything else offered
  uint16_t port = 0;
  std::string proto;
  std::vector<std::string> formats;
  std::string connectionAddress;  // from c=, may be empty

  std::string mid;
  MediaDirection direction = MediaDirection::kSendRecv;
  std::string iceUfrag;
  std::string icePwd;
  std::vector<std::string> iceOptions;
  std::vector<Fingerprint> fingerprints;
  Setup setup = Setup::kNone;
  bool rtcpMux = false;
  bool rtcpMuxOnly = false;
  bool rtcpRsize = false;
  bool bundleOnly = false;
  bool endOfCandidates = false;

  std::vector<RtpMap> rtpMaps;
  std::vector<Fmtp> fmtps;
  std::vector<RtcpFb> rtcpFbs;
  std::vector<ExtMap> extMaps;
  std::vector<SsrcAttr> ssrcAttrs;
  std::vector<SsrcGroup> ssrcGroups;
  std::optional<Msid> msid;
  std::vector<Rid> rids;
  std::string simulcast;  // value of a=simulcast, parsed only
  std::vector<Candidate> candidates;

  // Application (data channel) m-lines, RFC 8841.
  uint16_t sctpPort = 0;
  uint64_t maxMessageSize = 0;
  // a=sctpmap of the older form (draft-ietf-mmusic-sctp-sdp-05, `m=application 9 DTLS/SCTP
  // 5000`), which aiortc 1.4 still offers: "<port> webrtc-datachannel <streams>".
  std::string sctpmap;

  const RtpMap* rtpMap(int pt) const;
  const Fmtp* fmtp(int pt) const;
  // Distinct SSRCs in order of first appearance in a=ssrc lines.
  std::vector<uint32_t> ssrcs() const;
};

struct SessionDescription {
  Origin origin;
  std::string sessionName = "-";
  bool iceLite = false;
  std::string iceUfrag;
  std::string icePwd;
  std::vector<std::string> iceOptions;
  std::vector<Fingerprint> fingerprints;
  Setup setup = Setup::kNone;
  std::vector<Group> groups;
  std::string msidSemantic;  // e.g. "WMS *"
  bool extmapAllowMixed = false;
  bool sessionEndOfCandidates = false;  // RFC 8840 allows it at session level
  std::vector<MediaSection> media;

  // First a=group:BUNDLE, or nullptr.
  const Group* bundleGroup() const;
};

}  // namespace medrelay::media::sdp
