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
#include "tests/support/router_peers.h"

namespace medrelay::media {
namespace {

using namespace std::chrono_literals;
using test::RouterPeers;

// bench::writeOffer with the video section's feedback as given ("nack pli" and/or "ccm fir").
RouterPeers::OfferWriter offerWithFeedback(bool pli, bool fir) {
  return [pli, fir](bool publish, const std::string& ufrag, const std::string& pwd,
                    const std::string& fp) {
    std::string s = bench::writeOffer(publish, ufrag, pwd, fp, RouterPeers::kAudioSsrc,
                                      RouterPeers::kVideoSsrc);
    auto erase = [&s](const std::string& line) {
      const size_t at = s.find(line);
      if (at != std::string::npos) s.erase(at, line.size());
    };
    if (!pli) erase("a=rtcp-fb:96 nack pli\r\n");
    if (!fir) erase("a=rtcp-fb:96 ccm fir\r\n");
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
  void connect(const RouterPeers::OfferWriter& offer) {
    // The clients send nothing between our test packets: no session may go stale and restart
    // its video meanwhile (Router::checkLiveness).
    Router::Options options;
    options.staleAfter = std::chrono::minutes(1);
    ASSERT_EQ(peers_.setUp(nullptr, options), "");
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

}  // namespace
}  // namespace medrelay::media
