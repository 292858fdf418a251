// A ForwardingRoom on a real worker: a media::Router on loopback with WebRTC clients (ICE, DTLS,
// SRTP) as publisher and subscriber, and what the room sends each of them (docs/media.md
// "Keyframes", "Session liveness"). The clients' RTCP is read back through SRTCP, so these tests
// see exactly what a browser would.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench/load/webrtc_peer.h"
#include "media/rtp/rtcp_packet.h"
#include "media/rtp/rtp_packet.h"
#include "media/rtp/transport_cc_feedback.h"
#include "tests/support/router_peers.h"

namespace medrelay::media {
namespace {

using namespace std::chrono_literals;
using test::RouterPeers;

constexpr uint8_t kTransportCcId = 3;

// bench::writeOffer with the video section's feedback as given ("nack pli" and/or "ccm fir"),
// and with transport-wide congestion control (the extension and rtcp-fb transport-cc on both
// sections, as browsers offer) when `twcc`.
RouterPeers::OfferWriter offerWithFeedback(bool pli, bool fir, bool twcc = false) {
  return [pli, fir, twcc](bool publish, const std::string& ufrag, const std::string& pwd,
                          const std::string& fp) {
    std::string s = bench::writeOffer(publish, ufrag, pwd, fp, RouterPeers::kAudioSsrc,
                                      RouterPeers::kVideoSsrc);
    auto erase = [&s](const std::string& line) {
      const size_t at = s.find(line);
      if (at != std::string::npos) s.erase(at, line.size());
    };
    if (!pli) erase("a=rtcp-fb:96 nack pli\r\n");
    if (!fir) erase("a=rtcp-fb:96 ccm fir\r\n");
    if (twcc) {
      // As a browser offers: RTX for the video (RFC 4588).
      const std::string mline = "m=video 9 UDP/TLS/RTP/SAVPF 96";
      const size_t video = s.find(mline + "\r\n");
      if (video != std::string::npos) s.insert(video + mline.size(), " 97");
      const size_t vp8 = s.find("a=rtpmap:96 VP8/90000\r\n");
      if (vp8 != std::string::npos) {
        s.insert(vp8, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
      }
      for (const std::string rtpmap :
           {"a=rtpmap:111 opus/48000/2\r\n", "a=rtpmap:96 VP8/90000\r\n"}) {
        const size_t at = s.find(rtpmap);
        if (at == std::string::npos) continue;
        const std::string pt = rtpmap.substr(9, rtpmap.find(' ') - 9);
        s.insert(at + rtpmap.size(),
                 "a=rtcp-fb:" + pt + " transport-cc\r\na=extmap:" + std::to_string(kTransportCcId) +
                     " http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
                     "\r\n");
      }
    }
    return s;
  };
}

// Counts the keyframe requests (PLI, FIR) a client receives.
struct KeyframeRequests {
  int pli = 0;
  int fir = 0;
  std::vector<uint8_t> firSequences;
  void attach(bench::WebRtcPeer& peer) {
    peer.setRtcpHandler([this](const uint8_t* data, size_t len) {
      std::vector<uint8_t> copy(data, data + len);
      auto compound = rtcp::Compound::parse(copy);
      if (!compound) return;
      for (const rtcp::Item item : *compound) {
        auto fb = rtcp::Feedback::parse(item);
        if (!fb || item.type() != rtcp::type::kPsfb) continue;
        if (fb->fmt() == rtcp::fmt::kPli) ++pli;
        if (fb->fmt() == rtcp::fmt::kFir) {
          ++fir;
          if (auto f = rtcp::Fir::parse(*fb); f && f->entryCount() > 0) {
            firSequences.push_back(f->entry(0).sequence);
          }
        }
      }
    });
  }
};

class RouterFeedbackTest : public ::testing::Test {
 protected:
  // A publisher (session 0) and a subscriber of it (session 1), connected.
  void connect(const RouterPeers::OfferWriter& offer, SessionObserver* observer = nullptr,
               uint64_t videoFloorBps = 0) {
    // The clients send nothing between our test packets: no session may go stale and restart
    // its video meanwhile (Router::checkLiveness).
    Router::Options options;
    options.staleAfter = std::chrono::minutes(1);
    options.videoFloorBps = videoFloorBps;
    ASSERT_EQ(peers_.setUp(observer, options), "");
    ASSERT_EQ(peers_.join("pub", "inv-pub", "patient", true, "", offer), "");
    ASSERT_EQ(peers_.join("sub", "inv-sub", "doctor", false, "inv-pub", offer), "");
    ASSERT_EQ(peers_.waitConnected(), "");
    requests_.attach(peers_.peer(0));
  }
  // One VP8 packet from the publisher (RFC 7741 §4.2 descriptor with S=1, then the payload
  // header whose P bit is clear on keyframes, §4.3).
  void sendVideo(bool keyframe) {
    std::array<uint8_t, 200> b{};
    b[0] = 0x80;
    b[1] = 96;
    b[2] = static_cast<uint8_t>(seq_ >> 8);
    b[3] = static_cast<uint8_t>(seq_);
    ++seq_;
    ts_ += 3000;
    for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(ts_ >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i) {
      b[8 + i] = static_cast<uint8_t>(RouterPeers::kVideoSsrc >> (24 - 8 * i));
    }
    b[12] = 0x10;                    // S=1, partition 0
    b[13] = keyframe ? 0x00 : 0x01;  // P=0: keyframe
    ASSERT_TRUE(peers_.peer(0).sendRtp(b.data(), 120, b.size()));
  }
  // Sends a delta frame every 33 ms for `duration` while the loops run.
  void deltaFramesFor(std::chrono::milliseconds duration) {
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
      sendVideo(false);
      peers_.runFor(33ms);
    }
  }
  // Sends delta frames until the publisher has received `n` keyframe requests (at most 1.5 s).
  bool awaitRequests(int n) {
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (requests_.pli + requests_.fir < n && std::chrono::steady_clock::now() < end) {
      sendVideo(false);
      peers_.runFor(33ms);
    }
    return requests_.pli + requests_.fir == n;
  }
  // A PLI from the subscriber for the video it receives (RFC 4585 §6.3.1).
  void subscriberPli() {
    std::array<uint8_t, 128> b{};
    const uint32_t videoSsrc = peers_.session(1).consumers().back()->ssrc;
    auto n = rtcp::writePli({b.data(), 64}, 0x5ab5c71b, videoSsrc);
    ASSERT_TRUE(n.has_value());
    ASSERT_TRUE(peers_.peer(1).sendRtcp(b.data(), *n, b.size()));
  }

  RouterPeers peers_;
  KeyframeRequests requests_;
  uint16_t seq_ = 1000;
  uint32_t ts_ = 90000;
};

// One request in flight per producer: the subscriber's PLIs while the publisher's keyframe is on
// its way are not passed on; the keyframe answers them all; a request unanswered for 1 s is sent
// again.
TEST_F(RouterFeedbackTest, OneKeyframeRequestInFlightUntilTheKeyframeOrTimeout) {
  ASSERT_NO_FATAL_FAILURE(connect(offerWithFeedback(true, true)));
  // The new consumer asks for a keyframe (again after the timeout if the first request went out
  // before the client had its SRTP keys).
  ASSERT_TRUE(awaitRequests(1));
  // Eight PLIs from the subscriber within 400 ms: none reaches the publisher.
  for (int i = 0; i < 8; ++i) {
    subscriberPli();
    sendVideo(false);
    peers_.runFor(50ms);
  }
  EXPECT_EQ(requests_.pli, 1);
  // The keyframe arrives: what was asked meanwhile is answered; a later PLI goes out at once.
  sendVideo(true);
  peers_.runFor(50ms);
  subscriberPli();
  ASSERT_TRUE(peers_.runUntil([&] { return requests_.pli == 2; }, 500ms)) << requests_.pli;
  // No keyframe this time: the wish is repeated once the request timed out, not before.
  subscriberPli();
  deltaFramesFor(350ms);
  EXPECT_EQ(requests_.pli, 2);
  deltaFramesFor(300ms);
  EXPECT_EQ(requests_.pli, 3);
  EXPECT_EQ(requests_.fir, 0);
}

// A publisher that negotiated ccm fir but not nack pli gets FIRs, each with a new sequence
// number (RFC 5104 §4.3.1.1).
TEST_F(RouterFeedbackTest, FirOnlyPublisherGetsFirWithNewSequenceNumbers) {
  ASSERT_NO_FATAL_FAILURE(connect(offerWithFeedback(false, true)));
  ASSERT_TRUE(awaitRequests(1));
  ASSERT_EQ(requests_.fir, 1);
  sendVideo(true);
  peers_.runFor(50ms);
  subscriberPli();
  ASSERT_TRUE(peers_.runUntil([&] { return requests_.fir == 2; }, 500ms));
  EXPECT_EQ(requests_.pli, 0);
  ASSERT_EQ(requests_.firSequences.size(), 2u);
  EXPECT_NE(requests_.firSequences[0], requests_.firSequences[1]);
}

// The subscriber's downlink (docs/media.md "Subscriber downlink"): every packet the relay sends
// it carries the relay's own transport-wide sequence number — added where the publisher's packet
// had none — and the subscriber's transport-wide feedback drives the estimate that limits the
// publisher by REMB.
class RouterDownlinkTest : public RouterFeedbackTest {
 protected:
  // What the Router tells its owner about video pauses (audio first).
  struct PauseObserver : SessionObserver {
    std::vector<bool> changes;
    void onSessionConnected(const std::string&) override {}
    void onSessionStale(const std::string&, bool) override {}
    void onSessionQuality(const std::string&, const SessionQuality&) override {}
    void onSessionEnded(const std::string&, SessionEndReason) override {}
    void onVideoPaused(const std::string& sessionId, bool paused) override {
      if (sessionId == "sub") changes.push_back(paused);
    }
  };

  // Runs for `duration`: the publisher sends a video packet every 33 ms (a keyframe when one was
  // asked for) and two audio packets; the subscriber reports every packet it receives with
  // arrival = receive time + a queue that grows by `queueMs` per packet (0: stays as it is), in
  // feedback packets after each round; the publisher's REMBs are collected.
  void run(std::chrono::milliseconds duration, double queueMs) {
    peers_.peer(1).setMediaHandler([this, queueMs](const uint8_t* data, size_t len) {
      std::vector<uint8_t> copy(data, data + len);
      auto packet = RtpPacket::parse(copy);
      ASSERT_TRUE(packet);
      auto seq = packet->transportWideSeq(kTransportCcId);
      ASSERT_TRUE(seq) << "a packet without the relay's transport-wide sequence number";
      seqs_.push_back(*seq);
      if (packet->payloadType() == 96) ++received_.video;
      if (packet->payloadType() == 111) ++received_.audio;
      if (packet->payloadType() == 97 && packet->payload().empty()) ++received_.probes;
      queueUs_ += static_cast<int64_t>(queueMs * 1000);
      feedback_.onPacket(*seq, static_cast<int64_t>(uv_hrtime() / 1000) + queueUs_);
    });
    peers_.peer(0).setRtcpHandler([this](const uint8_t* data, size_t len) {
      std::vector<uint8_t> copy(data, data + len);
      auto compound = rtcp::Compound::parse(copy);
      if (!compound) return;
      for (const rtcp::Item item : *compound) {
        auto fb = rtcp::Feedback::parse(item);
        if (!fb || item.type() != rtcp::type::kPsfb) continue;
        if (fb->fmt() == rtcp::fmt::kPli) keyframeWanted_ = true;
        if (fb->fmt() != rtcp::fmt::kAfb) continue;
        if (auto remb = rtcp::Remb::parse(*fb)) rembs_.push_back(remb->bitrate());
      }
    });
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
      sendVideo(keyframeWanted_ || seqs_.empty());
      keyframeWanted_ = false;
      sendAudio();
      peers_.runFor(16ms);
      sendAudio();
      peers_.runFor(17ms);
      while (feedback_.pending()) {
        std::array<uint8_t, 1500> b{};
        auto n = feedback_.write({b.data(), 1200}, 0x5ab5c71b, 0);
        ASSERT_TRUE(n);
        ASSERT_TRUE(peers_.peer(1).sendRtcp(b.data(), *n, b.size()));
      }
    }
  }
  void sendAudio() {
    std::array<uint8_t, 200> b{};
    b[0] = 0x80;
    b[1] = 111;
    b[2] = static_cast<uint8_t>(audioSeq_ >> 8);
    b[3] = static_cast<uint8_t>(audioSeq_++);
    audioTs_ += 960;
    for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(audioTs_ >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i) {
      b[8 + i] = static_cast<uint8_t>(RouterPeers::kAudioSsrc >> (24 - 8 * i));
    }
    ASSERT_TRUE(peers_.peer(0).sendRtp(b.data(), 80, b.size()));
  }

  struct Received {
    size_t video = 0;
    size_t audio = 0;
    size_t probes = 0;
  };
  rtcp::TransportCcFeedback feedback_;
  std::vector<uint16_t> seqs_;
  std::vector<uint64_t> rembs_;
  Received received_;
  int64_t queueUs_ = 0;
  bool keyframeWanted_ = false;
  uint16_t audioSeq_ = 5000;
  uint32_t audioTs_ = 48000;
};

TEST_F(RouterDownlinkTest, AGrowingQueueOnTheSubscribersPathLimitsThePublisher) {
  ASSERT_NO_FATAL_FAILURE(connect(offerWithFeedback(true, true, true)));
  ASSERT_NE(peers_.session(1).downlink(), nullptr);
  run(3s, 10.0);
  ASSERT_GT(seqs_.size(), 50u);
  for (size_t i = 1; i < seqs_.size(); ++i) {
    ASSERT_EQ(static_cast<uint16_t>(seqs_[i - 1] + 1), seqs_[i]) << "at " << i;
  }
  // A packet every 33 ms that arrives 43 ms after the previous one: overuse, and the publisher
  // is told to send no more than the subscriber took (a few tens of kbit/s, at the floor).
  ASSERT_FALSE(rembs_.empty());
  EXPECT_LE(rembs_.back(), 2 * DownlinkEstimator::kMinBps);
  EXPECT_GE(peers_.metrics().sender_limits.value(), 1u);
  EXPECT_GE(peers_.metrics().downlink_overuse.value(), 1u);
}

// Audio first: a downlink held below the video floor gets audio only, the owner hears of the
// pause, padding probes on the video's RTX stream test the link, and once one shows the link
// carries video again the video resumes at a keyframe.
TEST_F(RouterDownlinkTest, BelowTheVideoFloorOnlyAudioFlowsUntilAProbeShowsTheLinkCarriesVideo) {
  PauseObserver observer;
  ASSERT_NO_FATAL_FAILURE(connect(offerWithFeedback(true, true, true), &observer, 100'000));
  run(5s, 10.0);  // a queue growing 10 ms a packet: the limit falls to the 50 kbit/s floor
  ASSERT_EQ(observer.changes, std::vector<bool>{true});
  const Received atPause = received_;
  run(1500ms, 0.0);
  EXPECT_EQ(received_.video, atPause.video) << "video reached a paused subscriber";
  EXPECT_GT(received_.audio, atPause.audio + 50) << "audio must keep flowing";
  // The queue stops growing: a probe (padding at 1.5 × the floor for 1 s) shows the link
  // carries it, and video comes back.
  ASSERT_TRUE(peers_.runUntil(
      [&] {
        run(100ms, 0.0);
        return observer.changes.size() == 2 && received_.video > atPause.video + 10;
      },
      20s))
      << "changes " << observer.changes.size() << ", probes " << received_.probes;
  EXPECT_FALSE(observer.changes.back());
  EXPECT_GT(received_.probes, 20u);
  EXPECT_EQ(peers_.metrics().video_flow[metrics::VideoFlow::kPaused].value(), 1u);
  EXPECT_EQ(peers_.metrics().video_flow[metrics::VideoFlow::kResumed].value(), 1u);
}

TEST_F(RouterDownlinkTest, ASteadyPathLimitsNobody) {
  ASSERT_NO_FATAL_FAILURE(connect(offerWithFeedback(true, true, true)));
  run(3s, 0.0);
  ASSERT_GT(seqs_.size(), 50u);
  EXPECT_FALSE(peers_.session(1).downlink()->bounded());
  EXPECT_TRUE(rembs_.empty()) << rembs_.front();
  EXPECT_EQ(peers_.metrics().sender_limits.value(), 0u);
}

// A publisher without transport-wide feedback (REMB and abs-send-time, as aiortc offers): the
// relay's own receive-side estimate, not the goodput, sets the REMB once its packets arrive
// later and later (a queue on its uplink).
TEST_F(RouterFeedbackTest, RembFollowsTheReceiveSideEstimateOfAnUplinkWithoutTransportCc) {
  const RouterPeers::OfferWriter offer = [](bool publish, const std::string& ufrag,
                                            const std::string& pwd, const std::string& fp) {
    std::string s = bench::writeOffer(publish, ufrag, pwd, fp, RouterPeers::kAudioSsrc,
                                      RouterPeers::kVideoSsrc);
    const std::string vp8 = "a=rtpmap:96 VP8/90000\r\n";
    s.insert(s.find(vp8) + vp8.size(),
             "a=rtcp-fb:96 goog-remb\r\n"
             "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n");
    return s;
  };
  ASSERT_NO_FATAL_FAILURE(connect(offer));
  ASSERT_NE(peers_.session(0).uplink(), nullptr);
  std::vector<uint64_t> rembs;
  peers_.peer(0).setRtcpHandler([&](const uint8_t* data, size_t len) {
    std::vector<uint8_t> copy(data, data + len);
    auto compound = rtcp::Compound::parse(copy);
    if (!compound) return;
    for (const rtcp::Item item : *compound) {
      auto fb = rtcp::Feedback::parse(item);
      if (!fb || item.type() != rtcp::type::kPsfb || fb->fmt() != rtcp::fmt::kAfb) continue;
      if (auto remb = rtcp::Remb::parse(*fb)) rembs.push_back(remb->bitrate());
    }
  });
  // 1,000-byte packets every 10 ms (800 kbit/s) whose abs-send-time advances only 7 ms each.
  uint64_t sentUs = 0;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end) {
    std::array<uint8_t, 1100> b{};
    b[0] = 0x90;  // X: one-byte extension block with abs-send-time (id 2)
    b[1] = 96;
    b[2] = static_cast<uint8_t>(seq_ >> 8);
    b[3] = static_cast<uint8_t>(seq_++);
    for (int i = 0; i < 4; ++i) {
      b[8 + i] = static_cast<uint8_t>(RouterPeers::kVideoSsrc >> (24 - 8 * i));
    }
    b[12] = 0xBE;
    b[13] = 0xDE;
    b[15] = 1;
    b[16] = 0x22;  // id 2, 3 bytes
    const uint32_t abs = RtpPacket::absSendTimeFromMicros(sentUs);
    b[17] = static_cast<uint8_t>(abs >> 16);
    b[18] = static_cast<uint8_t>(abs >> 8);
    b[19] = static_cast<uint8_t>(abs);
    b[20] = 0x10;  // VP8 descriptor, S=1
    b[21] = 0x01;  // a delta frame
    ASSERT_TRUE(peers_.peer(0).sendRtp(b.data(), 1000, b.size()));
    sentUs += 7'000;
    peers_.runFor(10ms);
  }
  ASSERT_FALSE(rembs.empty());
  // The goodput rule alone would say 1.5 × 800 + 150 = 1,350 kbit/s.
  EXPECT_LT(rembs.back(), 700'000u);
  EXPECT_TRUE(peers_.session(0).uplink()->bounded());
}

}  // namespace
}  // namespace medrelay::media
