// VP8 descriptor / H.264 keyframe detection, unwrappers and the consumer seq/ts rewriter.
#include "media/rtp/rtp_codecs.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/rtp/rtp_sequence.h"

namespace medrelay::media {
namespace {

TEST(Vp8DescriptorTest, AiortcDescriptorWithKeyframe) {
  // From aiortc's VpxPayloadDescriptor(partition_start=1, partition_id=0, picture_id=0x1234)
  // followed by a keyframe payload header (P bit 0).
  const std::vector<uint8_t> p = {0x90, 0x80, 0x92, 0x34, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a};
  const auto d = parseVp8Descriptor(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->startOfPartition);
  EXPECT_EQ(d->partitionId, 0);
  EXPECT_EQ(d->pictureId, 0x1234);
  EXPECT_TRUE(d->pictureId15Bit);
  EXPECT_EQ(d->descriptorSize, 4u);
  EXPECT_TRUE(d->keyframe);
}

TEST(Vp8DescriptorTest, TemporalLayerAndInterframe) {
  // X, I (7-bit id 5), L (tl0 9), T+K (tid 2, Y, keyidx 3); payload header P=1.
  const std::vector<uint8_t> p = {0x90, 0xF0, 0x05, 0x09, 0xA3, 0x01};
  const auto d = parseVp8Descriptor(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pictureId, 5);
  EXPECT_FALSE(d->pictureId15Bit);
  EXPECT_EQ(d->tl0PicIdx, 9);
  EXPECT_EQ(d->temporalId, 2);
  EXPECT_TRUE(d->layerSync);
  EXPECT_EQ(d->keyIdx, 3);
  EXPECT_FALSE(d->keyframe);
  // Not a partition start: never a keyframe even with P=0.
  const std::vector<uint8_t> cont = {0x00, 0x00};
  EXPECT_FALSE(parseVp8Descriptor(cont)->keyframe);
}

TEST(Vp8DescriptorTest, TruncatedDescriptorsRejected) {
  for (const std::vector<uint8_t>& p : std::vector<std::vector<uint8_t>>{{},
                                                                         {0x90},
                                                                         {0x90, 0x80},
                                                                         {0x90, 0x80, 0x92},
                                                                         {0x90, 0x80, 0x92, 0x34},
                                                                         {0x90, 0x40},
                                                                         {0x90, 0x20},
                                                                         {0x10}}) {
    EXPECT_FALSE(parseVp8Descriptor(p)) << p.size();
  }
}

// A VP8 payload: descriptor with X, I (15-bit PictureID) and L (TL0PICIDX), then one payload
// byte (P=1).
std::vector<uint8_t> vp8(uint16_t pictureId, uint8_t tl0) {
  return {
      0x90, 0xC0, static_cast<uint8_t>(0x80 | (pictureId >> 8)), static_cast<uint8_t>(pictureId),
      tl0,  0x01};
}

TEST(Vp8PictureIdRewriterTest, ContinuousAcrossSourceSwitchKeepingTheWidths) {
  Vp8PictureIdRewriter w;
  // The first source passes unchanged.
  for (uint16_t id = 100; id < 103; ++id) {
    auto p = vp8(id, 7);
    ASSERT_TRUE(w.rewrite(p));
    EXPECT_EQ(parseVp8Descriptor(p)->pictureId, id);
    EXPECT_EQ(parseVp8Descriptor(p)->tl0PicIdx, 7);
  }
  // Two packets of the same picture keep one PictureID; a late packet of an older picture does
  // not move the base.
  auto late = vp8(101, 7);
  ASSERT_TRUE(w.rewrite(late));
  EXPECT_EQ(parseVp8Descriptor(late)->pictureId, 101);
  // A rejoin: the new source starts anywhere; the consumer sees 103, 104, ... and TL0PICIDX 8.
  w.switchSource();
  for (uint16_t i = 0; i < 3; ++i) {
    auto p = vp8(static_cast<uint16_t>(0x7FFE + i) & 0x7FFF, 250);
    ASSERT_TRUE(w.rewrite(p));
    const auto d = parseVp8Descriptor(p);
    EXPECT_EQ(d->pictureId, 103 + i);
    EXPECT_TRUE(d->pictureId15Bit);
    EXPECT_EQ(d->tl0PicIdx, 8);
    EXPECT_EQ(d->descriptorSize, 5u);
  }
  // A 7-bit source after the next switch stays 7-bit and wraps at 128.
  w.switchSource();
  std::vector<uint8_t> seven = {0x90, 0x80, 0x10, 0x01};  // X, I with M=0: PictureID 16
  ASSERT_TRUE(w.rewrite(seven));
  const auto d = parseVp8Descriptor(seven);
  EXPECT_FALSE(d->pictureId15Bit);
  EXPECT_EQ(d->pictureId, 106 & 0x7F);
}

TEST(Vp8PictureIdRewriterTest, PacketsWithoutTheFieldsOrTruncatedAreLeftAlone) {
  Vp8PictureIdRewriter w;
  std::vector<uint8_t> plain = {0x10, 0x00, 0x9d};  // no X byte: nothing to rewrite
  const auto before = plain;
  EXPECT_TRUE(w.rewrite(plain));
  EXPECT_EQ(plain, before);
  std::vector<uint8_t> truncated = {0x90, 0xC0, 0x81};  // 15-bit PictureID cut short
  const auto kept = truncated;
  EXPECT_FALSE(w.rewrite(truncated));
  EXPECT_EQ(truncated, kept);
}

TEST(H264KeyframeTest, SingleStapAndFu) {
  const std::vector<uint8_t> idr = {0x65, 0x88};
  const std::vector<uint8_t> nonIdr = {0x41, 0x9a};
  const std::vector<uint8_t> sps = {0x67, 0x42};
  EXPECT_TRUE(h264IsKeyframe(idr));
  EXPECT_FALSE(h264IsKeyframe(nonIdr));
  EXPECT_TRUE(h264IsKeyframe(sps));
  // STAP-A with SPS + PPS.
  const std::vector<uint8_t> stap = {0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce};
  EXPECT_TRUE(h264IsKeyframe(stap));
  const std::vector<uint8_t> stapNoKey = {0x78, 0x00, 0x02, 0x68, 0xce};
  EXPECT_FALSE(h264IsKeyframe(stapNoKey));
  const std::vector<uint8_t> stapBad = {0x78, 0x00, 0x09, 0x67};  // size beyond payload
  EXPECT_FALSE(h264IsKeyframe(stapBad));
  const std::vector<uint8_t> stapZero = {0x78, 0x00, 0x00, 0x00, 0x02, 0x67, 0x42};
  EXPECT_FALSE(h264IsKeyframe(stapZero));
  // FU-A: start of IDR vs middle fragment.
  const std::vector<uint8_t> fuStart = {0x7c, 0x85, 0x00};
  const std::vector<uint8_t> fuMiddle = {0x7c, 0x05, 0x00};
  EXPECT_TRUE(h264IsKeyframe(fuStart));
  EXPECT_FALSE(h264IsKeyframe(fuMiddle));
  EXPECT_FALSE(h264IsKeyframe(std::vector<uint8_t>{0x7c}));
  EXPECT_FALSE(h264IsKeyframe({}));
}

TEST(UnwrapperTest, SequenceWrapsForwardAndBackward) {
  SeqNumUnwrapper u;
  EXPECT_EQ(u.unwrap(65534), 65534);
  EXPECT_EQ(u.unwrap(65535), 65535);
  EXPECT_EQ(u.unwrap(0), 65536);
  EXPECT_EQ(u.unwrap(3), 65539);
  EXPECT_EQ(u.unwrap(65533), 65533);  // reordered packet from before the wrap
  EXPECT_EQ(u.peek(10), 65546);
  EXPECT_EQ(u.unwrap(65534), 65534);  // peek did not move the reference
  TimestampUnwrapper t;
  EXPECT_EQ(t.unwrap(0xFFFFFF00u), 0xFFFFFF00ll);
  EXPECT_EQ(t.unwrap(0x100), 0x100000000ll + 0x100);
}

TEST(RtpSeqTsRewriterTest, ContinuousAcrossSourceSwitch) {
  RtpSeqTsRewriter r(1000, 50000);
  auto o = r.rewrite(65000, 9000);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->sequence, 1000);
  EXPECT_EQ(o->timestamp, 50000u);
  o = r.rewrite(65001, 12000);
  EXPECT_EQ(o->sequence, 1001);
  EXPECT_EQ(o->timestamp, 53000u);
  o = r.rewrite(65003, 15000);  // a gap in the input stays a gap in the output
  EXPECT_EQ(o->sequence, 1003);
  o = r.rewrite(65002, 15000);  // reordered: mapped, does not move continuity backwards
  EXPECT_EQ(o->sequence, 1002);
  EXPECT_EQ(r.nextSequence(), 1004);

  // Producer restart: new random seq/ts; the output continues at 1004, ts + 3000.
  r.switchSource(3000);
  o = r.rewrite(7, 123456789);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->sequence, 1004);
  EXPECT_EQ(o->timestamp, 15000u - 9000 + 50000 + 3000);
  o = r.rewrite(8, 123456789 + 3000);
  EXPECT_EQ(o->sequence, 1005);
  EXPECT_EQ(o->timestamp, 59000u + 3000);
  // A late packet of the new source from before its first forwarded one is dropped.
  EXPECT_FALSE(r.rewrite(6, 123456789 - 3000));
  // Wrap of the input sequence keeps mapping.
  RtpSeqTsRewriter w(65535, 0);
  EXPECT_EQ(w.rewrite(10, 0)->sequence, 65535);
  EXPECT_EQ(w.rewrite(11, 0)->sequence, 0);
}

}  // namespace
}  // namespace medrelay::media
