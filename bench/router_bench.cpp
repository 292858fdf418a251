// Router fan-out: one RTP packet from a publisher forwarded by a real media::Router to K
// subscribers (K = 1, 2, 4, 8), audio (200 B, Opus) and video (1200 B, VP8).
//
// What one iteration measures: ParticipantSession::onTransportRtp (the entry point after SRTP
// unprotect) → ForwardingRoom::onRtp → per consumer: copy into the worker scratch, rewrite SSRC,
// payload type, sequence and timestamp (RtpSeqTsRewriter), RFC 8285 extension id remap (audio-level
// kept, transport-cc erased), RTX store (video), SRTP protect (the profile DTLS negotiated) and
// queueing into WorkerTransport's sendmmsg batch; every 32 packets the loop runs once
// (UV_RUN_NOWAIT) so the batches are flushed and the syscall cost is included. Not measured: SRTP
// unprotect and recvmmsg on the way in, and the subscribers' receive side (their sockets are on a
// second loop that does not run while timing, so loopback may drop there; the router's counters are
// checked instead so the benchmark cannot measure drops).
//
// Setup (not timed): a Router on 127.0.0.1:0, one publish and K subscribe sessions built as
// signalling::WhipEndpoint::handleJoin does, and WebRtcPeer clients doing ICE, DTLS and SRTP
// against it.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/webrtc_peer.h"
#include "media/router.h"
#include "tests/support/router_peers.h"

namespace medrelay::media {
namespace {

constexpr size_t kFlushEvery = 32;
constexpr uint32_t kAudioSsrc = test::RouterPeers::kAudioSsrc;
constexpr uint32_t kVideoSsrc = test::RouterPeers::kVideoSsrc;
constexpr const char* kAudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
constexpr const char* kTransportCcUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr const char* kSubscriberRoles[] = {"patient", "nurse", "attending_doctor", "supporter"};

// writeOffer plus RFC 8285 extmap lines (audio-level on audio, transport-cc on video), so the
// forwarded packets carry the extensions browsers send.
std::string offerWithExtensions(bool publish, const std::string& ufrag, const std::string& pwd,
                                const std::string& fingerprint) {
  std::string s = bench::writeOffer(publish, ufrag, pwd, fingerprint, kAudioSsrc, kVideoSsrc);
  auto insertAfter = [&s](const std::string& line, const std::string& add) {
    const size_t at = s.find(line);
    if (at != std::string::npos) s.insert(at + line.size(), add);
  };
  insertAfter("a=rtpmap:111 opus/48000/2\r\n",
              std::string("a=extmap:1 ") + kAudioLevelUri + "\r\n");
  insertAfter("a=rtpmap:96 VP8/90000\r\n", std::string("a=extmap:3 ") + kTransportCcUri + "\r\n");
  return s;
}

// One router, its publisher and K subscribers, each with a WebRtcPeer on the client loop.
class FanOut {
 public:
  // Empty on success, else why not.
  std::string setUp(int subscribers) {
    if (auto e = peers_.setUp(); !e.empty()) return e;
    if (auto e = peers_.join("pub", "inv-pub", "doctor", true, "", offerWithExtensions);
        !e.empty()) {
      return e;
    }
    for (int i = 0; i < subscribers; ++i) {
      const std::string n = std::to_string(i);
      auto e = peers_.join("sub-" + n, "inv-sub-" + n, kSubscriberRoles[i % 4], false, "inv-pub",
                           offerWithExtensions);
      if (!e.empty()) return e;
    }
    if (auto e = peers_.waitConnected(); !e.empty()) return e;
    for (int i = 0; i < subscribers; ++i) subscribers_.push_back(&peers_.session(i + 1));
    return {};
  }

  Router& router() { return peers_.router(); }
  ParticipantSession& publisher() { return peers_.session(0); }
  std::vector<ParticipantSession*>& subscribers() { return subscribers_; }
  // One non-blocking loop iteration of the relay: timers, socket reads, sendmmsg flush.
  void runRelayOnce() { peers_.runRelayOnce(); }

 private:
  test::RouterPeers peers_;
  std::vector<ParticipantSession*> subscribers_;
};

// An RTP packet of `size` bytes from `p` with one one-byte-header extension element (RFC 8285
// §4.2): audio-level on audio, transport-cc on video (then a VP8 descriptor, RFC 7741 §4.2).
std::vector<uint8_t> packetTemplate(const Producer& p, size_t size) {
  std::vector<uint8_t> b(size, 0x5a);
  b[0] = 0x90;  // V=2, X=1
  b[1] = p.payloadType;
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<uint8_t>(p.ssrc >> (24 - 8 * i));
  b[12] = 0xbe;
  b[13] = 0xde;
  b[14] = 0;
  b[15] = 1;  // one 32-bit word of elements
  const bool video = p.kind == sdp::MediaKind::kVideo;
  const uint8_t id = video ? (p.ext.transportWideCc ? p.ext.transportWideCc : 3)
                           : (p.ext.audioLevel ? p.ext.audioLevel : 1);
  b[16] = static_cast<uint8_t>(id << 4 | (video ? 1 : 0));  // L = length - 1
  b[17] = 0x12;
  b[18] = video ? 0x34 : 0;
  b[19] = 0;
  if (video) {
    b[20] = 0x10;  // S=1, partition 0
    b[21] = 0x00;  // VP8 payload header, P=0: keyframe
  }
  return b;
}

void setSeqTs(uint8_t* b, uint16_t seq, uint32_t ts) {
  b[2] = static_cast<uint8_t>(seq >> 8);
  b[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
}

struct Snapshot {
  std::vector<uint64_t> consumerPackets;
  uint64_t datagramsOut = 0;
  uint64_t sendDrops = 0;
};

Snapshot snapshot(FanOut& f, sdp::MediaKind kind) {
  Snapshot s;
  for (auto* sub : f.subscribers()) {
    for (auto& c : sub->consumers()) {
      if (c->kind == kind) s.consumerPackets.push_back(c->packets);
    }
  }
  const auto& u = f.router().transport().udpSocket(0).counters();
  s.datagramsOut = u.datagramsOut;
  s.sendDrops = u.sendDropWouldBlock + u.sendDropError + u.sendDropInvalid;
  return s;
}

void BM_RouterFanOut(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const auto size = static_cast<size_t>(state.range(1));
  const bool video = size > 500;
  const sdp::MediaKind kind = video ? sdp::MediaKind::kVideo : sdp::MediaKind::kAudio;
  if (auto r = srtpInit(); !r.ok()) return state.SkipWithError("srtpInit failed");
  FanOut f;
  if (auto e = f.setUp(k); !e.empty()) return state.SkipWithError(e.c_str());

  ParticipantSession& publisher = f.publisher();  // no map look-up inside the timed loop
  Producer* producer = nullptr;
  for (auto& p : publisher.producers()) {
    if (p->kind == kind) producer = p.get();
  }
  if (!producer || producer->consumers.size() != static_cast<size_t>(k)) {
    return state.SkipWithError("the publisher's producer is not bound to every consumer");
  }
  const std::vector<uint8_t> tmpl = packetTemplate(*producer, size);
  std::vector<uint8_t> buf(tmpl.size() + WebRtcTransport::kMaxTrailer);
  uint16_t seq = 1000;
  uint32_t ts = 90000;
  const uint32_t tsStep = video ? 3000 : 960;  // 30 fps / 20 ms Opus frames

  // Warm-up (not timed): a keyframe first, so video consumers stop waitingKeyframe.
  std::memcpy(buf.data(), tmpl.data(), tmpl.size());
  setSeqTs(buf.data(), seq++, ts);
  ts += tsStep;
  publisher.onTransportRtp(buf.data(), tmpl.size());
  f.runRelayOnce();
  for (auto* sub : f.subscribers()) {
    for (auto& c : sub->consumers()) {
      if (c->kind == kind && (!c->allowed || (video && c->waitingKeyframe))) {
        return state.SkipWithError("a consumer is not forwarding after the first packet");
      }
    }
  }
  const Snapshot before = snapshot(f, kind);

  std::vector<uint8_t> delta = tmpl;
  if (video) delta[21] = 0x01;  // P=1: interframes from here on
  size_t n = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), delta.data(), delta.size());
    setSeqTs(buf.data(), seq++, ts);
    ts += tsStep;
    publisher.onTransportRtp(buf.data(), delta.size());
    if (++n % kFlushEvery == 0) f.runRelayOnce();
  }
  f.runRelayOnce();

  // The router must have forwarded every packet to every consumer and handed each to the kernel.
  const Snapshot after = snapshot(f, kind);
  const auto iterations = static_cast<uint64_t>(state.iterations());
  for (size_t i = 0; i < after.consumerPackets.size(); ++i) {
    if (after.consumerPackets[i] - before.consumerPackets[i] != iterations) {
      return state.SkipWithError("a consumer's packet count did not rise by the iterations");
    }
  }
  if (after.consumerPackets.size() != static_cast<size_t>(k)) {
    return state.SkipWithError("wrong number of consumers");
  }
  if (after.datagramsOut - before.datagramsOut < iterations * static_cast<uint64_t>(k)) {
    return state.SkipWithError("fewer datagrams left the relay socket than were forwarded");
  }
  const auto forwarded = static_cast<double>(iterations) * k;
  std::string label = video ? "video VP8" : "audio Opus";
  if (auto profile = f.subscribers().front()->transport().srtpProfile()) {
    label += ", " + std::string(srtpProfileParams(*profile).name);
  }
  state.SetLabel(label);
  state.SetItemsProcessed(static_cast<int64_t>(forwarded));  // forwarded packets per second
  state.SetBytesProcessed(static_cast<int64_t>(forwarded * static_cast<double>(size)));
  // Time per forwarded copy in ns: (forwarded × 1e-9) / t, inverted.
  state.counters["ns_per_consumer"] = benchmark::Counter(
      forwarded * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["send_drops"] = static_cast<double>(after.sendDrops - before.sendDrops);
}

BENCHMARK(BM_RouterFanOut)
    ->ArgNames({"consumers", "bytes"})
    ->ArgsProduct({{1, 2, 4, 8}, {200, 1200}});

}  // namespace
}  // namespace medrelay::media
