// TURN over TCP/TLS framing (RFC 8656 §12.5) and the RFC 5766 channel range the server accepts.
#include "net/turn/turn_stream_framing.h"

#include <gtest/gtest.h>

#include <vector>

#include "net/turn/channel_numbers.h"

namespace medrelay::net::turn {
namespace {

TEST(TurnStreamFramingTest, TurnFrameSize) {
  const std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42, 0, 0,
                                     0,    0,    0,    0,    0,    0,    0,    0,    0, 0};
  EXPECT_EQ(turnFrameSize(stun), 28u);                                       // 20 + length
  EXPECT_EQ(turnFrameSize(std::span(stun).first(10)), 0u);                   // need more
  EXPECT_EQ(turnFrameSize(std::vector<uint8_t>{0x40, 0x00, 0x00, 5}), 12u);  // padded
  EXPECT_EQ(turnFrameSize(std::vector<uint8_t>{0x7F, 0xFF, 0x00, 4}), 8u);
  EXPECT_EQ(turnFrameSize(std::vector<uint8_t>{0x40, 0x00}), 0u);
  EXPECT_FALSE(turnFrameSize(std::vector<uint8_t>{0x80, 0x00, 0x00, 0x00}));  // not TURN
  std::vector<uint8_t> tlsRecord(20, 0x01);  // a TLS ClientHello sent to the plain port
  tlsRecord[0] = 0x16;
  EXPECT_FALSE(turnFrameSize(tlsRecord));  // no magic cookie: not STUN
}

TEST(TurnStreamFramingTest, ChannelFrames) {
  const std::vector<uint8_t> padded = {0x40, 0x01, 0x00, 0x03, 1, 2, 3, 0};
  auto f = parseChannelFrame(padded, true);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->channel, 0x4001);
  EXPECT_EQ(f->data.size(), 3u);
  EXPECT_FALSE(parseChannelFrame(std::span(padded).first(7), true));  // stream: exact frame
  EXPECT_TRUE(parseChannelFrame(std::span(padded).first(7), false));  // datagram: padding optional
  const std::vector<uint8_t> tooLong = {0x40, 0x01, 0x00, 0x09, 1, 2, 3, 0};
  EXPECT_FALSE(parseChannelFrame(tooLong, false));
  const std::vector<uint8_t> badChannel = {0x80, 0x01, 0x00, 0x00};
  EXPECT_FALSE(parseChannelFrame(badChannel, false));
  EXPECT_TRUE(validChannel(0x5000));  // RFC 5766 range
  EXPECT_FALSE(validChannel(0x3FFF));
  EXPECT_FALSE(validChannel(0x8000));
}

}  // namespace
}  // namespace medrelay::net::turn
