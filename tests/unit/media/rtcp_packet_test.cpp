// RTCP compound parsing, typed views, builders and SSRC rewriting, with compounds serialised by
// aiortc 1.4.0 (aiortc.rtp.Rtcp*Packet.__bytes__) as interop evidence.
#include "media/rtp/rtcp_packet.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/net/stun_vectors.h"

namespace medrelay::media::rtcp {
namespace {

using test::fromHex;

// SR (SSRC 0x11223344, one report block for 0xAABBCCDD, lost -3) + SDES CNAME.
const char* kAiortcSrSdes =
    "81c8000c11223344e123456789abcdef123456780000006400002ee0aabbccdd0cfffffd000111700000002d0000"
    "1111000022228"
    "1ca000511223344010c61696f7274632d636e616d650000";
// NACK for 100, 101, 105, 116, 117, 200 (sender 1, media 0x11223344).
const char* kAiortcNack = "81cd00050000000111223344006480110075000000c80000";
// RR (no blocks) + PLI + REMB 1.5 Mbit/s for two SSRCs + BYE.
const char* kAiortcRrPliRembBye =
    "80c900010000000181ce000200000001112233448fce0006000000010000000052454d42020edc6c112233445566"
    "778881cb000111223344";

TEST(RtcpCompoundTest, AiortcSenderReportAndSdes) {
  auto b = fromHex(kAiortcSrSdes);
  const auto c = Compound::parse(b);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->itemCount(), 2u);
  EXPECT_TRUE(c->startsWithReport());
  auto it = c->begin();
  const auto sr = Report::parse(*it);
  ASSERT_TRUE(sr);
  EXPECT_TRUE(sr->isSender());
  EXPECT_EQ(sr->ssrc(), 0x11223344u);
  const auto info = sr->senderInfo();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->ntp, 0xE123456789ABCDEFull);
  EXPECT_EQ(info->rtpTimestamp, 0x12345678u);
  EXPECT_EQ(info->packetCount, 100u);
  EXPECT_EQ(info->octetCount, 12000u);
  ASSERT_EQ(sr->blockCount(), 1u);
  const auto blk = sr->block(0);
  EXPECT_EQ(blk.ssrc, 0xAABBCCDDu);
  EXPECT_EQ(blk.fractionLost, 12);
  EXPECT_EQ(blk.cumulativeLost, -3);
  EXPECT_EQ(blk.highestSequence, 70000u);
  EXPECT_EQ(blk.jitter, 45u);
  EXPECT_EQ(blk.lastSr, 0x1111u);
  EXPECT_EQ(blk.delaySinceLastSr, 0x2222u);
  ++it;
  EXPECT_EQ((*it).type(), type::kSdes);
  EXPECT_FALSE(Report::parse(*it));
  ++it;
  EXPECT_EQ(it, c->end());

  // Rebuild the SR byte-for-byte.
  uint8_t out[128];
  const ReportBlock blocks[] = {blk};
  const auto n = writeSenderReport(out, *info, blocks);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<uint8_t>(out, out + *n), std::vector<uint8_t>(b.begin(), b.begin() + 52));
}

TEST(RtcpCompoundTest, AiortcNackExpandsAndRebuilds) {
  auto b = fromHex(kAiortcNack);
  const auto c = Compound::parse(b);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->startsWithReport());  // reduced-size (RFC 5506)
  const auto fb = Feedback::parse(*c->begin());
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->senderSsrc(), 1u);
  EXPECT_EQ(fb->mediaSsrc(), 0x11223344u);
  const auto nack = Nack::parse(*fb);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->pairCount(), 3u);
  uint16_t lost[32];
  ASSERT_EQ(nack->lostSequences(lost), 6u);
  EXPECT_EQ(std::vector<uint16_t>(lost, lost + 6),
            (std::vector<uint16_t>{100, 101, 105, 116, 117, 200}));
  uint16_t two[2];
  EXPECT_EQ(nack->lostSequences(two), 6u);  // total reported, only 2 written
  EXPECT_EQ(two[1], 101);

  uint8_t out[64];
  const uint16_t seqs[] = {100, 101, 105, 116, 117, 200};
  const auto n = writeNack(out, 1, 0x11223344, seqs);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<uint8_t>(out, out + *n), b);
}

TEST(RtcpCompoundTest, NackAcrossWrapAndDuplicates) {
  uint8_t out[64];
  const uint16_t seqs[] = {65530, 65530, 65535, 0, 9, 20};
  const auto n = writeNack(out, 5, 6, seqs);
  ASSERT_TRUE(n);
  const auto c = Compound::parse(std::span<uint8_t>(out, *n));
  ASSERT_TRUE(c);
  const auto nack = Nack::parse(*Feedback::parse(*c->begin()));
  ASSERT_TRUE(nack);
  uint16_t lost[40];
  ASSERT_EQ(nack->lostSequences(lost), 5u);
  EXPECT_EQ(std::vector<uint16_t>(lost, lost + 5), (std::vector<uint16_t>{65530, 65535, 0, 9, 20}));
  EXPECT_FALSE(writeNack(out, 5, 6, {}));
  EXPECT_FALSE(writeNack(std::span<uint8_t>(out, 15), 5, 6, seqs));
}

TEST(RtcpCompoundTest, AiortcRrPliRembBye) {
  auto b = fromHex(kAiortcRrPliRembBye);
  const auto c = Compound::parse(b);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->itemCount(), 4u);
  auto it = c->begin();
  const auto rr = Report::parse(*it);
  ASSERT_TRUE(rr);
  EXPECT_FALSE(rr->senderInfo());
  EXPECT_EQ(rr->blockCount(), 0u);
  const auto pli = Feedback::parse(*++it);
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->type(), type::kPsfb);
  EXPECT_EQ(pli->fmt(), fmt::kPli);
  EXPECT_EQ(pli->mediaSsrc(), 0x11223344u);
  const auto rembFb = Feedback::parse(*++it);
  ASSERT_TRUE(rembFb);
  const auto remb = Remb::parse(*rembFb);
  ASSERT_TRUE(remb);
  EXPECT_EQ(remb->bitrate(), 1500000u);
  ASSERT_EQ(remb->ssrcCount(), 2u);
  EXPECT_EQ(remb->ssrc(1), 0x55667788u);
  const auto bye = Bye::parse(*++it);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->ssrc(0), 0x11223344u);

  // Builders reproduce aiortc's bytes.
  uint8_t out[128];
  size_t off = 0;
  off += *writeReceiverReport(std::span(out).subspan(off), 1, {});
  off += *writePli(std::span(out).subspan(off), 1, 0x11223344);
  const uint32_t ssrcs[] = {0x11223344, 0x55667788};
  off += *writeRemb(std::span(out).subspan(off), 1, 1500000, ssrcs);
  EXPECT_EQ(std::vector<uint8_t>(out, out + off),
            std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(off)));
}

TEST(RtcpCompoundTest, FirBuildParse) {
  uint8_t out[32];
  const auto n = writeFir(out, 7, 0xCAFEBABE, 42);
  ASSERT_TRUE(n);
  const auto c = Compound::parse(std::span<uint8_t>(out, *n));
  ASSERT_TRUE(c);
  const auto fb = Feedback::parse(*c->begin());
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->mediaSsrc(), 0u);
  const auto fir = Fir::parse(*fb);
  ASSERT_TRUE(fir);
  ASSERT_EQ(fir->entryCount(), 1u);
  EXPECT_EQ(fir->entry(0).ssrc, 0xCAFEBABEu);
  EXPECT_EQ(fir->entry(0).sequence, 42);
  EXPECT_FALSE(Nack::parse(*fb));
  EXPECT_FALSE(Remb::parse(*fb));
}

TEST(RtcpCompoundTest, TransportCcDecode) {
  // base 100, 6 packets, ref time -1, fb count 3; chunks: run-length "small delta" x2, then a
  // 2-bit status vector: large, small, not received, (rest unused); deltas follow.
  std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x64, 0x00, 0x06,
                            0xff, 0xff, 0xff, 0x03, 0x20, 0x02,  // run length: symbol 1 (small) x
                                                                 // 2
                            0xE4, 0x00,                          // vector S=1: 2, 1, 0, 0, 0, 0, 0
                            0x04, 0x08,                          // small deltas 4 (1 ms), 8 (2 ms)
                            0xff, 0xfc,                          // large delta -4 (-1 ms)
                            0x10, 0x00, 0x00, 0x02};             // small delta 16 (4 ms), padding
  b[3] = static_cast<uint8_t>(b.size() / 4 - 1);
  const auto c = Compound::parse(b);
  ASSERT_TRUE(c);
  const auto fb = Feedback::parse(*c->begin());
  ASSERT_TRUE(fb);
  const auto cc = TransportCc::parse(*fb);
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->baseSequence(), 100);
  EXPECT_EQ(cc->statusCount(), 6);
  EXPECT_EQ(cc->referenceTime(), -1);
  EXPECT_EQ(cc->feedbackPacketCount(), 3);
  std::vector<TransportCc::Status> got;
  ASSERT_TRUE(cc->forEachStatus([&](const TransportCc::Status& s) { got.push_back(s); }));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].sequence, 100);
  EXPECT_EQ(got[0].deltaMicros, 1000);
  EXPECT_EQ(got[1].deltaMicros, 2000);
  EXPECT_EQ(got[2].deltaMicros, -1000);
  EXPECT_EQ(got[3].deltaMicros, 4000);
  EXPECT_FALSE(got[4].received);
  EXPECT_EQ(got[5].sequence, 105);
  // Reserved status symbol 3.
  auto bad = b;
  bad[22] = 0xF4;
  const auto c2 = Compound::parse(bad);
  ASSERT_TRUE(c2);
  const auto cc2 = TransportCc::parse(*Feedback::parse(*c2->begin()));
  ASSERT_TRUE(cc2);
  EXPECT_FALSE(cc2->forEachStatus([](const TransportCc::Status&) {}));
}

TEST(RtcpCompoundTest, MalformedCompoundsRejected) {
  auto good = fromHex(kAiortcRrPliRembBye);
  EXPECT_FALSE(Compound::parse({}));
  EXPECT_FALSE(Compound::parse(std::span(good).first(3)));
  EXPECT_FALSE(Compound::parse(std::span(good).first(good.size() - 1)));  // last length overflows
  EXPECT_FALSE(Compound::parse(std::span(good).first(10)));               // 2nd header truncated
  auto overflow = good;
  overflow[3] = 0xFF;  // RR length runs past the compound
  EXPECT_FALSE(Compound::parse(overflow));
  auto v1 = good;
  v1[8] = 0x41;  // second packet version 1
  EXPECT_FALSE(Compound::parse(v1));
  auto padMiddle = good;
  padMiddle[0] |= 0x20;  // padding bit on a packet that is not last
  EXPECT_FALSE(Compound::parse(padMiddle));
  auto padBig = fromHex("a0c9000100000001");  // last byte 1? body=4 bytes; pad = 1 ok
  EXPECT_TRUE(Compound::parse(padBig));
  padBig[7] = 5;  // padding larger than body
  EXPECT_FALSE(Compound::parse(padBig));
  padBig[7] = 0;
  EXPECT_FALSE(Compound::parse(padBig));

  // Header-only items (length 0): typed views refuse them, no over-read.
  auto empty = fromHex("81c8000081c9000081cb00008fcd0000");
  const auto c = Compound::parse(empty);
  ASSERT_TRUE(c);
  for (const Item item : *c) {
    EXPECT_FALSE(Report::parse(item));
    EXPECT_FALSE(Bye::parse(item));
    EXPECT_FALSE(Feedback::parse(item));
    rewriteSsrcs(item, [](uint32_t s) { return s + 1; });
  }
  // Report count exceeding the body.
  auto rr = fromHex("81c9000100000001");
  EXPECT_FALSE(Report::parse(*Compound::parse(rr)->begin()));
  // REMB with more SSRCs than bytes.
  auto remb = fromHex("8fce0004000000010000000052454d42050edc6c");
  EXPECT_FALSE(Remb::parse(*Feedback::parse(*Compound::parse(remb)->begin())));
  // NACK with no FCI and FIR with partial entry.
  auto nack = fromHex("81cd00020000000111223344");
  EXPECT_FALSE(Nack::parse(*Feedback::parse(*Compound::parse(nack)->begin())));
  auto fir = fromHex("84ce0003000000010000000011223344");
  EXPECT_FALSE(Fir::parse(*Feedback::parse(*Compound::parse(fir)->begin())));
  // Too many items.
  std::vector<uint8_t> many;
  for (size_t i = 0; i <= Compound::kMaxItems; ++i) {
    for (uint8_t x : {0x80, 0xc9, 0x00, 0x00}) many.push_back(x);
  }
  EXPECT_FALSE(Compound::parse(many));
}

TEST(RtcpCompoundTest, RewriteSsrcsForForwarding) {
  auto b = fromHex(kAiortcSrSdes);
  auto fbs = fromHex(kAiortcRrPliRembBye);
  auto map = [](uint32_t s) -> uint32_t {
    if (s == 0x11223344) return 0xA0A0A0A0;
    if (s == 0xAABBCCDD) return 0xB0B0B0B0;
    if (s == 1) return 2;
    return s;
  };
  // Name the compound: a range-for over *optional-temporary would dangle.
  const auto srCompound = Compound::parse(b);
  ASSERT_TRUE(srCompound);
  for (const Item item : *srCompound) rewriteSsrcs(item, map);
  const auto c = Compound::parse(b);
  const auto sr = Report::parse(*c->begin());
  EXPECT_EQ(sr->ssrc(), 0xA0A0A0A0u);
  EXPECT_EQ(sr->block(0).ssrc, 0xB0B0B0B0u);
  EXPECT_EQ(sr->block(0).cumulativeLost, -3);  // other fields untouched
  EXPECT_EQ(b[b.size() - 20], 0x11);           // SDES left alone

  const auto fbCompound = Compound::parse(fbs);
  ASSERT_TRUE(fbCompound);
  for (const Item item : *fbCompound) rewriteSsrcs(item, map);
  auto it = Compound::parse(fbs)->begin();
  EXPECT_EQ(Report::parse(*it)->ssrc(), 2u);
  const auto pli = Feedback::parse(*++it);
  EXPECT_EQ(pli->senderSsrc(), 2u);
  EXPECT_EQ(pli->mediaSsrc(), 0xA0A0A0A0u);
  const auto remb = Remb::parse(*Feedback::parse(*++it));
  EXPECT_EQ(remb->ssrc(0), 0xA0A0A0A0u);
  EXPECT_EQ(remb->ssrc(1), 0x55667788u);
  EXPECT_EQ(Feedback::parse(*it)->mediaSsrc(), 0u);  // REMB media SSRC stays 0
  EXPECT_EQ(Bye::parse(*++it)->ssrc(0), 0xA0A0A0A0u);
}

TEST(RtcpCompoundTest, DemuxRtpRtcp) {
  const uint8_t rtcpPkt[] = {0x80, 0xc9, 0x00, 0x01};
  const uint8_t rtpPkt[] = {0x80, 0x60, 0x00, 0x01};
  const uint8_t rtpMarkerPt96[] = {0x80, 0xE0, 0x00, 0x01};
  EXPECT_TRUE(isRtcp(rtcpPkt));
  EXPECT_FALSE(isRtcp(rtpPkt));
  EXPECT_FALSE(isRtcp(rtpMarkerPt96));
}

TEST(RtcpBuilderTest, ReportRoundTripAndLimits) {
  ReportBlock blk;
  blk.ssrc = 9;
  blk.cumulativeLost = 0x7FFFFFF;  // clamped to 24-bit max
  uint8_t out[1024];
  const ReportBlock blocks[] = {blk, blk};
  const auto n = writeReceiverReport(out, 3, blocks);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 8u + 48);
  const auto rr = Report::parse(*Compound::parse(std::span<uint8_t>(out, *n))->begin());
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->block(1).cumulativeLost, 0x7FFFFF);
  std::vector<ReportBlock> tooMany(32);
  EXPECT_FALSE(writeReceiverReport(out, 3, tooMany));
  EXPECT_FALSE(writeSenderReport(std::span<uint8_t>(out, 27), SenderInfo{}, {}));
  EXPECT_FALSE(writePli(std::span<uint8_t>(out, 11), 1, 2));
  EXPECT_FALSE(writeFir(std::span<uint8_t>(out, 19), 1, 2, 3));
  EXPECT_FALSE(writeRemb(std::span<uint8_t>(out, 19), 1, 2, {}));
  const auto r = writeRemb(out, 1, UINT64_C(1) << 40, {});
  ASSERT_TRUE(r);
  const auto remb =
      Remb::parse(*Feedback::parse(*Compound::parse(std::span<uint8_t>(out, *r))->begin()));
  ASSERT_TRUE(remb);
  EXPECT_EQ(remb->bitrate(), UINT64_C(1) << 40);
}

}  // namespace
}  // namespace medrelay::media::rtcp
