// The deframers of StreamListener (net/stream_framing.h): RFC 4571 (ICE-TCP) and TURN's
// STUN/ChannelData framing (RFC 8656 §12.5), fed the way a socket delivers bytes.
#include "net/stream_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/turn/turn_stream_framing.h"

namespace medrelay::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes rfc4571(const std::string& payload) {
  Bytes b = {static_cast<uint8_t>(payload.size() >> 8), static_cast<uint8_t>(payload.size())};
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Feeds stream in reads of `chunk` bytes, keeping unconsumed bytes like StreamListener does.
struct Fed {
  std::vector<std::string> frames;
  DeframeStatus status = DeframeStatus::kOk;
  size_t left = 0;  // bytes waiting for more
};
Fed feed(const StreamFraming& framing, const Bytes& stream, size_t chunk) {
  Fed fed;
  Bytes pending;
  for (size_t off = 0; off < stream.size() && fed.status == DeframeStatus::kOk; off += chunk) {
    const size_t n = std::min(chunk, stream.size() - off);
    pending.insert(pending.end(), stream.begin() + off, stream.begin() + off + n);
    const auto r = deframe(framing, pending, [&](uint8_t* p, size_t len) {
      fed.frames.emplace_back(reinterpret_cast<char*>(p), len);
      return true;
    });
    fed.status = r.status;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed));
  }
  fed.left = pending.size();
  return fed;
}

TEST(Rfc4571FramingTest, FramesSplitAcrossReadsAndSeveralInOneRead) {
  const Rfc4571Framing framing;
  const std::string big(3000, 'x');
  const Bytes stream = cat({rfc4571("hello"), rfc4571(big), rfc4571(""), rfc4571("bc")});
  for (const size_t chunk : {size_t{1}, size_t{3}, size_t{1000}, stream.size()}) {
    const Fed fed = feed(framing, stream, chunk);
    EXPECT_EQ(fed.status, DeframeStatus::kOk) << chunk;
    ASSERT_EQ(fed.frames.size(), 3u) << chunk;  // the empty frame is skipped
    EXPECT_EQ(fed.frames[0], "hello");
    EXPECT_EQ(fed.frames[1], big);
    EXPECT_EQ(fed.frames[2], "bc");
    EXPECT_EQ(fed.left, 0u);
  }
  const Fed partial = feed(framing, cat({rfc4571("a"), Bytes{0x00, 0x05, 'x'}}), 64);
  EXPECT_EQ(partial.frames, std::vector<std::string>{"a"});
  EXPECT_EQ(partial.left, 3u);
}

TEST(Rfc4571FramingTest, OversizeFrameStopsTheStream) {
  const Rfc4571Framing framing(1500);
  EXPECT_EQ(framing.maxFrameSize(), 1502u);
  const Fed fed = feed(framing, cat({rfc4571("ok"), rfc4571(std::string(1501, 'y'))}), 4096);
  EXPECT_EQ(fed.status, DeframeStatus::kOversize);
  EXPECT_EQ(fed.frames, std::vector<std::string>{"ok"});
  // Only the header is needed to know.
  EXPECT_EQ(framing.next(Bytes{0x05, 0xDE}).status, FrameStatus::kOversize);
  EXPECT_EQ(framing.next(Bytes{0x05}).status, FrameStatus::kIncomplete);
}

TEST(Rfc4571FramingTest, StopsWhenTheCallbackSaysSo) {
  const Rfc4571Framing framing;
  Bytes stream = cat({rfc4571("a"), rfc4571("b")});
  int calls = 0;
  const auto r = deframe(framing, stream, [&](uint8_t*, size_t) { return ++calls < 1; });
  EXPECT_EQ(r.status, DeframeStatus::kStopped);
  EXPECT_EQ(r.consumed, 3u);
  EXPECT_EQ(calls, 1);
}

TEST(Rfc4571FramingTest, WritesHeadersUpTo65535Bytes) {
  const Rfc4571Framing framing(1500);  // what this side accepts does not limit what it sends
  uint8_t h[StreamFraming::kMaxHeaderSize];
  EXPECT_EQ(framing.writeHeader(3000, h), 2u);
  EXPECT_EQ(h[0], 0x0B);
  EXPECT_EQ(h[1], 0xB8);
  EXPECT_FALSE(framing.writeHeader(0, h));
  EXPECT_FALSE(framing.writeHeader(65536, h));
}

Bytes stun(uint16_t bodyLen) {
  Bytes b = {
      0x00, 0x01, static_cast<uint8_t>(bodyLen >> 8), static_cast<uint8_t>(bodyLen), 0x21, 0x12,
      0xA4, 0x42};
  b.resize(20 + bodyLen, 0x07);
  return b;
}

Bytes channelData(uint16_t channel, const std::string& payload) {
  Bytes b = {static_cast<uint8_t>(channel >> 8), static_cast<uint8_t>(channel),
             static_cast<uint8_t>(payload.size() >> 8), static_cast<uint8_t>(payload.size())};
  b.insert(b.end(), payload.begin(), payload.end());
  b.resize((b.size() + 3) & ~size_t{3}, 0);  // RFC 8656 §12.5: padded on streams
  return b;
}

TEST(TurnStreamFramingTest, StunAndChannelDataSplitAndBackToBack) {
  const turn::TurnStreamFraming framing;
  const Bytes stream = cat(
      {stun(8), channelData(0x4001, "abc"), channelData(0x7FFF, std::string(100, 'x')), stun(0)});
  for (const size_t chunk : {size_t{1}, size_t{7}, stream.size()}) {
    const Fed fed = feed(framing, stream, chunk);
    EXPECT_EQ(fed.status, DeframeStatus::kOk) << chunk;
    ASSERT_EQ(fed.frames.size(), 4u) << chunk;
    EXPECT_EQ(fed.frames[0].size(), 28u);
    EXPECT_EQ(fed.frames[1].size(), 8u);  // with its padding
    EXPECT_EQ(fed.frames[2].size(), 104u);
    EXPECT_EQ(fed.frames[3].size(), 20u);
    EXPECT_EQ(fed.left, 0u);
  }
}

TEST(TurnStreamFramingTest, GarbageAndOversizeStopTheStream) {
  const turn::TurnStreamFraming framing;
  Bytes hello(20, 0x01);  // a TLS ClientHello sent to the plain port: no magic cookie
  hello[0] = 0x16;
  Fed fed = feed(framing, cat({stun(0), hello}), 64);
  EXPECT_EQ(fed.status, DeframeStatus::kInvalid);
  EXPECT_EQ(fed.frames.size(), 1u);
  EXPECT_EQ(feed(framing, Bytes{0x80, 0, 0, 0}, 64).status, DeframeStatus::kInvalid);
  // Below 0x4000 the first bits say STUN, and 20 bytes without the magic cookie are not STUN.
  EXPECT_EQ(feed(framing, channelData(0x3FFF, std::string(20, 'a')), 64).status,
            DeframeStatus::kInvalid);
  Bytes unaligned = stun(8);
  unaligned[3] = 7;  // STUN lengths are multiples of 4
  EXPECT_EQ(feed(framing, unaligned, 64).status, DeframeStatus::kInvalid);
  // A STUN length beyond the largest ChannelData frame is refused from the header alone.
  const Bytes huge = {0x00, 0x01, 0xFF, 0xFC, 0x21, 0x12, 0xA4, 0x42, 0, 0,
                      0,    0,    0,    0,    0,    0,    0,    0,    0, 0};
  EXPECT_EQ(framing.next(huge).status, FrameStatus::kInvalid);
  EXPECT_EQ(framing.next(Bytes{0x40, 0x00}).status, FrameStatus::kIncomplete);
}

}  // namespace
}  // namespace medrelay::net
