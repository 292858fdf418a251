#include "media/sdp/sdp_writer.h"

namespace medrelay::media::sdp {
namespace {

class Writer {
 public:
  void line(const std::string& s) {
    out_ += s;
    out_ += "\r\n";
  }
  void attr(const std::string& name) { line("a=" + name); }
  void attr(const std::string& name, const std::string& value) { line("a=" + name + ":" + value); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void writeTransport(Writer& w, const std::string& ufrag, const std::string& pwd,
                    const std::vector<std::string>& options,
                    const std::vector<Fingerprint>& fingerprints, Setup setup) {
  if (!ufrag.empty()) w.attr("ice-ufrag", ufrag);
  if (!pwd.empty()) w.attr("ice-pwd", pwd);
  if (!options.empty()) {
    std::string v;
    for (const auto& o : options) v += (v.empty() ? "" : " ") + o;
    w.attr("ice-options", v);
  }
  for (const auto& f : fingerprints) w.attr("fingerprint", f.algorithm + " " + f.value);
  if (setup != Setup::kNone) w.attr("setup", toString(setup));
}

void writeMedia(Writer& w, const MediaSection& m) {
  std::string mline = "m=" + m.kind + " " + std::to_string(m.port) + " " + m.proto;
  for (const auto& f : m.formats) mline += " " + f;
  w.line(mline);
  const std::string& addr = m.connectionAddress.empty() ? "0.0.0.0" : m.connectionAddress;
  w.line(std::string("c=IN ") + (addr.find(':') != std::string::npos ? "IP6 " : "IP4 ") + addr);
  if (!m.mid.empty()) w.attr("mid", m.mid);
  writeTransport(w, m.iceUfrag, m.icePwd, m.iceOptions, m.fingerprints, m.setup);
  w.attr(toString(m.direction));
  if (m.rtcpMux) w.attr("rtcp-mux");
  if (m.rtcpMuxOnly) w.attr("rtcp-mux-only");
  if (m.rtcpRsize) w.attr("rtcp-rsize");
  if (m.bundleOnly) w.attr("bundle-only");
  for (const auto& r : m.rtpMaps) {
    std::string v =
        std::to_string(r.payloadType) + " " + r.encoding + "/" + std::to_string(r.clockRate);
    if (r.channels) {
      v += '/';
      v += std::to_string(r.channels);
    }
    w.attr("rtpmap", v);
    for (const auto& fb : m.rtcpFbs) {
      if (fb.payloadType != r.payloadType) continue;
      w.attr("rtcp-fb", std::to_string(fb.payloadType) + " " + fb.type +
                            (fb.subtype.empty() ? "" : " " + fb.subtype));
    }
    if (const Fmtp* f = m.fmtp(r.payloadType)) {
      w.attr("fmtp", std::to_string(f->payloadType) + " " + f->raw);
    }
  }
  for (const auto& fb : m.rtcpFbs) {
    if (fb.payloadType == -1)
      w.attr("rtcp-fb", "* " + fb.type + (fb.subtype.empty() ? "" : " " + fb.subtype));
  }
  for (const auto& e : m.extMaps) {
    std::string v = std::to_string(e.id);
    if (e.direction) v += std::string("/") + toString(*e.direction);
    v += " " + e.uri;
    if (!e.attributes.empty()) v += " " + e.attributes;
    w.attr("extmap", v);
  }
  if (m.msid) {
    w.attr("msid", m.msid->streamId + (m.msid->trackId.empty() ? "" : " " + m.msid->trackId));
  }
  for (const auto& g : m.ssrcGroups) {
    std::string v = g.semantics;
    for (uint32_t s : g.ssrcs) {
      v += ' ';
      v += std::to_string(s);
    }
    w.attr("ssrc-group", v);
  }
  for (const auto& s : m.ssrcAttrs) {
    w.attr("ssrc",
           std::to_string(s.ssrc) + " " + s.attribute + (s.value.empty() ? "" : ":" + s.value));
  }
  for (const auto& r : m.rids) {
    w.attr("rid", r.id + " " + r.direction + (r.params.empty() ? "" : " " + r.params));
  }
  if (!m.simulcast.empty()) w.attr("simulcast", m.simulcast);
  if (!m.sctpmap.empty()) w.attr("sctpmap", m.sctpmap);
  if (m.sctpPort) w.attr("sctp-port", std::to_string(m.sctpPort));
  if (m.maxMessageSize) w.attr("max-message-size", std::to_string(m.maxMessageSize));
  for (const auto& c : m.candidates) w.attr("candidate", writeCandidate(c));
  if (m.endOfCandidates) w.attr("end-of-candidates");
}

}  // namespace

std::string writeCandidate(const Candidate& c) {
  std::string v = c.foundation + " " + std::to_string(c.component) + " " + c.transport + " " +
                  std::to_string(c.priority) + " " + c.address + " " + std::to_string(c.port) +
                  " typ " + c.type;
  if (!c.tcpType.empty()) v += " tcptype " + c.tcpType;
  return v;
}

std::string writeSdp(const SessionDescription& d) {
  Writer w;
  w.line("v=0");
  const Origin& o = d.origin;
  w.line("o=" + o.username + " " + o.sessionId + " " + o.sessionVersion + " " + o.netType + " " +
         o.addrType + " " + o.address);
  w.line("s=" + (d.sessionName.empty() ? std::string("-") : d.sessionName));
  w.line("t=0 0");
  // RFC 8839 §5.3: ice-lite is a session-level attribute (Chromium ignores it in a media section).
  if (d.iceLite) w.attr("ice-lite");
  writeTransport(w, d.iceUfrag, d.icePwd, d.iceOptions, d.fingerprints, d.setup);
  for (const auto& g : d.groups) {
    std::string v = g.semantics;
    for (const auto& mid : g.mids) v += " " + mid;
    w.attr("group", v);
  }
  if (d.extmapAllowMixed) w.attr("extmap-allow-mixed");
  if (!d.msidSemantic.empty()) w.attr("msid-semantic", d.msidSemantic);
  for (const auto& m : d.media) writeMedia(w, m);
  return w.take();
}

}  // namespace medrelay::media::sdp
