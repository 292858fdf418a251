#include "media/sdp/codec_selection.h"

#include <algorithm>

#include "media/sdp/sdp_text.h"

namespace medrelay::media::sdp {
namespace {

using text::iequals;

constexpr const char* kUriMid = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* kUriAbsSendTime =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr const char* kUriTransportCc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr const char* kUriAudioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
constexpr const char* kUriRid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr const char* kUriRepairedRid = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

std::optional<int> formatPt(const std::string& f) {
  return text::parseUnsigned<int>(f, 127);
}

std::optional<int> findRtx(const MediaSection& m, int pt) {
  for (const auto& f : m.formats) {
    auto rtxPt = formatPt(f);
    if (!rtxPt) continue;
    const RtpMap* r = m.rtpMap(*rtxPt);
    const Fmtp* fmtp = m.fmtp(*rtxPt);
    if (!r || !fmtp || !iequals(r->encoding, "rtx") || r->clockRate != 90000) continue;
    auto apt = fmtp->get("apt");
    if (apt && text::parseUnsigned<int>(*apt, 127) == pt) return rtxPt;  // RFC 4588 §8.1
  }
  return std::nullopt;
}

// RFC 6184 §8.2.2: the answer keeps the offered profile; its level may differ only when
// level-asymmetry-allowed=1, otherwise it is at most the offered level.
std::string h264AnswerFmtp(const Fmtp* offered, const H264ProfileLevelId& id,
                           const Capabilities& caps) {
  bool asymmetry = offered && offered->get("level-asymmetry-allowed") == "1";
  H264ProfileLevelId answer = id;
  if (asymmetry) {
    answer.levelIdc = caps.h264MaxLevelIdc;
  } else if (!id.level1b) {
    answer.levelIdc = std::min(id.levelIdc, caps.h264MaxLevelIdc);
  }
  return std::string(asymmetry ? "level-asymmetry-allowed=1;" : "") +
         "packetization-mode=1;profile-level-id=" + answer.toString();
}

std::optional<CodecChoice> matchVideo(const MediaSection& m, Codec codec, const Capabilities& caps,
                                      std::optional<H264Profile> h264Profile) {
  for (const auto& f : m.formats) {
    auto pt = formatPt(f);
    const RtpMap* r = pt ? m.rtpMap(*pt) : nullptr;
    if (!r || r->clockRate != 90000) continue;
    const Fmtp* fmtp = m.fmtp(*pt);
    CodecChoice c{codec, r, std::nullopt, {}};
    if (codec == Codec::kVp8 && iequals(r->encoding, "VP8")) {
      // no fmtp
    } else if (codec == Codec::kVp9 && iequals(r->encoding, "VP9")) {
      auto profile = fmtp ? fmtp->get("profile-id") : std::nullopt;
      if (profile && *profile != "0") continue;
      c.fmtp = "profile-id=0";
    } else if (codec == Codec::kH264 && iequals(r->encoding, "H264")) {
      // RFC 6184 §8.1: packetization-mode defaults to 0 (single NAL), which we do not accept.
      if (!fmtp || fmtp->get("packetization-mode") != "1") continue;
      auto plid = fmtp->get("profile-level-id");
      auto id = parseH264ProfileLevelId(plid ? *plid : "42000a");
      if (!id || id->profile != *h264Profile) continue;
      c.fmtp = h264AnswerFmtp(fmtp, *id, caps);
    } else {
      continue;
    }
    if (caps.rtx) c.rtxPayloadType = findRtx(m, *pt);
    return c;
  }
  return std::nullopt;
}

}  // namespace

std::optional<CodecChoice> chooseCodec(const MediaSection& m, MediaKind kind,
                                       const Capabilities& caps) {
  if (kind == MediaKind::kAudio) {
    if (!caps.opus) return std::nullopt;
    for (const auto& f : m.formats) {
      auto pt = formatPt(f);
      const RtpMap* r = pt ? m.rtpMap(*pt) : nullptr;
      // RFC 7587 §7: opus is always opus/48000/2.
      if (r && iequals(r->encoding, "opus") && r->clockRate == 48000 && r->channels == 2) {
        return CodecChoice{Codec::kOpus, r, std::nullopt, "minptime=10;useinbandfec=1"};
      }
    }
    return std::nullopt;
  }
  if (kind != MediaKind::kVideo) return std::nullopt;
  for (Codec codec : caps.videoCodecs) {
    if (codec == Codec::kH264) {
      for (H264Profile p : caps.h264Profiles) {
        if (auto c = matchVideo(m, codec, caps, p)) return c;
      }
    } else if (codec == Codec::kVp8 || codec == Codec::kVp9) {
      if (auto c = matchVideo(m, codec, caps, std::nullopt)) return c;
    }
  }
  return std::nullopt;
}

RtcpFeedback chooseFeedback(const MediaSection& m, int pt, const Capabilities& caps) {
  RtcpFeedback out;
  for (const auto& fb : m.rtcpFbs) {
    if (fb.payloadType != pt && fb.payloadType != -1) continue;
    if (fb.type == "nack" && fb.subtype.empty()) out.nack = true;
    if (fb.type == "nack" && fb.subtype == "pli") out.nackPli = true;
    if (fb.type == "ccm" && fb.subtype == "fir") out.ccmFir = true;
    if (fb.type == "goog-remb" && caps.remb) out.googRemb = true;
    if (fb.type == "transport-cc" && caps.transportCc) out.transportCc = true;
  }
  return out;
}

bool supportedExtension(const std::string& uri, MediaKind kind, const Capabilities& caps) {
  if (uri == kUriMid || uri == kUriAbsSendTime) return true;
  if (uri == kUriTransportCc) return caps.transportCc;
  if (kind == MediaKind::kAudio) return uri == kUriAudioLevel;
  if (kind == MediaKind::kVideo && caps.ridExtensions) {
    return uri == kUriRid || uri == kUriRepairedRid;
  }
  return false;
}

void recordExtension(HeaderExtensionIds& ids, const std::string& uri, uint8_t id) {
  if (uri == kUriMid) ids.mid = id;
  if (uri == kUriAbsSendTime) ids.absSendTime = id;
  if (uri == kUriTransportCc) ids.transportWideCc = id;
  if (uri == kUriAudioLevel) ids.audioLevel = id;
  if (uri == kUriRid) ids.rtpStreamId = id;
  if (uri == kUriRepairedRid) ids.repairedRtpStreamId = id;
}

std::string describeOfferedCodecs(const MediaSection& m) {
  std::string out;
  for (const auto& r : m.rtpMaps) {
    if (!out.empty()) out += ' ';
    out += r.encoding + "/" + std::to_string(r.clockRate);
    if (out.size() > 200) return out + " ...";
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace medrelay::media::sdp
