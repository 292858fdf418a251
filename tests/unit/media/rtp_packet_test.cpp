// RTP view: header fields, RFC 8285 extensions, id remapping, RTX, malformed packets, and a
// packet serialised by aiortc 1.4.0 (aiortc.rtp.RtpPacket.serialize, python3-aiortc).
#include "media/rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/net/stun_vectors.h"

namespace medrelay::media {
namespace {

using test::fromHex;

// aiortc: PT 96, M=1, seq 4321, ts 0x12345678, SSRC 0x11223344, one-byte extensions
// mid(1)="0", abs-send-time(2)=0x123456, transport-cc(3)=777, VP8 descriptor with picture id
// 0x1234 and a keyframe payload header.
const char* kAiortcVp8 =
    "90e010e11234567811223344bede0003103022123456310309000000908092341002009d012a";
// aiortc.rtp.wrap_rtx of the packet above: PT 97, seq 55, SSRC 0x55667788, OSN 0x10e1.
const char* kAiortcRtx =
    "90e100371234567855667788bede000310302212345631030900000010e1908092341002009d012a";

TEST(RtpPacketTest, ParsesAiortcPacket) {
  auto bytes = fromHex(kAiortcVp8);
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->payloadType(), 96);
  EXPECT_EQ(p->sequenceNumber(), 4321);
  EXPECT_EQ(p->timestamp(), 0x12345678u);
  EXPECT_EQ(p->ssrc(), 0x11223344u);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kOneByte);
  EXPECT_EQ(p->headerSize(), 28u);
  EXPECT_EQ(p->payload().size(), 10u);
  const auto mid = p->findExtension(1);
  ASSERT_TRUE(mid);
  EXPECT_EQ(mid->size(), 1u);
  EXPECT_EQ((*mid)[0], '0');
  EXPECT_EQ(p->transportWideSeq(3), 777);
  EXPECT_FALSE(p->findExtension(4));
  EXPECT_FALSE(p->findExtension(0));
}

TEST(RtpPacketTest, SettersKeepOtherBits) {
  auto bytes = fromHex(kAiortcVp8);
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  p->setPayloadType(100);
  EXPECT_TRUE(p->marker());
  p->setMarker(false);
  EXPECT_EQ(p->payloadType(), 100);
  p->setSequenceNumber(65535);
  p->setTimestamp(1);
  p->setSsrc(0xDEADBEEF);
  const auto again = RtpPacket::parse(bytes);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->marker());
  EXPECT_EQ(again->payloadType(), 100);
  EXPECT_EQ(again->sequenceNumber(), 65535);
  EXPECT_EQ(again->timestamp(), 1u);
  EXPECT_EQ(again->ssrc(), 0xDEADBEEFu);
  EXPECT_EQ(bytes[0], 0x90);  // version/X untouched
}

TEST(RtpPacketTest, AbsSendTimeAndTransportSeqInPlace) {
  auto bytes = fromHex(kAiortcVp8);
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->setAbsSendTime(2, 0xABCDEF));
  EXPECT_TRUE(p->setTransportWideSeq(3, 0xBEEF));
  EXPECT_FALSE(p->setAbsSendTime(3, 1));       // wrong element size
  EXPECT_FALSE(p->setTransportWideSeq(9, 1));  // absent
  EXPECT_EQ(bytes[19], 0xAB);
  EXPECT_EQ(bytes[21], 0xEF);
  EXPECT_EQ(p->transportWideSeq(3), 0xBEEF);
  EXPECT_EQ(RtpPacket::absSendTimeFromMicros(1'000'000), 1u << 18);
  EXPECT_EQ(RtpPacket::absSendTimeFromMicros(64'000'000), 0u);  // wraps at 64 s
}

TEST(RtpPacketTest, RemapOneByteIds) {
  auto bytes = fromHex(kAiortcVp8);
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  std::array<uint8_t, 256> map{};
  map[1] = 0;   // drop mid
  map[2] = 5;   // abs-send-time -> 5
  map[3] = 14;  // transport-cc -> 14
  ASSERT_TRUE(p->remapExtensionIds(map));
  EXPECT_FALSE(p->findExtension(1));
  EXPECT_FALSE(p->findExtension(2));
  ASSERT_TRUE(p->findExtension(5));
  EXPECT_EQ(p->findExtension(5)->size(), 3u);
  EXPECT_EQ(p->transportWideSeq(14), 777);
  EXPECT_EQ(bytes[16], 0x00);  // dropped element became padding bytes
  EXPECT_EQ(bytes[17], 0x00);
  EXPECT_FALSE(p->rewriteExtensionId(5, 15));  // 15 is reserved in the one-byte form
  EXPECT_TRUE(p->rewriteExtensionId(5, 7));
  EXPECT_TRUE(p->findExtension(7));
}

TEST(RtpPacketTest, TwoByteExtensions) {
  // Two-byte form: profile 0x1000, element id 20 len 3, padding, id 1 len 0, id 200 len 2.
  std::vector<uint8_t> b = {
      0x90, 0x60, 0x00, 0x01, 0,    0, 0, 1, 0,   0, 0,    2,    0x10, 0x00, 0x00, 0x03,  // 3 words
      20,   3,    0xAA, 0xBB, 0xCC, 0, 1, 0, 200, 2, 0x12, 0x34, 0xFE};                   // payload
  auto p = RtpPacket::parse(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kTwoByte);
  ASSERT_TRUE(p->findExtension(20));
  EXPECT_EQ(p->findExtension(20)->size(), 3u);
  ASSERT_TRUE(p->findExtension(1));
  EXPECT_TRUE(p->findExtension(1)->empty());
  EXPECT_EQ(p->transportWideSeq(200), 0x1234);
  EXPECT_TRUE(p->rewriteExtensionId(200, 250));
  EXPECT_EQ(p->transportWideSeq(250), 0x1234);
  EXPECT_EQ(p->payload().size(), 1u);
}

TEST(RtpPacketTest, MalformedPacketsRejected) {
  auto good = fromHex(kAiortcVp8);
  EXPECT_FALSE(RtpPacket::parse(std::span(good).first(11)));  // truncated header
  auto v1 = good;
  v1[0] = 0x50;  // version 1
  EXPECT_FALSE(RtpPacket::parse(v1));
  auto csrc = fromHex("8f600001000000010000000200000003");  // CC=15, 1 CSRC present
  EXPECT_FALSE(RtpPacket::parse(csrc));
  auto extLong = good;
  extLong[15] = 0x40;  // extension length 64 words
  EXPECT_FALSE(RtpPacket::parse(extLong));
  auto extHdr = fromHex("90600001000000010000000200");  // X bit, ext header truncated
  EXPECT_FALSE(RtpPacket::parse(extHdr));
  auto pad = fromHex("a0600001000000010000000261626364ff");  // padding 255 > payload
  EXPECT_FALSE(RtpPacket::parse(pad));
  auto pad0 = fromHex("a060000100000001000000026100");  // padding count 0
  EXPECT_FALSE(RtpPacket::parse(pad0));
  auto padOnly = fromHex("a0600001000000010000000200000004");
  const auto po = RtpPacket::parse(padOnly);
  ASSERT_TRUE(po);
  EXPECT_EQ(po->payload().size(), 0u);
  EXPECT_EQ(po->paddingSize(), 4u);
  auto headerOnlyPad = fromHex("a06000010000000100000002");  // P set, nothing after header
  EXPECT_FALSE(RtpPacket::parse(headerOnlyPad));
  // One-byte element whose length runs past the block: lookups fail, no over-read.
  auto badElem = fromHex("90600001000000010000000bbede00011f00000000");
  auto be = RtpPacket::parse(badElem);
  ASSERT_TRUE(be);
  EXPECT_FALSE(be->findExtension(1));
  std::array<uint8_t, 256> map{};
  EXPECT_FALSE(be->remapExtensionIds(map));
  // Two-byte element header split by the end of the block.
  auto badTwo = fromHex("9060000100000001000000021000000100000005");
  auto bt = RtpPacket::parse(badTwo);
  ASSERT_TRUE(bt);
  EXPECT_FALSE(bt->findExtension(5));
}

TEST(RtpPacketTest, OneByteStopsAtId15AndSkipsPadding) {
  auto b = fromHex(
      "90600001000000010000000bbede0002"
      "00"
      "2101ff"
      "f0"
      "110000");
  auto p = RtpPacket::parse(b);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->findExtension(2));
  EXPECT_EQ(p->findExtension(2)->size(), 2u);
  EXPECT_FALSE(p->findExtension(1));  // after the id-15 terminator
}

TEST(RtpPacketTest, RtxMatchesAiortcAndRoundTrips) {
  auto bytes = fromHex(kAiortcVp8);
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  uint8_t rtxBuf[1500];
  const auto n = buildRtx(*p, 97, 0x55667788, 55, rtxBuf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<uint8_t>(rtxBuf, rtxBuf + *n), fromHex(kAiortcRtx));

  const auto rtx = RtpPacket::parse(std::span<uint8_t>(rtxBuf, *n));
  ASSERT_TRUE(rtx);
  uint8_t orig[1500];
  const auto m = recoverFromRtx(*rtx, 96, 0x11223344, orig);
  ASSERT_TRUE(m);
  EXPECT_EQ(std::vector<uint8_t>(orig, orig + *m), bytes);

  uint8_t tiny[20];
  EXPECT_FALSE(buildRtx(*p, 97, 1, 1, tiny));
  EXPECT_FALSE(recoverFromRtx(*rtx, 96, 1, tiny));
}

TEST(RtpPacketTest, RtxDropsPaddingAndRejectsMissingOsn) {
  auto padded = fromHex("a0600001000000010000000261626364000003");
  const auto p = RtpPacket::parse(padded);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload().size(), 4u);
  uint8_t out[64];
  const auto n = buildRtx(*p, 97, 9, 10, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 12u + 2 + 4);
  const auto rtx = RtpPacket::parse(std::span<uint8_t>(out, *n));
  ASSERT_TRUE(rtx);
  EXPECT_FALSE(rtx->hasPadding());
  EXPECT_EQ(rtx->payload()[0], 0x00);
  EXPECT_EQ(rtx->payload()[1], 0x01);  // OSN

  auto probe = fromHex("a0610001000000010000000900000004");  // RTX padding-only probe
  const auto pr = RtpPacket::parse(probe);
  ASSERT_TRUE(pr);
  EXPECT_FALSE(recoverFromRtx(*pr, 96, 1, out));
}

}  // namespace
}  // namespace medrelay::media

namespace medrelay::media {
namespace {

std::vector<uint8_t> withRoom(std::vector<uint8_t> b, size_t room = 64) {
  b.resize(b.size() + room, 0xEE);
  return b;
}

TEST(RtpPacketTest, AddExtensionToAPacketWithoutABlock) {
  // PT 96, seq 1, one CSRC, payload 3 bytes plus 2 bytes of padding (the last counts them).
  std::vector<uint8_t> raw = {0xA1, 0x60, 0, 1, 0, 0,    0,    9,    0, 0, 0,
                              7,    0,    0, 0, 5, 0x11, 0x22, 0x33, 0, 2};
  auto buf = withRoom(raw);
  const uint8_t seq[2] = {0xBE, 0xEF};
  auto n = addHeaderExtension(buf, raw.size(), 5, seq);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, raw.size() + 8);
  auto p = RtpPacket::parse({buf.data(), *n});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kOneByte);
  EXPECT_EQ(p->csrcCount(), 1);
  EXPECT_EQ(p->csrc(0), 5u);
  EXPECT_EQ(p->transportWideSeq(5), 0xBEEF);
  ASSERT_EQ(p->payload().size(), 3u);
  EXPECT_EQ(p->payload()[0], 0x11);
  EXPECT_EQ(p->paddingSize(), 2u);
  EXPECT_FALSE(addHeaderExtension(buf, *n, 5, seq));  // already there
}

TEST(RtpPacketTest, AddExtensionUsesPaddingThenGrowsTheBlock) {
  // aiortc's packet: elements fill 9 of 12 bytes; 3 bytes of padding take a 2-byte element.
  auto raw = fromHex(kAiortcVp8);
  auto buf = withRoom(raw);
  const uint8_t two[2] = {0x01, 0x02};
  auto n = addHeaderExtension(buf, raw.size(), 7, two);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, raw.size());
  // No room left: the next element grows the block by a word.
  const uint8_t four[4] = {1, 2, 3, 4};
  auto m = addHeaderExtension(buf, *n, 8, four);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, raw.size() + 8);
  auto p = RtpPacket::parse({buf.data(), *m});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->transportWideSeq(3), 777);
  EXPECT_EQ(p->transportWideSeq(7), 0x0102);
  ASSERT_TRUE(p->findExtension(8));
  EXPECT_EQ(p->findExtension(8)->size(), 4u);
  auto original = RtpPacket::parse(raw);
  ASSERT_TRUE(original);
  ASSERT_EQ(p->payload().size(), original->payload().size());
  EXPECT_TRUE(std::equal(p->payload().begin(), p->payload().end(), original->payload().begin()));
}

TEST(RtpPacketTest, AddExtensionTwoByteFormAndRefusals) {
  std::vector<uint8_t> raw = {0x90, 0x60, 0x00, 0x01, 0,    0,  0, 1, 0, 0,   0,
                              2,    0x10, 0x00, 0x00, 0x01, 20, 1, 9, 0, 0xFE};
  auto buf = withRoom(raw);
  const uint8_t v[2] = {0xAB, 0xCD};
  auto n = addHeaderExtension(buf, raw.size(), 200, v);
  ASSERT_TRUE(n);
  auto p = RtpPacket::parse({buf.data(), *n});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->transportWideSeq(200), 0xABCD);
  ASSERT_TRUE(p->findExtension(20));
  EXPECT_EQ(p->payload().size(), 1u);
  EXPECT_EQ(p->payload()[0], 0xFE);
  // One-byte form ids stop at 14; no room in the buffer; not an RTP packet.
  auto plain = withRoom({0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x42}, 0);
  EXPECT_FALSE(addHeaderExtension(plain, plain.size(), 15, v));
  EXPECT_FALSE(addHeaderExtension(plain, plain.size(), 3, v));  // buffer full
  std::vector<uint8_t> junk(20, 0);
  EXPECT_FALSE(addHeaderExtension(junk, 12, 3, v));
}

}  // namespace
}  // namespace medrelay::media
