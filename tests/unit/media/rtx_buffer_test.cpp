// RtxBuffer: the consumer's retransmission store (RFC 4588) — store/find, sequence wrap at 2^16,
// overwrite of a slot by seq + kSlots, maximum age, oversized packets.
#include "media/rtx_buffer.h"

#include <gtest/gtest.h>

#include <vector>

namespace medrelay::media {
namespace {

std::vector<uint8_t> packet(uint16_t seq, size_t len = 100) {
  std::vector<uint8_t> p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(seq + i);
  return p;
}

bool holds(const RtxBuffer& b, uint16_t seq, uint64_t now, size_t len = 100) {
  auto found = b.find(seq, now, 1000);
  auto want = packet(seq, len);
  return found.size() == len && std::equal(found.begin(), found.end(), want.begin());
}

TEST(RtxBufferTest, StoresAndFindsByteExact) {
  RtxBuffer b;
  b.store(7, packet(7, 1200), 10);
  EXPECT_TRUE(holds(b, 7, 10, 1200));
  EXPECT_TRUE(b.find(8, 10, 1000).empty()) << "never stored";
  EXPECT_TRUE(b.find(7 + RtxBuffer::kSlots, 10, 1000).empty()) << "same slot, other seq";
}

TEST(RtxBufferTest, WrapsAroundTheSequenceSpace) {
  RtxBuffer b;
  for (uint32_t s = 65500; s < 65536 + 40; ++s) b.store(static_cast<uint16_t>(s), packet(s), 5);
  for (uint32_t s = 65500; s < 65536 + 40; ++s) {
    EXPECT_TRUE(holds(b, static_cast<uint16_t>(s), 5)) << s;
  }
}

TEST(RtxBufferTest, NewerPacketOverwritesItsSlot) {
  RtxBuffer b;
  for (uint32_t s = 0; s < RtxBuffer::kSlots + 10; ++s) {
    b.store(static_cast<uint16_t>(s), packet(s), 1);
  }
  for (uint16_t s = 0; s < 10; ++s) {
    EXPECT_TRUE(b.find(s, 1, 1000).empty()) << "overwritten by " << s + RtxBuffer::kSlots;
    EXPECT_TRUE(holds(b, static_cast<uint16_t>(s + RtxBuffer::kSlots), 1));
  }
  EXPECT_TRUE(holds(b, 10, 1)) << "the oldest slot not yet reused";
}

TEST(RtxBufferTest, TooOldIsNotRetransmitted) {
  RtxBuffer b;
  b.store(1, packet(1), 100);
  EXPECT_FALSE(b.find(1, 1100, 1000).empty()) << "exactly the maximum age";
  EXPECT_TRUE(b.find(1, 1101, 1000).empty());
}

TEST(RtxBufferTest, OversizedPacketClearsItsSlot) {
  RtxBuffer b;
  b.store(3, packet(3), 1);
  b.store(3 + RtxBuffer::kSlots, packet(3, RtxBuffer::kSlotBytes + 1), 2);
  EXPECT_TRUE(b.find(3, 2, 1000).empty()) << "old content must not answer for the new seq";
  EXPECT_TRUE(b.find(3 + RtxBuffer::kSlots, 2, 1000).empty());
  b.store(4, packet(4, RtxBuffer::kSlotBytes), 2);
  EXPECT_TRUE(holds(b, 4, 2, RtxBuffer::kSlotBytes)) << "exactly a slot fits";
}

TEST(RtxBufferTest, ResendSuppressedWithinTheIntervalPerPacket) {
  RtxBuffer b;
  std::vector<uint8_t> pkt(100, 7);
  b.store(10, pkt, 0);
  b.store(11, pkt, 0);
  EXPECT_TRUE(b.markResent(10, 100, 30));
  EXPECT_FALSE(b.markResent(10, 129, 30));  // still within one round trip
  EXPECT_TRUE(b.markResent(11, 129, 30));   // another packet is independent
  EXPECT_TRUE(b.markResent(10, 130, 30));
  EXPECT_FALSE(b.markResent(12, 130, 30));    // never stored
  b.store(10 + RtxBuffer::kSlots, pkt, 140);  // the slot is reused: a fresh packet
  EXPECT_TRUE(b.markResent(10 + RtxBuffer::kSlots, 141, 30));
}

}  // namespace
}  // namespace medrelay::media
