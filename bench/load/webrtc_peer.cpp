#include "bench/load/webrtc_peer.h"

#include <array>
#include <chrono>
#include <random>
#include <sstream>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_constants.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::bench {

namespace {

uint64_t nowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::mt19937_64& rng() {
  static std::mt19937_64 r{std::random_device{}()};
  return r;
}

// "a=name:value" → value, for the first such line.
std::string attribute(const std::string& sdp, const std::string& name) {
  const std::string key = "a=" + name + ":";
  size_t pos = sdp.find(key);
  if (pos == std::string::npos) return {};
  pos += key.size();
  size_t end = sdp.find_first_of("\r\n", pos);
  return sdp.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

}  // namespace

std::optional<RemoteDescription> parseAnswer(const std::string& sdp) {
  RemoteDescription d;
  d.iceUfrag = attribute(sdp, "ice-ufrag");
  d.icePwd = attribute(sdp, "ice-pwd");
  d.fingerprint = attribute(sdp, "fingerprint");
  // RFC 8839 §5.1: candidate:<foundation> <component> <transport> <priority> <ip> <port> typ …
  std::istringstream lines(sdp);
  std::string line;
  bool found = false;
  while (!found && std::getline(lines, line)) {
    if (line.rfind("a=candidate:", 0) != 0) continue;
    std::istringstream f(line.substr(12));
    std::string foundation, component, transport, priority, ip, port, typ, type;
    f >> foundation >> component >> transport >> priority >> ip >> port >> typ >> type;
    if ((transport != "udp" && transport != "UDP") || type != "host") continue;
    auto a = net::SocketAddress::fromIp(ip, static_cast<uint16_t>(std::stoi(port)));
    if (a) {
      d.candidate = *a;
      found = true;
    }
  }
  if (!found || d.iceUfrag.empty() || d.icePwd.empty() || d.fingerprint.empty()) {
    return std::nullopt;
  }
  return d;
}

std::string writeOffer(bool publish, const std::string& ufrag, const std::string& pwd,
                       const std::string& fingerprint, uint32_t audioSsrc, uint32_t videoSsrc) {
  const std::string dir = publish ? "sendonly" : "recvonly";
  auto common = [&](const std::string& mid) {
    return "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:" + ufrag +
           "\r\na=ice-pwd:" + pwd + "\r\na=fingerprint:" + fingerprint +
           "\r\na=setup:actpass\r\na=mid:" + mid + "\r\na=" + dir + "\r\na=rtcp-mux\r\n";
  };
  std::string s =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "a=msid-semantic: WMS load\r\n";
  s += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + common("0") +
       "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
  if (publish) {
    s += "a=msid:load audio\r\na=ssrc:" + std::to_string(audioSsrc) + " cname:load\r\n";
  }
  s += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" + common("1") +
       "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
       "a=rtcp-fb:96 ccm fir\r\n";
  if (publish) {
    s += "a=msid:load video\r\na=ssrc:" + std::to_string(videoSsrc) + " cname:load\r\n";
  }
  return s;
}

WebRtcPeer::WebRtcPeer(net::Dispatcher& dispatcher, media::DtlsContext& dtls,
                       std::string localUfrag, std::string localPwd)
    : dispatcher_(dispatcher),
      dtlsContext_(dtls),
      localUfrag_(std::move(localUfrag)),
      localPwd_(std::move(localPwd)),
      iceTimer_(dispatcher, [this] { onTimer(); }) {}

WebRtcPeer::~WebRtcPeer() {
  iceTimer_.stop();
  if (dtls_) dtls_->close();
}

bool WebRtcPeer::openSocket(const std::string& ip) {
  net::UdpSocket::Options o;
  auto bind = net::SocketAddress::fromIp(ip, 0);
  if (!bind) return false;
  o.bind = *bind;
  o.recvBufferBytes = 1 << 20;
  o.sendBufferBytes = 1 << 20;
  auto s = net::UdpSocket::open(dispatcher_, o, *this);
  if (!s) return false;
  socket_ = std::move(s.value());
  return true;
}

bool WebRtcPeer::start(const RemoteDescription& remote) {
  remote_ = remote;
  auto fp = media::Fingerprint::parse(remote.fingerprint);
  if (!fp || !socket_) return false;
  dtls_ = std::make_unique<media::DtlsTransport>(dispatcher_, dtlsContext_, *this);
  dtls_->setRemoteFingerprint(*fp);
  for (auto& b : tid_) b = static_cast<uint8_t>(rng()());
  if (turnServer_) {
    turn_ = std::make_unique<TurnClient>(*turnServer_, remote.candidate);
    pumpTurn();
  } else {
    iceStarted_ = true;
    sendBindingRequest();
  }
  iceTimer_.start(std::chrono::milliseconds(100), std::chrono::milliseconds(100));
  return true;
}

void WebRtcPeer::onTimer() {
  if (turn_) {
    pumpTurn();
    if (!turn_->ready()) return;
    iceStarted_ = true;
  }
  sendBindingRequest();
}

void WebRtcPeer::pumpTurn() {
  while (auto req = turn_->poll(nowMs()))
    socket_->sendNow(turn_->server(), req->data(), req->size());
}

bool WebRtcPeer::toSfu(const uint8_t* data, size_t len, bool now) {
  if (!turn_) {
    return now ? socket_->sendNow(remote_.candidate, data, len)
               : socket_->send(remote_.candidate, data, len);
  }
  if (!turn_->ready()) return false;
  frame_.resize(len + TurnClient::kHeader);
  const size_t n = TurnClient::frame(data, len, frame_.data());
  return now ? socket_->sendNow(turn_->server(), frame_.data(), n)
             : socket_->send(turn_->server(), frame_.data(), n);
}

// RFC 8445 §7.1.1–7.1.2: USERNAME remote:local, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
// MESSAGE-INTEGRITY with the remote password, FINGERPRINT. Once connected, the same request with
// a fresh transaction id is the consent check of RFC 7675 §5.1 (every 5 s here); medrelay ends a
// session that sends none for 30 s, so runs longer than that depend on it.
void WebRtcPeer::sendBindingRequest() {
  if (iceDone_) {
    for (auto& b : tid_) b = static_cast<uint8_t>(rng()());
  }
  namespace st = net::stun;
  std::array<uint8_t, 256> buf{};
  st::StunBuilder b(buf, st::MessageClass::kRequest, st::method::kBinding, tid_);
  b.addString(st::attr::kUsername, remote_.iceUfrag + ":" + localUfrag_);
  b.addU32(st::attr::kPriority, (110u << 24) | (65535u << 8) | 255u);
  b.addU64(st::attr::kIceControlling, rng()());
  b.addEmpty(st::attr::kUseCandidate);
  b.addMessageIntegrity(st::keyBytes(remote_.icePwd));
  b.addFingerprint();
  auto out = b.finish();
  if (out) toSfu(out->data(), out->size(), true);
}

void WebRtcPeer::onDatagram(const net::SocketAddress& from, uint8_t* data, size_t len) {
  if (turn_ && from == turn_->server()) {
    auto payload = turn_->onDatagram(data, len, nowMs());
    pumpTurn();
    if (turn_->ready() && !iceStarted_) {
      iceStarted_ = true;
      sendBindingRequest();
    }
    if (payload) onSfuDatagram(payload->data(), payload->size());
    return;
  }
  onSfuDatagram(data, len);
}

void WebRtcPeer::onSfuDatagram(uint8_t* data, size_t len) {
  if (len == 0) return;
  const uint8_t b0 = data[0];
  if (b0 < 4) {  // RFC 7983 §7: STUN
    auto msg = net::stun::StunMessage::parse({data, len});
    if (!msg || iceDone_ || msg->method() != net::stun::method::kBinding ||
        msg->messageClass() != net::stun::MessageClass::kSuccessResponse ||
        msg->transactionId() != tid_) {
      return;
    }
    if (net::stun::checkMessageIntegrity(*msg, net::stun::keyBytes(remote_.icePwd)) !=
        net::stun::IntegrityResult::kOk) {
      return;
    }
    iceDone_ = true;
    iceTimer_.stop();
    iceTimer_.start(std::chrono::seconds(5), std::chrono::seconds(5));
    if (!dtls_->start(media::DtlsRole::kClient)) failed_ = true;
    return;
  }
  if (media::DtlsTransport::looksLikeDtls(data, len)) {
    dtls_->receive(data, len);
    return;
  }
  if (b0 >= 128 && b0 <= 191 && len >= 12 && inbound_) {
    const uint8_t pt = data[1] & 0x7f;
    if (pt >= 64 && pt <= 95) {  // RTCP (RFC 5761 §4): PLI/NACK/SR, not measured by the load
      if (onRtcp_ && inbound_->unprotectRtcp(data, len)) onRtcp_(data, len);
      return;
    }
    if (!inbound_->unprotectRtp(data, len)) {
      ++unprotectFailures_;
      return;
    }
    if (onMedia_) onMedia_(data, len);
  }
}

void WebRtcPeer::onDtlsSend(const uint8_t* data, size_t len) {
  toSfu(data, len, true);
}

void WebRtcPeer::onDtlsConnected(media::SrtpProfile profile, const media::SrtpKeys& keys) {
  auto out = media::SrtpSession::create(media::SrtpSession::Kind::kOutbound, profile, keys.local);
  auto in = media::SrtpSession::create(media::SrtpSession::Kind::kInbound, profile, keys.remote);
  if (!out || !in) {
    failed_ = true;
    return;
  }
  inbound_.emplace(std::move(in.value()));
  outbound_.emplace(std::move(out.value()));
}

void WebRtcPeer::onDtlsFailed(media::DtlsFailure /*reason*/) {
  failed_ = true;
}

bool WebRtcPeer::sendRtp(uint8_t* buf, size_t len, size_t capacity) {
  if (!outbound_ || !outbound_->protectRtp(buf, len, capacity)) return false;
  return toSfu(buf, len, false);
}

bool WebRtcPeer::sendRtcp(uint8_t* buf, size_t len, size_t capacity) {
  if (!outbound_ || !outbound_->protectRtcp(buf, len, capacity)) return false;
  return toSfu(buf, len, true);
}

}  // namespace medrelay::bench
