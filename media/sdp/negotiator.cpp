#include "media/sdp/negotiator.h"

#include <algorithm>
#include <map>
#include <set>

#include "media/sdp/codec_selection.h"
#include "media/sdp/sdp_errors.h"
#include "media/sdp/sdp_text.h"
#include "media/sdp/sdp_writer.h"

namespace medrelay::media::sdp {
namespace {

constexpr int kMaxOneByteExtensionId = 14;  // RFC 8285 §4.2: one-byte ids 1-14

MediaKind kindOf(const std::string& kind) {
  if (kind == "audio") return MediaKind::kAudio;
  if (kind == "video") return MediaKind::kVideo;
  if (kind == "application") return MediaKind::kApplication;
  return MediaKind::kOther;
}

bool isSecureRtpProfile(const std::string& proto) {
  // RFC 8829 §5.1.2: UDP/TLS/RTP/SAVPF; TCP/DTLS/RTP/SAVPF for ICE-TCP.
  return proto == "UDP/TLS/RTP/SAVPF" || proto == "TCP/DTLS/RTP/SAVPF" ||
         proto == "UDP/TLS/RTP/SAVP";
}

bool isDataChannelProfile(const MediaSection& m) {
  // RFC 8841 §4.1: UDP/DTLS/SCTP or TCP/DTLS/SCTP with format webrtc-datachannel.
  return (m.proto == "UDP/DTLS/SCTP" || m.proto == "TCP/DTLS/SCTP") && m.formats.size() == 1 &&
         m.formats[0] == "webrtc-datachannel";
}

// draft-ietf-mmusic-sctp-sdp-05, still offered by aiortc 1.4: `DTLS/SCTP <port>` with
// a=sctpmap:<port> webrtc-datachannel <streams>. Answered in the same form.
std::optional<uint16_t> legacyDataChannelPort(const MediaSection& m) {
  if (m.proto != "DTLS/SCTP" || m.formats.size() != 1) return std::nullopt;
  const auto t = text::splitWhitespace(m.sctpmap);
  if (t.size() < 2 || t[0] != m.formats[0] || t[1] != "webrtc-datachannel") return std::nullopt;
  return text::parseUnsigned<uint16_t>(m.formats[0], 65535);
}

std::string label(const MediaSection& m, size_t index) {
  return "m-line " + std::to_string(index) + " (" + m.kind +
         (m.mid.empty() ? "" : ", mid " + m.mid) + ")";
}

// RFC 8445 §5.1.2.1 priority; RFC 6544 §4.2 lowers passive TCP below UDP via local preference.
uint32_t candidatePriority(LocalCandidate::Transport t) {
  constexpr uint32_t kHostTypePreference = 126;
  uint32_t localPreference = t == LocalCandidate::Transport::kUdp ? 65535 : (4u << 13) | 8191;
  return (kHostTypePreference << 24) | (localPreference << 8) | (256 - 1);
}

std::vector<Candidate> localCandidates(const LocalTransport& local) {
  std::vector<Candidate> out;
  for (const auto& lc : local.candidates) {
    Candidate c;
    bool udp = lc.transport == LocalCandidate::Transport::kUdp;
    c.foundation = udp ? "1" : "2";
    c.component = 1;
    c.transport = udp ? "udp" : "tcp";
    c.priority = candidatePriority(lc.transport);
    c.address = lc.address;
    c.port = lc.port;
    c.type = "host";
    if (!udp) c.tcpType = "passive";
    out.push_back(std::move(c));
  }
  return out;
}

// Transport parameters of an m= section: media-level, else session-level (RFC 8839 §5.4).
struct RemoteTransport {
  std::string ufrag;
  std::string pwd;
  const std::vector<Fingerprint>* fingerprints = nullptr;
  Setup setup = Setup::kNone;
};

RemoteTransport remoteTransport(const SessionDescription& offer, const MediaSection& m) {
  RemoteTransport t;
  t.ufrag = m.iceUfrag.empty() ? offer.iceUfrag : m.iceUfrag;
  t.pwd = m.icePwd.empty() ? offer.icePwd : m.icePwd;
  t.fingerprints = m.fingerprints.empty() ? &offer.fingerprints : &m.fingerprints;
  t.setup = m.setup == Setup::kNone ? offer.setup : m.setup;
  return t;
}

class Negotiation {
 public:
  Negotiation(const SessionDescription& offer, const Capabilities& caps,
              const LocalTransport& local, const std::vector<SendTrack>& tracks)
      : offer_(offer), caps_(caps), local_(local), tracks_(tracks), used_(tracks.size(), false) {}

  Result<Answer> run() {
    if (offer_.media.empty()) return makeError(kErrorInvalidOffer, "offer has no m= sections");
    if (auto r = checkMids(); !r) return r.error();
    bundled_ = bundledIndices();
    for (size_t i = 0; i < offer_.media.size(); ++i) {
      auto r = negotiateMedia(i);
      if (!r) return r.error();
    }
    const NegotiatedMedia* first = nullptr;
    for (const auto& nm : session_.media) {
      if (nm.accepted && !first) first = &nm;
    }
    if (!first) return noAcceptableMedia();
    if (auto r = takeTransport(offer_.media[first->index], first->index); !r) return r.error();
    dedupeExtensions();
    Answer a;
    a.description = buildAnswer();
    a.sdp = writeSdp(a.description);
    a.session = std::move(session_);
    return a;
  }

 private:
  Result<void> checkMids() {
    std::set<std::string> seen;
    for (size_t i = 0; i < offer_.media.size(); ++i) {
      const auto& mid = offer_.media[i].mid;
      if (!mid.empty() && !seen.insert(mid).second) {
        return makeError(kErrorInvalidOffer, label(offer_.media[i], i) + ": duplicate a=mid");
      }
    }
    return {};
  }

  // Indices of the m= sections carried on our single transport: those in the first BUNDLE group
  // (RFC 8843), or only the first m= section when the offer does not bundle.
  std::set<size_t> bundledIndices() const {
    std::set<size_t> out;
    const Group* g = offer_.bundleGroup();
    for (size_t i = 0; i < offer_.media.size(); ++i) {
      const auto& mid = offer_.media[i].mid;
      if (g ? (!mid.empty() && std::find(g->mids.begin(), g->mids.end(), mid) != g->mids.end())
            : i == 0) {
        out.insert(i);
      }
    }
    return out;
  }

  Result<void> negotiateMedia(size_t i) {
    const MediaSection& m = offer_.media[i];
    NegotiatedMedia nm;
    nm.index = i;
    nm.mid = m.mid;
    nm.kind = kindOf(m.kind);
    auto reject = [&](std::string reason) {
      nm.rejectReason = std::move(reason);
      session_.media.push_back(std::move(nm));
      return Result<void>();
    };
    bool inBundle = bundled_.count(i) > 0;
    if (m.mid.empty() && offer_.bundleGroup()) return reject("no a=mid");
    // RFC 8843 §6: port 0 with bundle-only is a bundled section, not a rejected one.
    if (m.port == 0 && !(m.bundleOnly && inBundle)) return reject("offered with port 0");
    if (!inBundle) return reject("not in the BUNDLE group");
    if (nm.kind == MediaKind::kApplication) {
      const auto legacyPort = legacyDataChannelPort(m);
      if (!isDataChannelProfile(m) && !legacyPort) return reject("unsupported proto " + m.proto);
      if (!caps_.dataChannels) return reject("data channels are disabled");
      nm.accepted = true;
      nm.direction = MediaDirection::kSendRecv;
      nm.legacySctp = legacyPort.has_value();
      nm.remoteSctpPort = legacyPort ? *legacyPort : m.sctpPort ? m.sctpPort : 5000;  // §5.2
      nm.remoteMaxMessageSize = m.maxMessageSize ? m.maxMessageSize : 65536;          // §6.1
      session_.media.push_back(std::move(nm));
      return {};
    }
    if (nm.kind == MediaKind::kOther) return reject("unsupported media type " + m.kind);
    if (!isSecureRtpProfile(m.proto)) return reject("unsupported proto " + m.proto);
    // RFC 8858 / RFC 8834 §4.5: we demultiplex RTCP on the RTP port only.
    if (!m.rtcpMux) {
      return makeError(kErrorInvalidOffer, label(m, i) + ": a=rtcp-mux is required");
    }
    auto choice = chooseCodec(m, nm.kind, caps_);
    if (!choice) return reject("no supported codec among " + describeOfferedCodecs(m));
    nm.accepted = true;
    nm.codec = choice->codec;
    nm.payloadType = choice->rtpMap->payloadType;
    nm.rtxPayloadType = choice->rtxPayloadType;
    nm.clockRate = choice->rtpMap->clockRate;
    nm.channels = choice->rtpMap->channels;
    nm.fmtp = choice->fmtp;
    nm.feedback = chooseFeedback(m, nm.payloadType, caps_);
    nm.rtcpRsize = m.rtcpRsize;
    collectRemoteStreams(m, nm);
    chooseDirection(m, nm);
    session_.media.push_back(std::move(nm));
    return {};
  }

  static void collectRemoteStreams(const MediaSection& m, NegotiatedMedia& nm) {
    std::set<uint32_t> repair;
    for (const auto& g : m.ssrcGroups) {
      // RFC 5576 §4 / RFC 4588 §8.1: FID <primary> <rtx>.
      if (g.semantics == "FID" && g.ssrcs.size() == 2) {
        nm.remoteRtxSsrcs.emplace_back(g.ssrcs[0], g.ssrcs[1]);
        repair.insert(g.ssrcs[1]);
      }
    }
    for (uint32_t s : m.ssrcs()) {
      if (!repair.count(s)) nm.remoteSsrcs.push_back(s);
    }
    for (const auto& r : m.rids) {
      if (r.direction == "send") nm.remoteRids.push_back(r.id);
    }
  }

  // RFC 3264 §6.1: answer direction mirrors the offer; we send only with a track to send.
  void chooseDirection(const MediaSection& m, NegotiatedMedia& nm) {
    bool offerReceives =
        m.direction == MediaDirection::kRecvOnly || m.direction == MediaDirection::kSendRecv;
    bool offerSends =
        m.direction == MediaDirection::kSendOnly || m.direction == MediaDirection::kSendRecv;
    bool weSend = false;
    if (offerReceives) {
      for (size_t t = 0; t < tracks_.size(); ++t) {
        if (!used_[t] && tracks_[t].kind == nm.kind) {
          used_[t] = true;
          nm.sendTrack = tracks_[t];
          weSend = true;
          break;
        }
      }
      if (!weSend) session_.warnings.push_back(label(m, nm.index) + ": no track to send");
    }
    if (weSend && offerSends) {
      nm.direction = MediaDirection::kSendRecv;
    } else if (weSend) {
      nm.direction = MediaDirection::kSendOnly;
    } else if (offerSends) {
      nm.direction = MediaDirection::kRecvOnly;
    } else {
      nm.direction = MediaDirection::kInactive;
    }
  }

  Result<Answer> noAcceptableMedia() const {
    bool onlyData = true;
    std::string reasons;
    for (const auto& nm : session_.media) {
      const auto& m = offer_.media[nm.index];
      onlyData = onlyData && nm.kind == MediaKind::kApplication;
      if (!reasons.empty()) reasons += "; ";
      reasons += label(m, nm.index) + ": " + nm.rejectReason;
    }
    if (onlyData && !caps_.dataChannels) {
      return makeError(kErrorDataChannelDisabled,
                       "offer has only a data channel and data channels are disabled");
    }
    return makeError(kErrorUnsupported, "no acceptable media: " + reasons);
  }

  // The bundle transport: the first accepted m= section, which is the tag of our answer's
  // BUNDLE group (RFC 8843 §7.3.1).
  Result<void> takeTransport(const MediaSection& m, size_t i) {
    RemoteTransport t = remoteTransport(offer_, m);
    if (t.ufrag.empty() || t.pwd.empty()) {
      return makeError(kErrorInvalidOffer, label(m, i) + ": missing a=ice-ufrag/a=ice-pwd");
    }
    if (t.fingerprints->empty()) {
      return makeError(kErrorInvalidOffer, label(m, i) + ": missing a=fingerprint");
    }
    const Fingerprint* sha256 = nullptr;
    for (const auto& f : *t.fingerprints) {
      if (f.algorithm == "sha-256" && !sha256) sha256 = &f;
    }
    if (!sha256) {
      return makeError(kErrorInvalidOffer, label(m, i) + ": no sha-256 a=fingerprint");
    }
    // RFC 8842 §5.2/§5.3: actpass (or a missing setup, RFC 4145 default active) makes us the
    // passive DTLS server; a passive offerer makes us the client.
    switch (t.setup) {
      case Setup::kHoldconn:
        return makeError(kErrorInvalidOffer, label(m, i) + ": a=setup:holdconn");
      case Setup::kPassive:
        session_.dtlsRole = DtlsRole::kClient;
        break;
      default:
        session_.dtlsRole = DtlsRole::kServer;
        break;
    }
    session_.remoteIceUfrag = t.ufrag;
    session_.remoteIcePwd = t.pwd;
    session_.remoteFingerprint = *sha256;
    return {};
  }

  // Accepted extensions keep the offerer's ids (RFC 8285 §6). Under BUNDLE one id names one
  // URI across the whole transport (RFC 8843 §9.2): the first m= section that binds an id wins
  // and later sections that reuse it for another URI drop that extension (aiortc 1.4 does this).
  void dedupeExtensions() {
    std::map<int, std::string> bound;
    for (auto& nm : session_.media) {
      if (!nm.accepted || nm.kind == MediaKind::kApplication) continue;
      const MediaSection& m = offer_.media[nm.index];
      std::vector<ExtMap> kept;
      for (const auto& e : m.extMaps) {
        if (!supportedExtension(e.uri, nm.kind, caps_) || e.id > kMaxOneByteExtensionId) continue;
        if (e.direction && *e.direction == MediaDirection::kInactive) continue;
        auto [it, inserted] = bound.emplace(e.id, e.uri);
        if (!inserted && it->second != e.uri) {
          session_.warnings.push_back(label(m, nm.index) + ": extmap id " + std::to_string(e.id) +
                                      " already names " + it->second + "; dropped " + e.uri);
          continue;
        }
        bool dupUri = false;
        for (const auto& k : kept) dupUri = dupUri || k.uri == e.uri;
        if (dupUri) continue;
        kept.push_back(ExtMap{e.id, std::nullopt, e.uri, {}});
        recordExtension(nm.extensions, e.uri, static_cast<uint8_t>(e.id));
      }
      answerExtensions_[nm.index] = std::move(kept);
    }
  }

  SessionDescription buildAnswer() {
    SessionDescription d;
    d.origin.sessionId = std::to_string(local_.sessionId);
    d.origin.sessionVersion = "2";
    d.iceLite = true;  // RFC 8839 §5.3: session level only
    d.msidSemantic = "WMS *";
    Group bundle{"BUNDLE", {}};
    auto candidates = localCandidates(local_);
    const Candidate* defaultCandidate = nullptr;
    for (const auto& c : candidates) {
      if (c.transport == "udp" && !defaultCandidate) defaultCandidate = &c;
    }
    for (const auto& nm : session_.media) {
      const MediaSection& o = offer_.media[nm.index];
      MediaSection m;
      m.kind = o.kind;
      m.proto = o.proto;
      m.mid = o.mid;
      if (!nm.accepted) {
        // RFC 3264 §6: a rejected stream has port 0 and keeps one offered format.
        m.port = 0;
        m.formats.push_back(o.formats.empty() ? "0" : o.formats[0]);
        m.direction = MediaDirection::kInactive;
        d.media.push_back(std::move(m));
        continue;
      }
      if (!o.mid.empty()) {
        bundle.mids.push_back(o.mid);
        session_.bundleMids.push_back(o.mid);
      }
      m.port = defaultCandidate ? defaultCandidate->port : 9;
      m.connectionAddress = defaultCandidate ? defaultCandidate->address : "0.0.0.0";
      m.iceUfrag = local_.iceUfrag;
      m.icePwd = local_.icePwd;
      m.fingerprints.push_back(local_.fingerprint);
      m.setup = session_.dtlsRole == DtlsRole::kServer ? Setup::kPassive : Setup::kActive;
      m.direction = nm.direction;
      m.candidates = candidates;
      m.endOfCandidates = true;
      if (nm.kind == MediaKind::kApplication && nm.legacySctp) {
        m.formats.push_back(std::to_string(caps_.sctpPort));
        m.sctpmap = std::to_string(caps_.sctpPort) + " webrtc-datachannel 1024";
        m.maxMessageSize = caps_.maxMessageSize;
      } else if (nm.kind == MediaKind::kApplication) {
        m.formats.push_back("webrtc-datachannel");
        m.sctpPort = caps_.sctpPort;
        m.maxMessageSize = caps_.maxMessageSize;
      } else {
        fillRtp(nm, o, m);
      }
      d.media.push_back(std::move(m));
    }
    // RFC 8843 §7.3: an answer has a BUNDLE group only when the offer had one.
    if (!bundle.mids.empty() && offer_.bundleGroup()) d.groups.push_back(std::move(bundle));
    return d;
  }

  void fillRtp(const NegotiatedMedia& nm, const MediaSection& o, MediaSection& m) {
    const RtpMap* r = o.rtpMap(nm.payloadType);
    m.rtcpMux = true;
    m.rtcpRsize = nm.rtcpRsize;
    m.formats.push_back(std::to_string(nm.payloadType));
    m.rtpMaps.push_back(*r);
    if (!nm.fmtp.empty()) m.fmtps.push_back(Fmtp{nm.payloadType, nm.fmtp, {}});
    const RtcpFeedback& f = nm.feedback;
    auto fb = [&](bool on, const char* type, const char* sub) {
      if (on) m.rtcpFbs.push_back(RtcpFb{nm.payloadType, type, sub});
    };
    fb(f.googRemb, "goog-remb", "");
    fb(f.transportCc, "transport-cc", "");
    fb(f.ccmFir, "ccm", "fir");
    fb(f.nack, "nack", "");
    fb(f.nackPli, "nack", "pli");
    if (nm.rtxPayloadType) {
      const RtpMap* rtx = o.rtpMap(*nm.rtxPayloadType);
      m.formats.push_back(std::to_string(*nm.rtxPayloadType));
      m.rtpMaps.push_back(*rtx);
      m.fmtps.push_back(Fmtp{*nm.rtxPayloadType, "apt=" + std::to_string(nm.payloadType), {}});
    }
    m.extMaps = answerExtensions_[nm.index];
    if (nm.sendTrack) {
      const SendTrack& t = *nm.sendTrack;
      m.msid = Msid{t.streamId, t.trackId};
      bool rtx = t.rtxSsrc != 0 && nm.rtxPayloadType;
      if (rtx) m.ssrcGroups.push_back(SsrcGroup{"FID", {t.ssrc, t.rtxSsrc}});
      m.ssrcAttrs.push_back(SsrcAttr{t.ssrc, "cname", t.cname});
      m.ssrcAttrs.push_back(SsrcAttr{t.ssrc, "msid", t.streamId + " " + t.trackId});
      if (rtx) {
        m.ssrcAttrs.push_back(SsrcAttr{t.rtxSsrc, "cname", t.cname});
        m.ssrcAttrs.push_back(SsrcAttr{t.rtxSsrc, "msid", t.streamId + " " + t.trackId});
      }
    }
  }

  const SessionDescription& offer_;
  const Capabilities& caps_;
  const LocalTransport& local_;
  const std::vector<SendTrack>& tracks_;
  std::vector<bool> used_;
  std::set<size_t> bundled_;
  std::map<size_t, std::vector<ExtMap>> answerExtensions_;
  NegotiatedSession session_;
};

}  // namespace

const char* toString(Codec c) {
  switch (c) {
    case Codec::kOpus:
      return "opus";
    case Codec::kVp8:
      return "VP8";
    case Codec::kVp9:
      return "VP9";
    case Codec::kH264:
      return "H264";
    case Codec::kNone:
      break;
  }
  return "none";
}

Result<Answer> negotiateAnswer(const SessionDescription& offer, const Capabilities& caps,
                               const LocalTransport& local,
                               const std::vector<SendTrack>& sendTracks) {
  return Negotiation(offer, caps, local, sendTracks).run();
}

}  // namespace medrelay::media::sdp
