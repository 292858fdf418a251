#pragma once
// A real media::Router on 127.0.0.1 with WebRTC clients (bench/load/webrtc_peer.h) doing ICE,
// DTLS and SRTP against it, in one thread: the router's loop and the clients' loop are run by
// turns (runOnce). Sessions are built as signalling::WhipEndpoint::handleJoin builds them,
// minus HTTP. Used by the router tests (tests/integration/media/) and bench/router_bench.cpp.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/webrtc_peer.h"
#include "media/router.h"
#include "media/sdp/sdp_parser.h"

namespace medrelay::test {

class RouterPeers {
 public:
  static constexpr uint32_t kAudioSsrc = 0x11110001;
  static constexpr uint32_t kVideoSsrc = 0x11110002;
  static constexpr const char* kRoom = "room-test";

  // Offer for a join: (publish, ufrag, pwd, our fingerprint) → SDP.
  using OfferWriter = std::function<std::string(bool publish, const std::string& ufrag,
                                                const std::string& pwd, const std::string& fp)>;

  ~RouterPeers() {
    peers_.clear();  // client loop handles first, then the router on its own loop
    router_.reset();
  }

  // Empty on success, else why not.
  std::string setUp(media::SessionObserver* observer = nullptr,
                    media::Router::Options options = {}) {
    auto cert = media::DtlsCertificate::generate();
    if (!cert.ok()) return "certificate: " + cert.error().message;
    auto clientDtls = media::DtlsContext::create(cert.value());
    if (!clientDtls.ok()) return "client DtlsContext: " + clientDtls.error().message;
    clientDtls_ = std::move(clientDtls).value();
    media::WorkerTransport::Config tc;
    tc.udp.push_back(*net::SocketAddress::fromIp("127.0.0.1", 0));
    auto router = media::Router::create(relayLoop_, tc, cert.value(), metrics_, observer, options);
    if (!router.ok()) return "Router::create: " + router.error().message;
    router_ = std::move(router).value();
    port_ = router_->transport().udpSocket(0).localAddress().port();
    fingerprint_ = cert.value()->sdpFingerprint();
    return {};
  }

  // A publish (target empty) or subscribe session (receiving `target`'s invite) and its client,
  // which starts ICE at once. Subscribers are allowed to receive their target.
  std::string join(const std::string& sessionId, const std::string& inviteId, std::string role,
                   bool publish, const std::string& target, const OfferWriter& offerWriter) {
    using media::IceLite;
    namespace sdp = media::sdp;
    const std::string ufrag = IceLite::randomIceString(IceLite::kUfragChars);
    const std::string pwd = IceLite::randomIceString(IceLite::kPasswordChars);
    auto offer = sdp::parseSdp(offerWriter(publish, ufrag, pwd, fingerprint_));
    if (!offer.ok()) return "offer: " + offer.error().message;

    sdp::LocalTransport local;
    local.iceUfrag = IceLite::randomIceString(IceLite::kUfragChars);
    local.icePwd = IceLite::randomIceString(IceLite::kPasswordChars);
    auto ours = media::Fingerprint::parse(fingerprint_);
    local.fingerprint.algorithm = "sha-256";
    local.fingerprint.value = ours->hex();
    local.fingerprint.bytes.assign(ours->digest.begin(), ours->digest.begin() + ours->size);
    local.candidates.push_back({sdp::LocalCandidate::Transport::kUdp, "127.0.0.1", port_});
    std::vector<sdp::SendTrack> tracks;
    if (!publish) {
      const uint32_t base = 0x22220000u + static_cast<uint32_t>(peers_.size()) * 4;
      tracks.push_back({sdp::MediaKind::kAudio, base + 1, 0, "medrelay", sessionId, "audio"});
      tracks.push_back(
          {sdp::MediaKind::kVideo, base + 2, base + 3, "medrelay", sessionId, "video"});
    }
    auto answer = sdp::negotiateAnswer(offer.value(), sdp::Capabilities{}, local, tracks);
    if (!answer.ok()) return "negotiateAnswer: " + answer.error().message;
    const sdp::NegotiatedSession& neg = answer->session;
    auto transport = media::transportParams(local, neg);
    if (!transport) return "answer: bad remote fingerprint";

    media::SessionSpec spec;
    spec.publish = publish;
    spec.targetInvite = target;
    spec.sessionId = sessionId;
    spec.roomId = kRoom;
    spec.inviteId = inviteId;
    spec.role = std::move(role);
    spec.transport = std::move(*transport);
    spec.negotiated = neg;
    if (auto r = router_->createSession(std::move(spec)); !r.ok()) {
      return "createSession: " + r.error().message;
    }
    if (!publish) rules_.allow(inviteId, target);
    router_->setForwardingRules(kRoom, rules_);
    sessionIds_.push_back(sessionId);

    auto remote = bench::parseAnswer(answer->sdp);
    if (!remote) return "parseAnswer failed on:\n" + answer->sdp;
    auto peer = std::make_unique<bench::WebRtcPeer>(clientLoop_, *clientDtls_, ufrag, pwd);
    if (!peer->openSocket() || !peer->start(*remote)) return "WebRtcPeer did not start";
    peers_.push_back(std::move(peer));
    return {};
  }

  // One non-blocking iteration of the relay's loop: timers, socket reads, sendmmsg flush.
  void runRelayOnce() { uv_run(relayLoop_.loop(), UV_RUN_NOWAIT); }
  // Both loops, once each.
  void runOnce() {
    runRelayOnce();
    uv_run(clientLoop_.loop(), UV_RUN_NOWAIT);
  }
  // Runs both loops until pred() holds or timeout passes; pred()'s last value.
  bool runUntil(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      runOnce();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }
  // Runs both loops for `duration`.
  void runFor(std::chrono::milliseconds duration) {
    runUntil([] { return false; }, duration);
  }

  // ICE, DTLS and SRTP on both loops until every client and every session is connected.
  std::string waitConnected() {
    bool failed = false;
    const bool all = runUntil([&] {
      bool done = true;
      for (const auto& id : sessionIds_) {
        auto* s = router_->session(id);
        done = done && s != nullptr && s->transport().connected();
      }
      for (auto& p : peers_) {
        failed = failed || p->failed();
        done = done && p->connected();
      }
      return done || failed;
    });
    if (failed) return "a client's DTLS handshake failed";
    return all ? std::string() : "peers did not connect within 10 s";
  }

  media::Router& router() { return *router_; }
  media::ParticipantSession& session(size_t i) { return *router_->session(sessionIds_.at(i)); }
  bench::WebRtcPeer& peer(size_t i) { return *peers_.at(i); }
  metrics::MediaWorkerMetrics& metrics() { return metrics_; }
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  net::Dispatcher relayLoop_{"test-relay"};
  net::Dispatcher clientLoop_{"test-clients"};
  metrics::MediaWorkerMetrics metrics_;
  std::unique_ptr<media::DtlsContext> clientDtls_;
  std::unique_ptr<media::Router> router_;
  std::vector<std::unique_ptr<bench::WebRtcPeer>> peers_;
  std::vector<std::string> sessionIds_;
  media::ForwardingRules rules_;
  std::string fingerprint_;
  uint16_t port_ = 0;
};

}  // namespace medrelay::test
