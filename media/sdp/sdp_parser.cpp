#include "media/sdp/sdp_parser.h"

#include <string>

#include "media/sdp/sdp_errors.h"
#include "media/sdp/sdp_text.h"

namespace medrelay::media::sdp {
namespace {

using text::parseUnsigned;
using text::splitWhitespace;

constexpr size_t kMaxIceCredential = 256;  // RFC 8839 §5.4: ufrag/pwd are at most 256 chars
constexpr size_t kMaxMid = 64;
constexpr size_t kMaxFormats = 128;

// Digest length of the RFC 8122 hash functions; 0 for ones we do not know (any length).
size_t digestLength(std::string_view algorithm) {
  if (algorithm == "sha-1") return 20;
  if (algorithm == "sha-224") return 28;
  if (algorithm == "sha-256") return 32;
  if (algorithm == "sha-384") return 48;
  if (algorithm == "sha-512") return 64;
  if (algorithm == "md5" || algorithm == "md2") return 16;
  return 0;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<MediaDirection> parseDirection(std::string_view s) {
  if (s == "sendrecv") return MediaDirection::kSendRecv;
  if (s == "sendonly") return MediaDirection::kSendOnly;
  if (s == "recvonly") return MediaDirection::kRecvOnly;
  if (s == "inactive") return MediaDirection::kInactive;
  return std::nullopt;
}

class Parser {
 public:
  Parser(const ParseLimits& limits, ParseMode mode) : limits_(limits), mode_(mode) {}

  Result<SessionDescription> run(std::string_view input) {
    if (input.size() > limits_.maxBytes) {
      return makeError(kErrorTooLarge, "SDP is " + std::to_string(input.size()) + " bytes, limit " +
                                           std::to_string(limits_.maxBytes));
    }
    size_t pos = 0;
    bool sawVersion = false;
    bool sawOrigin = false;
    while (pos < input.size()) {
      size_t end = input.find('\n', pos);
      if (end == std::string_view::npos) end = input.size();
      std::string_view line = input.substr(pos, end - pos);
      pos = end + 1;
      ++lineNo_;
      if (lineNo_ > limits_.maxLines) {
        return makeError(kErrorTooLarge,
                         "more than " + std::to_string(limits_.maxLines) + " lines");
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > limits_.maxLineLength) {
        return makeError(kErrorTooLarge, "line " + std::to_string(lineNo_) + ": longer than " +
                                             std::to_string(limits_.maxLineLength) + " bytes");
      }
      if (text::trim(line).empty()) continue;
      if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
        return fail("expected '<type>=<value>'");
      }
      char type = line[0];
      std::string_view value = line.substr(2);
      if (mode_ == ParseMode::kSessionDescription && !sawVersion) {
        if (type != 'v' || text::trim(value) != "0") return fail("expected v=0 first");
        sawVersion = true;
        continue;
      }
      Result<void> r;
      switch (type) {
        case 'o':
          r = parseOrigin(value);
          sawOrigin = true;
          break;
        case 's':
          if (!media_) desc_.sessionName = std::string(value);
          break;
        case 'c':
          r = parseConnection(value);
          break;
        case 'm':
          r = parseMediaLine(value);
          break;
        case 'a':
          r = parseAttribute(value);
          break;
        default:  // v t r z k b i u e p and unknown types: ignored (RFC 8866 §5)
          break;
      }
      if (!r) return r.error();
    }
    if (mode_ == ParseMode::kSessionDescription) {
      if (!sawVersion) return makeError(kErrorSyntax, "empty SDP: missing v= line");
      if (!sawOrigin) return makeError(kErrorSyntax, "missing o= line");
    }
    return std::move(desc_);
  }

 private:
  Error fail(const std::string& reason) const {
    return makeError(kErrorSyntax, "line " + std::to_string(lineNo_) + ": " + reason);
  }

  Result<void> parseOrigin(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() != 6) return fail("o= needs 6 fields");
    desc_.origin = Origin{std::string(t[0]), std::string(t[1]), std::string(t[2]),
                          std::string(t[3]), std::string(t[4]), std::string(t[5])};
    return {};
  }

  Result<void> parseConnection(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() != 3) return fail("c= needs 3 fields");
    if (media_) media_->connectionAddress = std::string(t[2]);
    return {};
  }

  Result<void> parseMediaLine(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() < 3 || (mode_ == ParseMode::kSessionDescription && t.size() < 4)) {
      return fail("m= needs <media> <port> <proto> <fmt>...");
    }
    if (desc_.media.size() >= limits_.maxMediaSections) {
      return makeError(kErrorTooLarge,
                       "more than " + std::to_string(limits_.maxMediaSections) + " media sections");
    }
    std::string_view portText = t[1];
    if (auto slash = portText.find('/'); slash != std::string_view::npos) {
      if (!parseUnsigned<uint32_t>(portText.substr(slash + 1), 65535)) {
        return fail("bad port count in m=");
      }
      portText = portText.substr(0, slash);
    }
    auto port = parseUnsigned<uint16_t>(portText, 65535);
    if (!port) return fail("bad port in m=");
    MediaSection m;
    m.kind = std::string(t[0]);
    m.port = *port;
    m.proto = std::string(t[2]);
    // RTP has 128 payload types; more formats than that is not a real offer.
    if (t.size() - 3 > kMaxFormats) return fail("more than 128 formats in m=");
    for (size_t i = 3; i < t.size(); ++i) m.formats.emplace_back(t[i]);
    m.direction = sessionDirection_;
    desc_.media.push_back(std::move(m));
    media_ = &desc_.media.back();
    return {};
  }

  Result<void> parseAttribute(std::string_view attr) {
    std::string_view name = attr;
    std::string_view value;
    if (auto colon = attr.find(':'); colon != std::string_view::npos) {
      name = attr.substr(0, colon);
      value = text::trim(attr.substr(colon + 1));
    }
    if (auto dir = parseDirection(name)) {
      if (media_) {
        media_->direction = *dir;
      } else {
        sessionDirection_ = *dir;
      }
      return {};
    }
    if (name == "ice-ufrag" || name == "ice-pwd") {
      if (value.empty() || value.size() > kMaxIceCredential)
        return fail("bad " + std::string(name));
      std::string& dst = name == "ice-ufrag" ? (media_ ? media_->iceUfrag : desc_.iceUfrag)
                                             : (media_ ? media_->icePwd : desc_.icePwd);
      dst = std::string(value);
      return {};
    }
    if (name == "ice-options") {
      auto& dst = media_ ? media_->iceOptions : desc_.iceOptions;
      // RFC 8839 §5.6 separates options with spaces; libdatachannel writes "ice2,trickle".
      for (auto o : splitWhitespace(value)) {
        while (!o.empty()) {
          size_t comma = o.find(',');
          if (comma != 0) dst.emplace_back(o.substr(0, comma));
          o = comma == std::string_view::npos ? std::string_view() : o.substr(comma + 1);
        }
      }
      return {};
    }
    if (name == "fingerprint") return parseFingerprint(value);
    if (name == "setup") {
      Setup s;
      if (value == "actpass") {
        s = Setup::kActpass;
      } else if (value == "active") {
        s = Setup::kActive;
      } else if (value == "passive") {
        s = Setup::kPassive;
      } else if (value == "holdconn") {
        s = Setup::kHoldconn;
      } else {
        return fail("bad a=setup value");
      }
      (media_ ? media_->setup : desc_.setup) = s;
      return {};
    }
    if (name == "extmap-allow-mixed") {
      desc_.extmapAllowMixed = true;
      return {};
    }
    if (!media_) return parseSessionAttribute(name, value);
    return parseMediaAttribute(name, value);
  }

  Result<void> parseSessionAttribute(std::string_view name, std::string_view value) {
    if (name == "ice-lite") {
      desc_.iceLite = true;
    } else if (name == "group") {
      auto t = splitWhitespace(value);
      if (t.empty()) return fail("a=group needs semantics");
      Group g{std::string(t[0]), {}};
      for (size_t i = 1; i < t.size(); ++i) g.mids.emplace_back(t[i]);
      desc_.groups.push_back(std::move(g));
    } else if (name == "end-of-candidates") {
      desc_.sessionEndOfCandidates = true;
    } else if (name == "msid-semantic") {
      desc_.msidSemantic = std::string(value);
    }
    return {};
  }

  Result<void> parseMediaAttribute(std::string_view name, std::string_view value) {
    MediaSection& m = *media_;
    if (name == "mid") {
      if (value.empty() || value.size() > kMaxMid) return fail("bad a=mid");
      m.mid = std::string(value);
    } else if (name == "rtcp-mux") {
      m.rtcpMux = true;
    } else if (name == "rtcp-mux-only") {
      m.rtcpMuxOnly = true;
    } else if (name == "rtcp-rsize") {
      m.rtcpRsize = true;
    } else if (name == "bundle-only") {
      m.bundleOnly = true;
    } else if (name == "end-of-candidates") {
      m.endOfCandidates = true;
    } else if (name == "rtpmap") {
      return parseRtpMap(value);
    } else if (name == "fmtp") {
      return parseFmtp(value);
    } else if (name == "rtcp-fb") {
      return parseRtcpFb(value);
    } else if (name == "extmap") {
      return parseExtMap(value);
    } else if (name == "ssrc") {
      return parseSsrc(value);
    } else if (name == "ssrc-group") {
      auto t = splitWhitespace(value);
      if (t.empty()) return fail("a=ssrc-group needs semantics");
      SsrcGroup g{std::string(t[0]), {}};
      for (size_t i = 1; i < t.size(); ++i) {
        auto s = parseUnsigned<uint32_t>(t[i], UINT32_MAX);
        if (!s) return fail("bad SSRC in a=ssrc-group");
        g.ssrcs.push_back(*s);
      }
      m.ssrcGroups.push_back(std::move(g));
    } else if (name == "msid") {
      auto t = splitWhitespace(value);
      if (t.empty() || t.size() > 2) return fail("bad a=msid");
      m.msid = Msid{std::string(t[0]), t.size() > 1 ? std::string(t[1]) : std::string()};
    } else if (name == "rid") {
      auto t = splitWhitespace(value);
      if (t.size() < 2) return fail("bad a=rid");
      Rid r{std::string(t[0]), std::string(t[1]), {}};
      if (t.size() > 2) r.params = std::string(t[2]);
      m.rids.push_back(std::move(r));
    } else if (name == "simulcast") {
      m.simulcast = std::string(value);
    } else if (name == "candidate") {
      // ICE-lite ignores offered candidates; a malformed one is skipped, not fatal.
      if (auto c = parseCandidate(value)) m.candidates.push_back(std::move(*c));
    } else if (name == "sctp-port") {
      auto p = parseUnsigned<uint16_t>(value, 65535);
      if (!p) return fail("bad a=sctp-port");
      m.sctpPort = *p;
    } else if (name == "sctpmap") {
      m.sctpmap = std::string(value);
    } else if (name == "max-message-size") {
      auto s = parseUnsigned<uint64_t>(value, UINT64_MAX);
      if (!s) return fail("bad a=max-message-size");
      m.maxMessageSize = *s;
    }
    return {};
  }

  Result<void> parseFingerprint(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() != 2) return fail("a=fingerprint needs <hash-func> <fingerprint>");
    Fingerprint f;
    f.algorithm = text::toLower(t[0]);
    std::string_view hex = t[1];
    for (size_t i = 0; i < hex.size();) {
      if (i + 2 > hex.size()) return fail("bad a=fingerprint hex");
      int hi = hexValue(hex[i]);
      int lo = hexValue(hex[i + 1]);
      if (hi < 0 || lo < 0) return fail("bad a=fingerprint hex");
      f.bytes.push_back(static_cast<uint8_t>(hi << 4 | lo));
      i += 2;
      if (i < hex.size()) {
        if (hex[i] != ':' || i + 1 == hex.size()) return fail("bad a=fingerprint hex");
        ++i;
      }
    }
    size_t want = digestLength(f.algorithm);
    if (f.bytes.empty() || (want != 0 && f.bytes.size() != want)) {
      return fail("a=fingerprint " + f.algorithm + " has " + std::to_string(f.bytes.size()) +
                  " bytes");
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < f.bytes.size(); ++i) {
      if (i) f.value += ':';
      f.value += kHex[f.bytes[i] >> 4];
      f.value += kHex[f.bytes[i] & 0xf];
    }
    (media_ ? media_->fingerprints : desc_.fingerprints).push_back(std::move(f));
    return {};
  }

  Result<void> parseRtpMap(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() != 2) return fail("a=rtpmap needs <pt> <encoding>/<clock>");
    auto pt = parseUnsigned<int>(t[0], 127);
    if (!pt) return fail("bad payload type in a=rtpmap");
    std::string_view enc = t[1];
    size_t s1 = enc.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return fail("a=rtpmap needs a clock rate");
    RtpMap r;
    r.payloadType = *pt;
    r.encoding = std::string(enc.substr(0, s1));
    std::string_view rest = enc.substr(s1 + 1);
    size_t s2 = rest.find('/');
    auto clock = parseUnsigned<uint32_t>(rest.substr(0, s2), UINT32_MAX);
    if (!clock || *clock == 0) return fail("bad clock rate in a=rtpmap");
    r.clockRate = *clock;
    if (s2 != std::string_view::npos) {
      auto ch = parseUnsigned<uint32_t>(rest.substr(s2 + 1), 255);
      if (!ch) return fail("bad channel count in a=rtpmap");
      r.channels = *ch;
    }
    // A repeated rtpmap for a PT is ignored (first wins), which also bounds the list at 128.
    if (!media_->rtpMap(r.payloadType)) media_->rtpMaps.push_back(std::move(r));
    return {};
  }

  Result<void> parseFmtp(std::string_view value) {
    size_t sp = value.find_first_of(" \t");
    auto pt = parseUnsigned<int>(value.substr(0, sp), 127);
    if (!pt) return fail("bad payload type in a=fmtp");
    Fmtp f;
    f.payloadType = *pt;
    if (sp != std::string_view::npos) f.raw = std::string(text::trim(value.substr(sp)));
    std::string_view rest = f.raw;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view item = text::trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (item.empty()) continue;
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        f.params.emplace_back(std::string(item), std::string());
      } else {
        f.params.emplace_back(text::toLower(text::trim(item.substr(0, eq))),
                              std::string(text::trim(item.substr(eq + 1))));
      }
    }
    if (!media_->fmtp(f.payloadType)) media_->fmtps.push_back(std::move(f));
    return {};
  }

  Result<void> parseRtcpFb(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() < 2) return fail("a=rtcp-fb needs <pt> <type>");
    RtcpFb fb;
    if (t[0] != "*") {
      auto pt = parseUnsigned<int>(t[0], 127);
      if (!pt) return fail("bad payload type in a=rtcp-fb");
      fb.payloadType = *pt;
    }
    fb.type = std::string(t[1]);
    if (t.size() > 2) fb.subtype = std::string(t[2]);
    media_->rtcpFbs.push_back(std::move(fb));
    return {};
  }

  Result<void> parseExtMap(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() < 2) return fail("a=extmap needs <id> <uri>");
    ExtMap e;
    std::string_view idText = t[0];
    if (auto slash = idText.find('/'); slash != std::string_view::npos) {
      e.direction = parseDirection(idText.substr(slash + 1));
      if (!e.direction) return fail("bad direction in a=extmap");
      idText = idText.substr(0, slash);
    }
    auto id = parseUnsigned<int>(idText, 255);
    if (!id || *id == 0) return fail("bad id in a=extmap (RFC 8285: 1-255)");
    e.id = *id;
    e.uri = std::string(t[1]);
    for (size_t i = 2; i < t.size(); ++i) {
      if (!e.attributes.empty()) e.attributes += ' ';
      e.attributes += t[i];
    }
    media_->extMaps.push_back(std::move(e));
    return {};
  }

  Result<void> parseSsrc(std::string_view value) {
    size_t sp = value.find_first_of(" \t");
    auto ssrc = parseUnsigned<uint32_t>(value.substr(0, sp), UINT32_MAX);
    if (!ssrc || sp == std::string_view::npos) return fail("a=ssrc needs <ssrc> <attribute>");
    std::string_view attr = text::trim(value.substr(sp));
    SsrcAttr a;
    a.ssrc = *ssrc;
    size_t colon = attr.find(':');
    a.attribute = std::string(attr.substr(0, colon));
    if (colon != std::string_view::npos) a.value = std::string(attr.substr(colon + 1));
    media_->ssrcAttrs.push_back(std::move(a));
    return {};
  }

  static std::optional<Candidate> parseCandidate(std::string_view value) {
    auto t = splitWhitespace(value);
    if (t.size() < 8 || t[6] != "typ") return std::nullopt;
    Candidate c;
    c.foundation = std::string(t[0]);
    auto comp = parseUnsigned<uint32_t>(t[1], 256);
    auto prio = parseUnsigned<uint32_t>(t[3], UINT32_MAX);
    auto port = parseUnsigned<uint16_t>(t[5], 65535);
    if (!comp || !prio || !port) return std::nullopt;
    c.component = *comp;
    c.transport = text::toLower(t[2]);
    c.priority = *prio;
    c.address = std::string(t[4]);
    c.port = *port;
    c.type = std::string(t[7]);
    for (size_t i = 8; i + 1 < t.size(); i += 2) {
      if (t[i] == "tcptype") c.tcpType = std::string(t[i + 1]);
    }
    std::string lower = text::toLower(c.address);
    c.mdns = lower.size() > 6 && lower.ends_with(".local");
    return c;
  }

  const ParseLimits& limits_;
  ParseMode mode_;
  SessionDescription desc_;
  MediaSection* media_ = nullptr;  // current m= section, nullptr at session level
  MediaDirection sessionDirection_ = MediaDirection::kSendRecv;
  size_t lineNo_ = 0;
};

}  // namespace

Result<SessionDescription> parseSdp(std::string_view text, const ParseLimits& limits,
                                    ParseMode mode) {
  return Parser(limits, mode).run(text);
}

}  // namespace medrelay::media::sdp
