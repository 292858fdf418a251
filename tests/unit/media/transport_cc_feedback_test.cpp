// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
// §3.1): arrivals recorded by TransportCcFeedback, written as RTPFB FMT 15 and read back with
// the TransportCc parser, so every status and every arrival time (within one 250 us tick) must
// survive the encoding.
#include "media/rtp/transport_cc_feedback.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "media/rtp/rtcp_packet.h"

namespace medrelay::media::rtcp {
namespace {

struct Decoded {
  uint16_t base = 0;
  uint8_t fbCount = 0;
  std::map<uint16_t, int64_t> arrivals;  // received: arrival in us from the reference time
  std::vector<uint16_t> lost;
  size_t statuses = 0;
};

// Writes every pending feedback packet and decodes them; fails the test on a malformed one.
std::vector<Decoded> drain(TransportCcFeedback& fb) {
  std::vector<Decoded> out;
  while (fb.pending()) {
    std::vector<uint8_t> buf(1500);
    auto n = fb.write(buf, 0x01020304, 0x05060708);
    EXPECT_TRUE(n);
    if (!n) break;
    EXPECT_EQ(*n % 4, 0u);
    EXPECT_LE(*n, TransportCcFeedback::kMaxBytes);
    buf.resize(*n);
    auto compound = Compound::parse(buf);
    EXPECT_TRUE(compound);
    if (!compound) break;
    auto feedback = Feedback::parse(*compound->begin());
    EXPECT_TRUE(feedback);
    EXPECT_EQ(feedback->senderSsrc(), 0x01020304u);
    EXPECT_EQ(feedback->mediaSsrc(), 0x05060708u);
    auto cc = TransportCc::parse(*feedback);
    EXPECT_TRUE(cc);
    if (!cc) break;
    Decoded d;
    d.base = cc->baseSequence();
    d.fbCount = cc->feedbackPacketCount();
    d.statuses = cc->statusCount();
    int64_t clock = int64_t{cc->referenceTime()} * 64000;
    EXPECT_TRUE(cc->forEachStatus([&](const TransportCc::Status& s) {
      if (s.received) {
        clock += s.deltaMicros;
        d.arrivals[s.sequence] = clock;
      } else {
        d.lost.push_back(s.sequence);
      }
    }));
    out.push_back(std::move(d));
  }
  return out;
}

TEST(TransportCcFeedbackTest, NothingPendingWritesNothing) {
  TransportCcFeedback fb;
  std::vector<uint8_t> buf(1500);
  EXPECT_FALSE(fb.pending());
  EXPECT_FALSE(fb.write(buf, 1, 2));
}

TEST(TransportCcFeedbackTest, ArrivalsAndLossesRoundTrip) {
  TransportCcFeedback fb;
  const int64_t t0 = 1'000'000'123;
  // 100 packets 1 ms apart, every 10th lost, one late by 70 ms (a large delta), one reordered.
  std::vector<std::pair<uint16_t, int64_t>> sent;  // in send order, across the 16-bit wrap
  for (uint16_t i = 0; i < 100; ++i) {
    if (i % 10 == 9) continue;
    sent.emplace_back(static_cast<uint16_t>(65500 + i), t0 + i * 1000 + (i == 40 ? 70'000 : 0));
  }
  // Two neighbours arrive swapped.
  std::swap(sent[20], sent[21]);
  for (auto& [seq, at] : sent) fb.onPacket(seq, at);
  const auto packets = drain(fb);
  ASSERT_EQ(packets.size(), 1u);
  const Decoded& d = packets.front();
  EXPECT_EQ(d.base, 65500);
  EXPECT_EQ(d.statuses, 99u);  // up to the newest received (65500 + 98), across the wrap
  EXPECT_EQ(d.arrivals.size(), sent.size());
  EXPECT_EQ(d.lost.size(), 9u);
  for (auto& [seq, at] : sent) {
    ASSERT_TRUE(d.arrivals.count(seq)) << seq;
    // Relative timing is what the sender uses: compare against the first arrival.
    const int64_t got = d.arrivals.at(seq) - d.arrivals.at(65500);
    EXPECT_NEAR(got, at - t0, 250) << seq;
  }
}

TEST(TransportCcFeedbackTest, ReportsEachSequenceOnceAndCountsFeedbackPackets) {
  TransportCcFeedback fb;
  for (uint16_t i = 0; i < 10; ++i) fb.onPacket(i, 5'000'000 + i * 2000);
  auto first = drain(fb);
  for (uint16_t i = 10; i < 20; ++i) fb.onPacket(i, 5'000'000 + i * 2000);
  auto second = drain(fb);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].base, 0);
  EXPECT_EQ(second[0].base, 10);
  EXPECT_EQ(second[0].statuses, 10u);
  EXPECT_EQ(static_cast<uint8_t>(second[0].fbCount - first[0].fbCount), 1);
  EXPECT_EQ(fb.feedbackCount(), static_cast<uint8_t>(first[0].fbCount + 2));
}

TEST(TransportCcFeedbackTest, LatePacketAlreadyReportedLostIsReportedAgain) {
  TransportCcFeedback fb;
  fb.onPacket(1, 1000);
  fb.onPacket(3, 3000);
  auto first = drain(fb);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].lost, std::vector<uint16_t>{2});
  fb.onPacket(2, 9000);
  auto again = drain(fb);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].base, 2);
  EXPECT_TRUE(again[0].arrivals.count(2));
  EXPECT_TRUE(again[0].lost.empty());
}

TEST(TransportCcFeedbackTest, DuplicateKeepsFirstArrival) {
  TransportCcFeedback fb;
  fb.onPacket(7, 64'000);
  fb.onPacket(8, 65'000);
  fb.onPacket(8, 90'000);
  auto d = drain(fb);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].arrivals.at(8) - d[0].arrivals.at(7), 1000);
}

TEST(TransportCcFeedbackTest, GapBeyondSixteenBitDeltaStartsANewPacket) {
  TransportCcFeedback fb;
  fb.onPacket(1, 1'000'000);
  fb.onPacket(2, 1'000'000 + 9'000'000);  // 9 s: more than 32767 ticks of 250 us
  auto d = drain(fb);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].base, 1);
  EXPECT_EQ(d[0].statuses, 1u);
  EXPECT_EQ(d[1].base, 2);
  EXPECT_TRUE(d[1].arrivals.count(2));
}

TEST(TransportCcFeedbackTest, LargeBacklogSplitsIntoBoundedPackets) {
  TransportCcFeedback fb;
  // 3000 packets 100 ms apart, each a two-byte delta: the byte budget, not the status count,
  // ends each packet.
  for (uint16_t i = 0; i < 3000; ++i) fb.onPacket(i, int64_t{i} * 100'000);
  auto d = drain(fb);
  ASSERT_GT(d.size(), 5u);
  size_t total = 0;
  uint16_t expectBase = 0;
  for (const auto& p : d) {
    EXPECT_EQ(p.base, expectBase);
    expectBase = static_cast<uint16_t>(p.base + p.statuses);
    total += p.arrivals.size();
  }
  EXPECT_EQ(total, 3000u);
}

TEST(TransportCcFeedbackTest, PacketsFallingOutOfTheWindowAreNotReported) {
  TransportCcFeedback fb;
  fb.onPacket(0, 0);
  fb.onPacket(10000, 1000);  // 10000 ahead: only the last kWindow sequence numbers stay
  auto d = drain(fb);
  size_t statuses = 0;
  for (const auto& p : d) statuses += p.statuses;
  EXPECT_EQ(statuses, TransportCcFeedback::kWindow);
  EXPECT_EQ(d.back().arrivals.count(10000), 1u);
}

}  // namespace
}  // namespace medrelay::media::rtcp
